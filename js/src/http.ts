/**
 * HTTP with retries, shared by every Hub and CAS call.
 *
 * Retried: network errors and timeouts, 408, 429 (honouring Retry-After), 500, 502, 503 (honouring
 * Retry-After), 504 — with exponential backoff and jitter, until `maxAttempts` or the total time budget
 * `budgetMs` is spent, whichever comes first. Not retried: other 4xx, 501. Requests whose body is a stream
 * cannot be replayed and are sent once, unless the body is given as a factory (a function called per
 * attempt). Abort signals cancel in-flight requests and retry waits.
 *
 * Two clocks end an attempt that hangs: `attemptTimeoutMs` while it waits for the answer's headers (the
 * server may be working: verifying a xorb, registering a shard), and `stallTimeoutMs` while body bytes
 * should be moving and none does — a stream request body the connection stopped taking, a response body
 * that stopped arriving while the caller reads it. A connection that stays open without delivering is thus
 * abandoned within seconds and the attempt retried, instead of hanging the transfer. The stall clock only
 * runs while the body is actually waited for: a reader busy with what it already has (decoding, writing to
 * disk) is never a stall.
 *
 * Retries are quiet (reported through `onRetry` only); the caller sees one error, carrying the number of
 * attempts and the elapsed time, when the budget is spent.
 */
import {
  BucketNotFoundError,
  EntryNotFoundError,
  HubApiError,
  NetworkError,
  RepoNotFoundError,
  XetBucketsError,
  type HttpErrorCode,
} from "./errors.js";

/**
 * The retry policy of a call (option `retry`): network errors, timeouts, 408, 429, 500, 502, 503 and 504 are
 * retried with exponential backoff and jitter, honouring `Retry-After`, until the attempts or the time budget
 * run out; then the call throws (`NetworkError`, `HubApiError`) with the attempts and elapsed time.
 */
export interface RetryOptions {
  /** Attempts in all, the first included (default 5). */
  maxAttempts?: number;
  /** First backoff delay in ms; doubles each attempt, with jitter (default 400). */
  baseDelayMs?: number;
  /** Largest single delay in ms (default 15000). */
  maxDelayMs?: number;
  /** Total time budget in ms over all attempts and waits (default 300000 = 5 minutes). */
  budgetMs?: number;
  /**
   * Answer timeout per attempt in ms (default 120000): an attempt whose response headers do not arrive within
   * this time after the request was sent (or, for a request body that is not a stream, since the attempt
   * started) is aborted and retried.
   */
  attemptTimeoutMs?: number;
  /**
   * Stall timeout in ms (default 30000, or `attemptTimeoutMs` when that is smaller): an attempt during which
   * no body byte moves for this long — a stream request body the connection stopped taking, a response body
   * that stopped arriving while it is read inside the retry loop — is aborted and retried (`NetworkError`
   * TIMEOUT once the retries are spent).
   */
  stallTimeoutMs?: number;
}

/** What `onRetry` is told before each retry wait. */
export interface RetryInfo {
  /** The request's URL, without its query string (which may hold signatures). */
  url: string;
  /** The request's method. */
  method: string;
  /** The attempt that failed (1 for the first). */
  attempt: number;
  /** How long the call waits before the next attempt, in ms. */
  delayMs: number;
  /** Why the attempt failed: the message of the error it would have thrown (the status, or the network error). */
  reason: string;
}

export interface HttpOptions {
  fetch?: typeof fetch;
  retry?: RetryOptions | false;
  abortSignal?: AbortSignal;
  /** Called before each retry wait (logging hook; quiet by default). */
  onRetry?: (info: RetryInfo) => void;
}

/** A request body. */
export type RequestBody = string | Uint8Array | Blob | ReadableStream<Uint8Array> | null;

export interface RequestInit2 {
  method?: string;
  headers?: Record<string, string>;
  /**
   * The body, or a function returning a fresh body for each attempt: a factory makes a stream body
   * replayable (used to count upload progress below the request level while keeping retries).
   */
  body?: RequestBody | (() => RequestBody);
  /** Statuses to return as responses instead of throwing (e.g. [404] to test for existence). */
  accept?: number[];
  /** Whether this request may be retried (default true; streams are never replayed). */
  retry?: boolean;
  signal?: AbortSignal;
}

