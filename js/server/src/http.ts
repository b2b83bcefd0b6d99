/**
 * HTTP plumbing of the local hub on Node's built-in `http` module: errors, JSON answers, bounded body
 * reading, request ids, CORS, public origins and request logging. No routing logic lives here.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/** Headers a browser client must be able to read (hub-buckets-api.md §9 item 11, xet-protocol.md §10). */
export const EXPOSED_HEADERS = [
  "Link",
  "ETag",
  "X-Xet-Hash",
  "X-Linked-Size",
  "X-Linked-ETag",
  "Content-Range",
  "Content-Length",
  "Accept-Ranges",
  "X-Request-Id",
  "X-Error-Code",
  "X-Error-Message",
  "X-Xet-Cas-Url",
  "X-Xet-Access-Token",
  "X-Xet-Token-Expiration",
  "X-Repo-Commit",
  "X-Total-Count",
].join(", ");

/** An error answered to the client: status, message and the optional `X-Error-Code` header. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
    readonly options: {
      /** `X-Error-Code` (RepoNotFound, EntryNotFound...). */
      code?: string;
      /**
       * Also send the message as `X-Error-Message` (default: for 4xx). huggingface_hub shows it (its 403 message
       * is built from it alone: "403 Forbidden: {X-Error-Message}") and dispatches on some exact values.
       */
      exposeMessage?: boolean;
      /** Extra JSON fields of the error body (the 409 of bucket creation carries `url`). */
      body?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, message);

/** Per-request state shared by the handlers. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** Raw (still percent-encoded) path, without the query. */
  rawPath: string;
  url: URL;
  /** The public origin the client used (`http://host:port`, no trailing slash). */
  origin: string;
  requestId: string;
  startedAt: number;
  /** Error message answered to the client, for the request log (never contains secrets). */
  error?: string;
}

export function newRequestId(): string {
  return randomBytes(12).toString("hex");
}

const HOST_RE = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The origin the client used, from the `Host` header (hub-buckets-api.md §2.6: returned URLs must start
 * with exactly the client's endpoint). Falls back to the listening address for a missing or odd header.
 */
export function publicOrigin(req: IncomingMessage, fallback: string, configured?: string): string {
  if (configured) return configured;
  const host = req.headers.host;
  if (typeof host === "string" && HOST_RE.test(host)) return `http://${host}`;
  return fallback;
}

/** Sets the headers every response carries: request id and CORS. */
export function setCommonHeaders(ctx: RequestContext): void {
  const { res, req } = ctx;
  res.setHeader("X-Request-Id", ctx.requestId);
  const origin = req.headers.origin;
  res.setHeader("Access-Control-Allow-Origin", typeof origin === "string" && origin !== "null" ? origin : "*");
  res.setHeader("Vary", "Origin");
  res.setHeader("Access-Control-Expose-Headers", EXPOSED_HEADERS);
}

/** Answers a CORS preflight. */
export function answerPreflight(ctx: RequestContext): void {
  const { res, req } = ctx;
  res.statusCode = 204;
  res.setHeader("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
  const asked = req.headers["access-control-request-headers"];
  res.setHeader(
    "Access-Control-Allow-Headers",
    typeof asked === "string" && /^[A-Za-z0-9_, -]*$/.test(asked) && asked.length > 0
      ? asked
      : "Authorization, Content-Type, Range, Accept, X-Xet-Session-Id, X-Request-Id, X-Amzn-Trace-Id",
  );
  res.setHeader("Access-Control-Max-Age", "86400");
  res.end();
}

/** Sends a JSON body (or only the headers for HEAD). */
export function sendJson(ctx: RequestContext, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const { res } = ctx;
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.end(ctx.method === "HEAD" ? undefined : text);
}

/** Sends an error as `{"error": message}` with its headers. Safe to call once headers are out (it then just closes). */
export function sendError(ctx: RequestContext, err: HttpError): void {
  const { res } = ctx;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { ...err.options.headers };
  if (err.options.code) headers["X-Error-Code"] = err.options.code;
  if (err.options.exposeMessage ?? err.status < 500) headers["X-Error-Message"] = headerSafe(err.message);
  sendJson(ctx, err.status, { ...err.options.body, error: err.message }, headers);
}

/** Header values must be Latin-1 without control characters. */
export function headerSafe(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?").slice(0, 500);
}

/**
 * Reads a request body into one buffer, refusing more than `limit` bytes with 413 (from `Content-Length`
 * before reading anything, or while reading).
 */
export async function readBody(ctx: RequestContext, limit: number, what: string): Promise<Buffer> {
  const expected = declaredLength(ctx, limit, what);
  if (expected !== undefined && expected > 0) {
    // Declared length: one buffer of that size, filled as the body arrives (no list of parts to
    // concatenate at the end: half the copying and garbage for large bodies).
    const body = Buffer.allocUnsafeSlow(expected);
    const size = await streamBody(ctx, limit, what, (part, at) => void part.copy(body, at));
    return size === expected ? body : body.subarray(0, size);
  }
  const parts: Buffer[] = [];
  const size = await streamBody(ctx, limit, what, (part) => void parts.push(part));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}

/** The body's declared length (`Content-Length`), undefined without one; 413 when it exceeds `limit`. */
function declaredLength(ctx: RequestContext, limit: number, what: string): number | undefined {
  const declared = ctx.req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit, what);
  return declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
}

function tooLarge(limit: number, what: string): HttpError {
  return new HttpError(413, `${what} too large: at most ${limit} bytes are accepted`, { headers: { Connection: "close" } });
}

/**
 * Hands a request body to `onPart` as it arrives (each network read, in order, at its offset; the parts are
 * the runtime's own buffers, never reused, so they may be kept), without holding it; resolves with its
 * length. The same refusals as `readBody`: more than `limit` bytes is 413 (from `Content-Length` before
 * reading anything, or while reading), a body longer or shorter than its `Content-Length` 400.
 */
export async function streamBody(
  ctx: RequestContext,
  limit: number,
  what: string,
  onPart: (part: Buffer, offset: number) => void,
): Promise<number> {
  const { req } = ctx;
  const expected = declaredLength(ctx, limit, what);
  let size = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    if (expected !== undefined && size + part.length > expected) {
      throw badRequest(`${what} longer than its Content-Length of ${expected} bytes`);
    }
    if (size + part.length > limit) throw tooLarge(limit, what);
    onPart(part, size);
    size += part.length;
  }
  if (expected !== undefined && size !== expected) throw badRequest(`${what} truncated: received ${size} of ${expected} bytes`);
  return size;
}

