/**
 * Hub bucket management endpoints (hub-buckets-api.md §4.1–4.6) and `Link` pagination (§2.3).
 *
 * This layer speaks HTTP and validates answers; the public functions (js/src/api/buckets.ts) add the
 * parameter vocabulary and the friendly semantics (existOk, missingOk...).
 */
import { ProtocolError } from "../errors.js";
import type { RequestInit2 } from "../http.js";
import type { BucketRef } from "../repo.js";
import { strictText, type HubContext } from "./context.js";

/** A bucket as the Hub describes it (B2). Extra keys the Hub sends are kept. */
export interface BucketInfo {
  /** "namespace/name" */
  id: string;
  /** True when only its owner (and, for an organization, its members) can see it. */
  private: boolean;
  /** ISO-8601 */
  createdAt: string;
  /** ISO-8601, when the Hub sends it. */
  updatedAt?: string;
  /** Sum of the file sizes, bytes. */
  size: number;
  /** Number of files. */
  totalFiles: number;
  /** Other fields the Hub sends, as they are. */
  [key: string]: unknown;
}

export function bucketApiPath(bucket: Pick<BucketRef, "namespace" | "name">): string {
  return `/api/buckets/${encodeURIComponent(bucket.namespace)}/${encodeURIComponent(bucket.name)}`;
}

/**
 * Parses a `Link` header into rel → absolute URL. More tolerant than @huggingface/hub's parser: any
 * spacing, unquoted rel values, several rels per link, and relative URLs (resolved against `base`).
 */
export function parseLinkHeader(header: string | null | undefined, base?: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  const re = /<([^>]*)>\s*((?:;\s*[^;,]+)*)/g;
  for (const m of header.matchAll(re)) {
    const target = m[1]!.trim();
    let url: string;
    try {
      url = new URL(target, base).href;
    } catch {
      continue;
    }
    for (const param of m[2]!.split(";")) {
      const pm = /^\s*rel\s*=\s*"?([^"]*)"?\s*$/i.exec(param);
      if (!pm) continue;
      for (const rel of pm[1]!.split(/\s+/).filter(Boolean)) out[rel] ??= url;
    }
  }
  return out;
}

/**
 * Follows a paginated JSON-array listing: yields every item of every page, following `Link: <…>;
 * rel="next"` until there is none. A page that is not an array is a `ProtocolError`. A next link that
 * points back to an already visited page ends the listing with a `ProtocolError` instead of looping.
 */
export async function* paginate<T>(ctx: HubContext, first: string, init: RequestInit2 = {}): AsyncGenerator<T> {
  let next: string | undefined = first;
  const seen = new Set<string>();
  while (next) {
    const url: string = /^https?:\/\//.test(next) ? next : `${ctx.hubUrl}${next}`;
    if (seen.has(url))
      throw new ProtocolError(`pagination loops: the server announced ${url.replace(/[?#].*$/, "")} twice as the next page`);
    seen.add(url);
    const page: { items: unknown; link: string | null } = await ctx.requestRead(
      url,
      { ...init, headers: { Accept: "application/json", ...init.headers } },
      async (res) => {
        const text = await strictText(res, `listing page ${url.replace(/[?#].*$/, "")}`);
        let items: unknown;
        try {
          items = JSON.parse(text);
        } catch (err) {
          throw new ProtocolError(`listing page ${url.replace(/[?#].*$/, "")} is not JSON: ${text.slice(0, 120)}`, { cause: err });
        }
        return { items, link: res.headers.get("link") };
      },
    );
    if (!Array.isArray(page.items)) {
      throw new ProtocolError(`malformed listing from ${url.replace(/[?#].*$/, "")}: expected a JSON array`);
    }
    for (const item of page.items) yield item as T;
    next = parseLinkHeader(page.link, url).next;
  }
}

function checkBucketInfo(x: unknown, where: string): BucketInfo {
  const o = x as Partial<BucketInfo> | null;
  if (!o || typeof o !== "object" || typeof o.id !== "string") {
    throw new ProtocolError(`malformed bucket record from ${where}: expected an object with "id"`);
  }
  return {
    ...o,
    id: o.id,
    private: o.private === true,
    createdAt: typeof o.createdAt === "string" ? o.createdAt : "",
    size: typeof o.size === "number" ? o.size : 0,
    totalFiles: typeof o.totalFiles === "number" ? o.totalFiles : 0,
  } as BucketInfo;
}