const DEFAULTS: Required<Omit<RetryOptions, "stallTimeoutMs">> = {
  maxAttempts: 5,
  baseDelayMs: 400,
  maxDelayMs: 15_000,
  budgetMs: 300_000,
  attemptTimeoutMs: 120_000,
};

/** The stall timeout unless given (or `attemptTimeoutMs` when smaller). */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

export function retryConfig(retry: RetryOptions | false | undefined): Required<RetryOptions> {
  const cfg = retry === false ? { ...DEFAULTS, maxAttempts: 1 } : { ...DEFAULTS, ...retry };
  const given = retry === false ? undefined : retry?.stallTimeoutMs;
  return { ...cfg, stallTimeoutMs: given ?? Math.min(DEFAULT_STALL_TIMEOUT_MS, cfg.attemptTimeoutMs) };
}

/** The URL without its query string and fragment, for messages and errors. */
export function redactUrl(url: string): string {
  const i = url.search(/[?#]/);
  return i < 0 ? url : url.slice(0, i);
}

/** Parses Retry-After (seconds or an HTTP date) into seconds. */
function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs) && secs >= 0) return secs;
  const date = Date.parse(value);
  if (Number.isFinite(date)) return Math.max(0, (date - Date.now()) / 1000);
  return undefined;
}

/** Sleeps `ms`, rejecting with the signal's reason when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The wait before retry `attempt + 1`: exponential from `baseDelayMs`, capped at `maxDelayMs`, with jitter (half to all of it). */
export function backoffDelay(cfg: Required<RetryOptions>, attempt: number): number {
  const exp = Math.min(cfg.maxDelayMs, cfg.baseDelayMs * 2 ** (attempt - 1));
  return exp / 2 + Math.random() * (exp / 2);
}

/** Builds the typed error for a non-OK response (reads the body). */
export async function errorFromResponse(res: Response, method: string, url: string): Promise<HubApiError> {
  const requestId = res.headers.get("x-request-id") ?? undefined;
  const serverCode = res.headers.get("x-error-code") ?? undefined;
  const retryAfter = parseRetryAfter(res.headers.get("retry-after"));
  let data: unknown;
  let detail = res.headers.get("x-error-message") ?? "";
  try {
    const text = await res.text();
    if ((res.headers.get("content-type") ?? "").includes("json") && text) {
      data = JSON.parse(text);
      const d = data as { error?: unknown; message?: unknown; error_description?: unknown };
      const m = typeof d.error === "string" ? d.error : typeof d.message === "string" ? d.message : "";
      if (m) detail = m + (typeof d.error_description === "string" ? `: ${d.error_description}` : "");
    } else if (text && !detail) {
      detail = text.slice(0, 300);
    }
  } catch {
    // keep what we have
  }
  const u = redactUrl(url);
  const status = res.status;
  const init = { statusCode: status, url: u, requestId, data, serverCode, retryAfter };
  const where = `${method} ${u}`;
  const suffix = `${detail ? `: ${detail}` : ""}${requestId ? ` (request id ${requestId})` : ""}`;
  if (status === 404 && serverCode === "RepoNotFound" && !isBucketUrl(u)) {
    return new RepoNotFoundError(
      "REPO_NOT_FOUND",
      `repository not found (${where})${suffix}. Check the repository id and type, and that your token may read it.`,
      init,
    );
  }
  if (status === 404 && serverCode === "RevisionNotFound") {
    return new HubApiError("REVISION_NOT_FOUND", `revision not found (${where})${suffix}`, init);
  }
  if (status === 404 && serverCode === "RepoNotFound") {
    return new BucketNotFoundError(
      "BUCKET_NOT_FOUND",
      `bucket not found (${where})${suffix}. Check the bucket id and that your token may read it.`,
      init,
    );
  }
  if (status === 404 && serverCode === "EntryNotFound") {
    return new EntryNotFoundError("ENTRY_NOT_FOUND", `file not found (${where})${suffix}`, init);
  }
  const [code, hint] = describeStatus(status);
  return new HubApiError(code, `${hint} (${status} on ${where})${suffix}`, init);
}

/** True for the Hub's bucket URLs (`/api/buckets/…`, `/buckets/…/resolve/…`); other RepoNotFound answers are about repositories. */
function isBucketUrl(url: string): boolean {
  try {
    return /^\/(api\/)?buckets\//.test(new URL(url).pathname);
  } catch {
    return true;
  }
}

