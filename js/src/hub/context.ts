/**
 * Options shared by every call, in @huggingface/hub's vocabulary (`hubUrl`, `accessToken` /
 * `credentials`, `fetch`, `abortSignal`), resolved once into a context.
 */
import { InvalidArgumentError } from "../errors.js";
import { httpRequest, type HttpOptions, type RequestInit2, type RetryInfo, type RetryOptions } from "../http.js";

export const DEFAULT_HUB_URL = "https://huggingface.co";

export interface CredentialsParams {
  accessToken?: string;
  /** @deprecated use `accessToken` (kept for @huggingface/hub compatibility) */
  credentials?: { accessToken: string };
}

export interface HubCallOptions extends CredentialsParams {
  /** The Hub's URL (default https://huggingface.co; the local hub prints its own). */
  hubUrl?: string;
  /** Custom fetch (defaults to the global one). */
  fetch?: typeof fetch;
  abortSignal?: AbortSignal;
  /** Retry policy (counts, backoff, total budget), or false to send every request once. */
  retry?: RetryOptions | false;
  /** Called before each retry wait; retries are silent otherwise. */
  onRetry?: (info: RetryInfo) => void;
}

export interface HubContext {
  hubUrl: string;
  accessToken: string | undefined;
  http: HttpOptions;
  /** Sends a Hub request (Authorization added when a token is set). */
  request(pathOrUrl: string, init?: RequestInit2): Promise<Response>;
  /** Same as request() but parses a JSON body. */
  json<T>(pathOrUrl: string, init?: RequestInit2): Promise<T>;
}

export function hubContext(opts: HubCallOptions = {}): HubContext {
  const hubUrl = (opts.hubUrl ?? DEFAULT_HUB_URL).replace(/\/+$/, "");
  if (!/^https?:\/\//.test(hubUrl)) throw new InvalidArgumentError(`hubUrl must be an http(s) URL, got "${opts.hubUrl}"`);
  const accessToken = opts.accessToken ?? opts.credentials?.accessToken;
  if (accessToken !== undefined && (typeof accessToken !== "string" || accessToken.trim() === "")) {
    throw new InvalidArgumentError("accessToken must be a non-empty string");
  }
  const http: HttpOptions = { fetch: opts.fetch, retry: opts.retry, abortSignal: opts.abortSignal, onRetry: opts.onRetry };
  const request = (pathOrUrl: string, init: RequestInit2 = {}) => {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${hubUrl}${pathOrUrl}`;
    const headers: Record<string, string> = { ...init.headers };
    if (accessToken && !Object.keys(headers).some((h) => h.toLowerCase() === "authorization")) {
      headers.Authorization = `Bearer ${accessToken}`;
    }
    return httpRequest(url, { ...init, headers }, http);
  };
  return {
    hubUrl,
    accessToken,
    http,
    request,
    async json<T>(pathOrUrl: string, init: RequestInit2 = {}) {
      const res = await request(pathOrUrl, { ...init, headers: { Accept: "application/json", ...init.headers } });
      return (await res.json()) as T;
    },
  };
}

/** Percent-encodes each segment of a bucket path, keeping the "/" separators. */
export function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}
