/**
 * CAS transport: authenticated requests to `{casUrl}/...` with the bucket's CAS token (never the Hub
 * token), refreshed before expiry and once on 401, under the shared retry policy.
 */
import { HubApiError } from "../errors.js";
import { toHex } from "../hex.js";
import { httpRequestRead, type AttemptContext, type HttpOptions, type RequestInit2 } from "../http.js";
import type { XetTokenProvider } from "../hub/xet-token.js";
import { isRangeFetch } from "#platform";

export class CasClient {
  readonly tokens: XetTokenProvider;
  readonly http: HttpOptions;
  readonly sessionId: string;

  constructor(tokens: XetTokenProvider, http: HttpOptions, sessionId: string = newSessionId()) {
    this.tokens = tokens;
    this.http = http;
    this.sessionId = sessionId;
  }

  /** The CAS base URL (from the token endpoint). */
  async casUrl(signal?: AbortSignal): Promise<string> {
    return (await this.tokens.get(signal)).casUrl;
  }

  /**
   * Sends `{casUrl}{path}` with `Authorization: Bearer <CAS token>` and `X-Xet-Session-Id`. On 401 the
   * token is refreshed and the request sent once more.
   */
  request(path: string, init: RequestInit2 = {}): Promise<Response> {
    return this.requestRead(path, init, async (res) => res);
  }

  /** Same as request(), but `read` consumes the response inside the retry loop (see `httpRequestRead`). */
  async requestRead<T>(path: string, init: RequestInit2, read: (res: Response, attempt: AttemptContext) => Promise<T>): Promise<T> {
    const signal = init.signal ?? this.http.abortSignal;
    for (let refreshed = false; ; refreshed = true) {
      const token = await this.tokens.get(signal);
      try {
        return await httpRequestRead(
          `${token.casUrl}${path}`,
          {
            ...init,
            signal,
            headers: { ...init.headers, Authorization: `Bearer ${token.accessToken}`, "X-Xet-Session-Id": this.sessionId },
          },
          this.http,
          read,
        );
      } catch (err) {
        if (!refreshed && err instanceof HubApiError && err.statusCode === 401) {
          this.tokens.invalidate(token);
          continue;
        }
        throw err;
      }
    }
  }
}

export function newSessionId(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === "function") return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = toHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The caller's own fetch, if the options carry one (not one of the platform's light HTTP clients). */
export function callersFetch(f: typeof fetch | undefined): typeof fetch | undefined {
  return f === undefined || isRangeFetch(f) ? undefined : f;
}