function describeStatus(status: number): [HttpErrorCode, string] {
  switch (status) {
    case 401:
      return ["UNAUTHORIZED", "authentication failed: pass a valid access token (accessToken, --token or HF_TOKEN)"];
    case 403:
      return ["FORBIDDEN", "the token is not allowed to do this: use a token with write access to this namespace"];
    case 404:
      return ["NOT_FOUND", "not found"];
    case 409:
      return ["CONFLICT", "conflict"];
    case 413:
      return ["PAYLOAD_TOO_LARGE", "request too large"];
    case 416:
      return ["RANGE_NOT_SATISFIABLE", "requested range not satisfiable"];
    case 422:
      return ["UNPROCESSABLE", "the server rejected the request"];
    case 429:
      return ["RATE_LIMITED", "rate limited by the server: retry later"];
    default:
      return status >= 500 ? ["SERVER_ERROR", "server error"] : ["HTTP_ERROR", "request failed"];
  }
}

/** Handed to the body reader of `httpRequestRead`. */
export interface AttemptContext {
  /** 1 for the first attempt. */
  attempt: number;
}

/**
 * The clocks of one attempt (see the module documentation): `answer` (attemptTimeoutMs) while the attempt waits
 * for the answer's headers, `stall` (stallTimeoutMs) while it waits for body bytes to move. Firing aborts the
 * attempt; once the attempt is over, nothing arms them again (a response returned by `read` is read untimed).
 */
class AttemptClock {
  readonly #ctl: AbortController;
  readonly #cfg: Required<RetryOptions>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** request: the request is being sent; response: its headers arrived; over: the attempt ended. */
  #phase: "request" | "response" | "over" = "request";
  /** Which clock fired, if one did. */
  fired: "answer" | "stall" | undefined;

  constructor(ctl: AbortController, cfg: Required<RetryOptions>) {
    this.#ctl = ctl;
    this.#cfg = cfg;
  }