export interface CreateBucketBody {
  visibility?: "public" | "private" | "protected";
  resourceGroupId?: string;
  region?: string;
}

export type CreateBucketAnswer =
  | { created: true; url: string; id: string; body: Record<string, unknown> }
  | { created: false; url: string | undefined; id: string | undefined; body: Record<string, unknown> };

/** B1: `POST /api/buckets/{ns}/{name}`. A 409 (already exists) is returned as `created: false`. */
export async function postCreateBucket(
  ctx: HubContext,
  bucket: BucketRef,
  body: CreateBucketBody,
  signal?: AbortSignal,
): Promise<CreateBucketAnswer> {
  const clean: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (v !== undefined) clean[k] = v;
  // The answer is read inside the retry loop: a body that stalls or breaks is a failed attempt, not a hang.
  const res = await ctx.requestRead(
    bucketApiPath(bucket),
    {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(clean),
      accept: [409],
      signal,
    },
    async (r) => ({ status: r.status, text: await r.text() }),
  );
  let json: Record<string, unknown> = {};
  try {
    json = res.text ? (JSON.parse(res.text) as Record<string, unknown>) : {};
  } catch {
    if (res.status !== 409) throw new ProtocolError(`bucket creation answered ${res.status} with a body that is not JSON`);
  }
  const url = typeof json.url === "string" ? json.url : undefined;
  const id = typeof json.id === "string" ? json.id : undefined;
  if (res.status === 409) return { created: false, url, id, body: json };
  return { created: true, url: url ?? `${ctx.hubUrl}/buckets/${bucket.id}`, id: id ?? bucket.id, body: json };
}

/** B2: `GET /api/buckets/{ns}/{name}`. */
export async function getBucketInfo(ctx: HubContext, bucket: BucketRef, signal?: AbortSignal, query = ""): Promise<BucketInfo> {
  const json = await ctx.json<unknown>(`${bucketApiPath(bucket)}${query}`, { signal });
  return checkBucketInfo(json, `GET ${bucketApiPath(bucket)}`);
}

/** B3: `GET /api/buckets/{ns or me}[?search=…]`, paginated. */
export async function* listBucketsPages(
  ctx: HubContext,
  namespace: string | undefined,
  search: string | undefined,
  signal?: AbortSignal,
): AsyncGenerator<BucketInfo> {
  const path = `/api/buckets/${encodeURIComponent(namespace ?? "me")}${search ? `?search=${encodeURIComponent(search)}` : ""}`;
  for await (const item of paginate<unknown>(ctx, path, { signal })) yield checkBucketInfo(item, `GET ${path}`);
}

/** B4: `DELETE /api/buckets/{ns}/{name}`. `accept` lets callers turn statuses (404) into answers. */
export async function deleteBucketRequest(
  ctx: HubContext,
  bucket: BucketRef,
  signal?: AbortSignal,
  accept: number[] = [],
): Promise<number> {
  const res = await ctx.request(bucketApiPath(bucket), {
    method: "DELETE",
    headers: { "Content-Type": "application/json" },
    accept,
    signal,
  });
  await res.body?.cancel();
  return res.status;
}

/** B5: `PUT /api/buckets/{ns}/{name}/settings`. */
export async function putBucketSettings(
  ctx: HubContext,
  bucket: BucketRef,
  settings: { private?: boolean },
  signal?: AbortSignal,
): Promise<void> {
  const res = await ctx.request(`${bucketApiPath(bucket)}/settings`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(settings),
    signal,
  });
  await res.body?.cancel();
}

/** B6: `POST /api/repos/move` with `type: "bucket"`. */
export async function postMoveBucket(ctx: HubContext, from: BucketRef, to: BucketRef, signal?: AbortSignal): Promise<void> {
  const res = await ctx.request(`/api/repos/move`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ fromRepo: from.id, toRepo: to.id, type: "bucket" }),
    signal,
  });
  await res.body?.cancel();
}
