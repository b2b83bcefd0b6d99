/**
 * CAS access tokens for a bucket (`GET /api/buckets/{ns}/{name}/xet-{read|write}-token`) or a repository
 * (`GET /api/{type}s/{ns}/{name}/xet-{read|write}-token/{rev}`), cached and refreshed before they expire (60 s
 * margin) or when the CAS answers 401.
 */
import { ProtocolError, XetBucketsError } from "../errors.js";
import type { HubContext } from "./context.js";
import type { BucketRef } from "../repo.js";

export interface XetToken {
  accessToken: string;
  casUrl: string;
  /** Expiry, Unix seconds. */
  exp: number;
}

export type TokenScope = "read" | "write";

/** Refresh this long before `exp` (ms). */
const REFRESH_MARGIN_MS = 60_000;

export class XetTokenProvider {
  readonly #ctx: HubContext;
  readonly #url: string;
  readonly #sessionId: string | undefined;
  #current: XetToken | undefined;
  #inflight: Promise<XetToken> | undefined;

  /** The token of `bucket`, or of whatever `opts.url` names (a repository's token endpoint: pass no bucket). */
  constructor(ctx: HubContext, bucket: BucketRef | undefined, scope: TokenScope, opts: { sessionId?: string; url?: string } = {}) {
    this.#ctx = ctx;
    const url = opts.url ?? (bucket && `/api/buckets/${bucket.namespace}/${bucket.name}/xet-${scope}-token`);
    if (url === undefined) throw new XetBucketsError("INTERNAL", "XetTokenProvider needs a bucket or the token URL");
    this.#url = url;
    this.#sessionId = opts.sessionId;
  }

  /** A token valid for at least the refresh margin. Concurrent callers share one refresh. */
  async get(signal?: AbortSignal): Promise<XetToken> {
    const t = this.#current;
    if (t && t.exp * 1000 - Date.now() > REFRESH_MARGIN_MS) return t;
    this.#inflight ??= this.#fetch(signal).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** Uses a token obtained elsewhere (for example `downloadFile({ xet: { readToken } })`) until it nears expiry. */
  seed(token: XetToken): void {
    this.#current = { accessToken: token.accessToken, casUrl: token.casUrl.replace(/\/+$/, ""), exp: token.exp };
  }

  /** Drops `used` (after a 401) so that the next get() fetches a new token. */
  invalidate(used: XetToken): void {
    if (this.#current === used) this.#current = undefined;
  }

  async #fetch(signal?: AbortSignal): Promise<XetToken> {
    const headers: Record<string, string> = {};
    if (this.#sessionId) headers["X-Xet-Session-Id"] = this.#sessionId;
    const body = await this.#ctx.json<Partial<XetToken>>(this.#url, { headers, signal });
    if (
      typeof body?.accessToken !== "string" ||
      // It becomes an Authorization header: visible ASCII only (no CR/LF to inject headers, no spaces).
      !/^[\x21-\x7e]+$/.test(body.accessToken) ||
      typeof body.casUrl !== "string" ||
      !/^https?:\/\//.test(body.casUrl) ||
      typeof body.exp !== "number" ||
      !Number.isFinite(body.exp)
    ) {
      throw new ProtocolError(`malformed xet token response from ${this.#url}: expected {accessToken, casUrl, exp}`);
    }
    const token = { accessToken: body.accessToken, casUrl: body.casUrl.replace(/\/+$/, ""), exp: body.exp };
    this.#current = token;
    return token;
  }
}
