/**
 * Options shared by every call, in @huggingface/hub's vocabulary (`hubUrl`, `accessToken` /
 * `credentials`, `fetch`, `abortSignal`), resolved once into a context.
 */
import { InvalidArgumentError, ProtocolError } from "../errors.js";
import {
  httpRequestRead,
  redactUrl,
  type AttemptContext,
  type HttpOptions,
  type RequestInit2,
  type RetryInfo,
  type RetryOptions,
} from "../http.js";

export const DEFAULT_HUB_URL = "https://huggingface.co";

/** How a call authenticates, as in @huggingface/hub. */
export interface CredentialsParams {
  /**
   * A Hugging Face token (`hf_…`), sent as `Authorization: Bearer` to the Hub's origin only. Without one, calls
   * are anonymous (public buckets can be read). An empty or non-string token throws `InvalidArgumentError`.
   */
  accessToken?: string;
  /** @deprecated use `accessToken` (kept for @huggingface/hub compatibility) */
  credentials?: {
    /** The token, as `accessToken`. */
    accessToken: string;
  };
}

/** Options every call takes (see `CommonOptions`, the name the public API uses). */
export interface HubCallOptions extends CredentialsParams {
  /**
   * The Hub's URL (default https://huggingface.co; the local hub prints its own). Not an http(s) URL:
   * `InvalidArgumentError`.
   */
  hubUrl?: string;
  /** Custom fetch (defaults to the global one), used for every request of the call, CAS requests included. */
  fetch?: typeof fetch;
  /**
   * Cancels the call: checked between and during its requests and stages; the call rejects with the signal's
   * reason. An aborted upload registers no file (unless its final batch request was already in flight).
   */
  abortSignal?: AbortSignal;
  /** Retry policy (counts, backoff, total budget), or false to send every request once. */
  retry?: RetryOptions | false;
  /** Called before each retry wait; retries are silent otherwise. */
  onRetry?: (info: RetryInfo) => void;
}

/** What a call needs to talk to the Hub: its endpoint, token, fetch and retry policy. */
export interface HubContext {
  hubUrl: string;
  accessToken: string | undefined;
  http: HttpOptions;
  /** Sends a Hub request (Authorization added when a token is set and the URL is on the Hub's origin). */
  request(pathOrUrl: string, init?: RequestInit2): Promise<Response>;
  /** Same as request(), but `read` consumes the response inside the retry loop (see `httpRequestRead`). */
  requestRead<T>(pathOrUrl: string, init: RequestInit2, read: (res: Response, attempt: AttemptContext) => Promise<T>): Promise<T>;
  /** Same as request() but parses a JSON body (read inside the retry loop; not JSON → ProtocolError). */
  json<T>(pathOrUrl: string, init?: RequestInit2): Promise<T>;
}

export function hubContext(opts: HubCallOptions = {}): HubContext {
  if (opts.hubUrl !== undefined && typeof opts.hubUrl !== "string")
    throw new InvalidArgumentError(`hubUrl must be a string, got ${typeof opts.hubUrl}`);
  const hubUrl = (opts.hubUrl ?? DEFAULT_HUB_URL).replace(/\/+$/, "");
  let origin: string;
  try {
    origin = new URL(hubUrl).origin;
  } catch {
    origin = "";
  }
  if (!/^https?:\/\//.test(hubUrl) || !origin) throw new InvalidArgumentError(`hubUrl must be an http(s) URL, got "${opts.hubUrl}"`);
  const accessToken = opts.accessToken ?? opts.credentials?.accessToken;
  if (accessToken !== undefined && (typeof accessToken !== "string" || accessToken.trim() === "")) {
    throw new InvalidArgumentError("accessToken must be a non-empty string");
  }
  checkHttpOptions(opts);
  const http: HttpOptions = { fetch: opts.fetch, retry: opts.retry, abortSignal: opts.abortSignal, onRetry: opts.onRetry };
  const prepare = (pathOrUrl: string, init: RequestInit2): [string, RequestInit2] => {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${hubUrl}${pathOrUrl}`;
    const headers: Record<string, string> = { ...init.headers };
    // The Hub token goes to the Hub's origin only (never to a CDN, a CAS or a foreign pagination link).
    if (accessToken && new URL(url).origin === origin && !Object.keys(headers).some((h) => h.toLowerCase() === "authorization")) {
      headers.Authorization = `Bearer ${accessToken}`;
    }
    return [url, { ...init, headers }];
  };
  const requestRead = <T>(
    pathOrUrl: string,
    init: RequestInit2,
    read: (res: Response, attempt: AttemptContext) => Promise<T>,
  ): Promise<T> => {
    const [url, init2] = prepare(pathOrUrl, init);
    return httpRequestRead(url, init2, http, read);
  };
  return {
    hubUrl,
    accessToken,
    http,
    request: (pathOrUrl, init = {}) => requestRead(pathOrUrl, init, async (res) => res),
    requestRead,
    json<T>(pathOrUrl: string, init: RequestInit2 = {}) {
      // The body is read inside the retry loop, so a connection that breaks mid-body is retried.
      return requestRead(pathOrUrl, { ...init, headers: { Accept: "application/json", ...init.headers } }, async (res) => {
        const text = await strictText(
          res,
          `${init.method ?? "GET"} ${redactUrl(res.url || pathOrUrl)} answered ${res.status} with a body that`,
        );
        try {
          return JSON.parse(text) as T;
        } catch (err) {
          throw new ProtocolError(
            `${init.method ?? "GET"} ${redactUrl(res.url || pathOrUrl)} answered ${res.status} with a body that is not JSON: ${text.slice(0, 120)}`,
            { cause: err },
          );
        }
      });
    },
  };
}

/** Refuses options of the wrong type up front (they would fail later, deep inside a request, as TypeErrors). */
function checkHttpOptions(opts: HubCallOptions): void {
  if (opts.fetch !== undefined && typeof opts.fetch !== "function") throw new InvalidArgumentError("fetch must be a function");
  if (opts.onRetry !== undefined && typeof opts.onRetry !== "function") throw new InvalidArgumentError("onRetry must be a function");
  const s = opts.abortSignal as Partial<AbortSignal> | undefined;
  if (
    s !== undefined &&
    (s === null || typeof s !== "object" || typeof s.addEventListener !== "function" || typeof s.aborted !== "boolean")
  ) {
    throw new InvalidArgumentError("abortSignal must be an AbortSignal");
  }
  const r = opts.retry;
  if (r !== undefined && r !== false) {
    if (r === null || typeof r !== "object")
      throw new InvalidArgumentError(
        "retry must be false or { maxAttempts, baseDelayMs, maxDelayMs, budgetMs, attemptTimeoutMs, stallTimeoutMs }",
      );
    for (const [k, v] of Object.entries(r)) {
      if (v !== undefined && !(typeof v === "number" && v >= 0 && !Number.isNaN(v)))
        throw new InvalidArgumentError(`retry.${k} must be a number ≥ 0, got ${String(v)}`);
    }
  }
}

/**
 * The body as text, refusing bytes that are not valid UTF-8: the Hub sends valid UTF-8, so invalid bytes
 * mean a damaged answer, and a lenient decoder would turn a damaged path into another name (U+FFFD).
 */
export async function strictText(res: Response, what: string): Promise<string> {
  const bytes = await res.arrayBuffer();
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (err) {
    throw new ProtocolError(`${what} is not valid UTF-8 (a damaged answer)`, { cause: err });
  }
}

/** Percent-encodes each segment of a bucket path, keeping the "/" separators. */
export function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}