/** Parses a JSON request body; 400 with a clear message when it is not JSON (or not an object). */
export async function readJsonObject(ctx: RequestContext, limit: number): Promise<Record<string, unknown>> {
  const body = await readBody(ctx, limit, "JSON body");
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw badRequest(`request body is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw badRequest("request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/** The bearer token of a request, or undefined. Malformed `Authorization` headers are a 401. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined || h === "") return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m) {
    throw new HttpError(401, "Invalid credentials in Authorization header", { exposeMessage: true });
  }
  return m[1];
}

/** Decodes one percent-encoded URL component; 400 on malformed escapes. */
export function decodeComponent(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest(`malformed percent-encoding in URL: ${JSON.stringify(s.slice(0, 200))}`);
  }
}

/** A `Link` header value with one or more relations (absolute URLs; one space after `;` as JS requires). */
export function linkHeader(links: Array<[url: string, rel: string]>): string {
  return links.map(([url, rel]) => `<${url}>; rel="${rel}"`).join(", ");
}

/**
 * Writes to a response and resolves once the bytes left the caller's memory (handed to the connection: the
 * write's callback), so that their buffer may be reused; rejects when the client went away first.
 */
export function sent(res: ServerResponse, data: Uint8Array): Promise<void> {
  if (res.destroyed) return Promise.reject(new Error("client went away"));
  return new Promise((resolve, reject) => {
    const onClose = () => {
      res.off("close", onClose);
      reject(new Error("client went away"));
    };
    res.on("close", onClose);
    res.write(data, (err) => {
      res.off("close", onClose);
      if (err) reject(err);
      else resolve();
    });
  });
}

/** Writes to a response, resolving once the data is flushed or buffered below the high-water mark. */
export function writeChunk(res: ServerResponse, data: Uint8Array): Promise<void> {
  if (res.destroyed) return Promise.reject(new Error("client went away"));
  if (res.write(data)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onClose = () => {
      cleanup();
      reject(new Error("client went away"));
    };
    const cleanup = () => {
      res.off("drain", onDrain);
      res.off("close", onClose);
    };
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}