  arm(kind: "answer" | "stall", phase: "request" | "response" = "request"): void {
    this.disarm();
    if (this.#phase !== phase) return;
    const ms = kind === "answer" ? this.#cfg.attemptTimeoutMs : this.#cfg.stallTimeoutMs;
    this.#timer = setTimeout(() => {
      this.fired = kind;
      this.#ctl.abort(new DOMException(kind === "answer" ? `no answer within ${ms} ms` : `no data for ${ms} ms`, "TimeoutError"));
    }, ms);
  }

  disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The headers arrived: the request's clocks stop (a body still being sent no longer arms them). */
  answered(): void {
    this.#phase = "response";
    this.disarm();
  }

  /** The attempt is over: stop and never arm again. */
  end(): void {
    this.#phase = "over";
    this.disarm();
  }

  /**
   * A stream request body under the stall clock: each chunk must be taken by the connection within the stall
   * timeout (the next pull says it was); the time spent producing a chunk is not counted. Once the body is
   * sent, the answer clock runs. `highWaterMark: 0`: a pull means the connection wants bytes now.
   */
  upload(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    return new ReadableStream<Uint8Array>(
      {
        pull: async (c) => {
          if (this.#phase === "request") this.disarm();
          const { done, value } = await reader.read();
          if (done) {
            c.close();
            this.arm("answer");
            return;
          }
          c.enqueue(value);
          this.arm("stall");
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  }

  /**
   * The response with its body under the stall clock: the clock runs only while the reader waits for the next
   * bytes, so a reader busy with what it has is never taken for a stall.
   */
  download(res: Response): Response {
    if (!res.body) return res;
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>(
      {
        pull: async (c) => {
          this.arm("stall", "response");
          let r: ReadableStreamReadResult<Uint8Array>;
          try {
            r = await reader.read();
          } finally {
            if (this.#phase === "response") this.disarm();
          }
          if (r.done) c.close();
          else c.enqueue(r.value);
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
    const out = new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    Object.defineProperty(out, "url", { value: res.url });
    return out;
  }
}

/**
 * Sends a request with the retry policy and reads its answer with `read`, when it is OK (2xx) or its status
 * is in `accept`; throws `HubApiError` (or a subclass) / `NetworkError` otherwise. `read` consumes the
 * response inside the retry loop: a connection that breaks while the body is read (reset, truncated body, no
 * bytes for `stallTimeoutMs`) is retried like a failed request, under the same attempt count and time budget.
 * A `read` that returns the response itself leaves its body untimed and unretried. Errors of this package
 * thrown by `read` (`ProtocolError`, `IntegrityError`, ...) are not retried. Any other error `read` throws
 * counts as a broken connection: `read` may signal one with a plain `Error`, which is retried and, once the
 * retries are spent, becomes a `NetworkError` (it never reaches the caller as it is).
 */
export async function httpRequestRead<T>(
  url: string,
  init: RequestInit2,
  opts: HttpOptions,
  read: (res: Response, attempt: AttemptContext) => Promise<T>,
): Promise<T> {
  const cfg = retryConfig(opts.retry);
  const doFetch = opts.fetch ?? globalThis.fetch;
  const method = init.method ?? "GET";
  const userSignal = init.signal ?? opts.abortSignal;
  const bodyFactory = typeof init.body === "function" ? init.body : undefined;
  const replayable =
    init.retry !== false && (bodyFactory !== undefined || !(typeof ReadableStream !== "undefined" && init.body instanceof ReadableStream));
  const maxAttempts = replayable ? Math.max(1, cfg.maxAttempts) : 1;
  const start = Date.now();
  let attempt = 0;
  for (;;) {
    attempt++;
    userSignal?.throwIfAborted();
    const ctl = new AbortController();
    const clock = new AttemptClock(ctl, cfg);
    // Until the request body starts moving (a stream's first pull) or, for other bodies, until the headers.
    clock.arm("answer");
    const signal = userSignal ? AbortSignal.any([userSignal, ctl.signal]) : ctl.signal;
    let failure: HubApiError | NetworkError;
    let retryAfterMs: number | undefined;
    try {
      // A body factory gives a fresh body (e.g. a new stream) to every attempt.
      let body = bodyFactory ? bodyFactory() : (init.body as RequestBody | undefined);
      const streaming = typeof ReadableStream !== "undefined" && body instanceof ReadableStream;
      if (streaming) body = clock.upload(body as ReadableStream<Uint8Array>);
      const res = await doFetch(url, {
        method,
        headers: init.headers,
        body: body as BodyInit | null | undefined,
        signal,
        ...(streaming ? { duplex: "half" } : {}),
      } as RequestInit);
      clock.answered();
      if (res.ok || init.accept?.includes(res.status)) {
        try {
          return await read(clock.download(res), { attempt });
        } catch (err) {
          if (err instanceof XetBucketsError && !userSignal?.aborted) ctl.abort(err);
          throw err;
        }
      }
      // The error's body is read under the stall clock too (an answer that goes silent must not hang the call).
      const err = await errorFromResponse(clock.download(res), method, url);
      err.attempts = attempt;
      err.elapsedMs = Date.now() - start;
      if (!RETRYABLE.has(res.status)) throw err;
      failure = err;
      if ((res.status === 429 || res.status === 503) && err.retryAfter !== undefined) retryAfterMs = err.retryAfter * 1000;
    } catch (err) {
      if (userSignal?.aborted) throw userSignal.reason;
      if (err instanceof XetBucketsError) throw err;
      failure = new NetworkError(
        clock.fired ? "TIMEOUT" : "NETWORK",
        clock.fired === "answer"
          ? `${method} ${redactUrl(url)} timed out (no answer within ${cfg.attemptTimeoutMs} ms)`
          : clock.fired === "stall"
            ? `${method} ${redactUrl(url)} stalled (no data moved for ${cfg.stallTimeoutMs} ms)`
            : `${method} ${redactUrl(url)} failed: ${describeNetworkError(err)}`,
        redactUrl(url),
        { cause: err },
      );
      ctl.abort(failure);
    } finally {
      clock.end();
    }
    const elapsed = Date.now() - start;
    failure.attempts = attempt;
    failure.elapsedMs = elapsed;
    const delay = retryAfterMs ?? backoffDelay(cfg, attempt);
    if (attempt >= maxAttempts || elapsed + delay > cfg.budgetMs) {
      if (attempt > 1) failure.message += ` — gave up after ${attempt} attempts in ${(elapsed / 1000).toFixed(1)} s`;
      throw failure;
    }
    opts.onRetry?.({ url: redactUrl(url), method, attempt, delayMs: delay, reason: failure.message });
    await sleep(delay, userSignal);
  }
}

function describeNetworkError(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ""}`;
  return e?.message ?? String(err);
}
