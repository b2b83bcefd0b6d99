/**
 * Hub file endpoints of a bucket: tree listing (B7), paths-info (B8) and resolve metadata (B12/B13).
 * hub-buckets-api.md §4.7, §4.8, §4.11, §4.12.
 *
 * Paths are percent-encoded segment by segment in URLs (the official JS client inserts them raw and
 * breaks on spaces, `#` and `?`).
 */
import { EntryNotFoundError, ProtocolError } from "../errors.js";
import { isXetHash } from "../hex.js";
import { errorFromResponse } from "../http.js";
import { bucketApiPath, paginate, parseLinkHeader } from "./buckets.js";
import { encodePath, type HubContext } from "./context.js";
import type { BucketRef } from "../repo.js";

/** Paths per paths-info request (Python's batch size; the Hub's limit). */
const PATHS_INFO_BATCH = 1000;

/** A tree entry or paths-info entry of a bucket, as the Hub sends it. */
export interface BucketTreeEntry {
  type: "file" | "directory" | "unknown";
  path: string;
  /** Bytes; 0 for directories. */
  size: number;
  /** Xet file id; set on every bucket file. */
  xetHash?: string;
  /** Client-supplied modification time, ISO-8601 (when the uploader sent one). */
  mtime?: string;
  /** Server time of the upload, ISO-8601. */
  uploadedAt?: string;
  contentType?: string;
  [key: string]: unknown;
}

function checkEntry(x: unknown, where: string): BucketTreeEntry {
  const o = x as Partial<BucketTreeEntry> | null;
  if (!o || typeof o !== "object" || typeof o.path !== "string" || typeof o.type !== "string") {
    throw new ProtocolError(`malformed entry from ${where}: expected an object with "type" and "path"`);
  }
  const type = o.type === "file" || o.type === "directory" ? o.type : "unknown";
  if (type === "file" && (typeof o.size !== "number" || typeof o.xetHash !== "string")) {
    throw new ProtocolError(`malformed file entry "${o.path}" from ${where}: "size" and "xetHash" are required`);
  }
  // The hash goes into CAS URLs and the size into Range headers and buffers: refuse anything else.
  if (type === "file" && (!Number.isSafeInteger(o.size) || o.size! < 0 || !isXetHash(o.xetHash))) {
    throw new ProtocolError(
      `malformed file entry "${o.path}" from ${where}: size must be a non-negative integer and xetHash 64 hex characters`,
    );
  }
  return { ...o, type, path: o.path, size: typeof o.size === "number" ? o.size : 0 } as BucketTreeEntry;
}

/** True when `path` is `prefix` itself or below it (`prefix/...`); any path for an empty prefix. */
export function isUnderPrefix(path: string, prefix: string): boolean {
  return prefix === "" || path === prefix || path.startsWith(prefix + "/");
}

/**
 * B7: lists `prefix` (the bucket root when empty): recursive → every file below it; otherwise its direct
 * children (files and `directory` entries). Follows pagination. The real Hub matches prefixes lexically
 * (`logs` may return `logs.json`); entries outside the folder are dropped here. `recursive` is always
 * sent, `false` included: without it the Hub lists every file below the prefix (huggingface_hub's bucket
 * tests), not one level.
 */
export async function* listTree(
  ctx: HubContext,
  bucket: BucketRef,
  opts: { prefix?: string; recursive?: boolean; expand?: boolean; signal?: AbortSignal } = {},
): AsyncGenerator<BucketTreeEntry> {
  const prefix = (opts.prefix ?? "").replace(/^\/+|\/+$/g, "");
  const query = `?recursive=${!!opts.recursive}&expand=${!!opts.expand}`;
  const path = `${bucketApiPath(bucket)}/tree${prefix ? `/${encodePath(prefix)}` : ""}${query}`;
  for await (const item of paginate<unknown>(ctx, path, { signal: opts.signal })) {
    const entry = checkEntry(item, `GET ${bucketApiPath(bucket)}/tree`);
    if (isUnderPrefix(entry.path, prefix)) yield entry;
  }
}

/**
 * B8: metadata of the given paths, in requests of at most 1000 paths. Unknown paths and folders are
 * omitted by the Hub; the result keeps the Hub's order within each request.
 */
export async function postPathsInfo(
  ctx: HubContext,
  bucket: BucketRef,
  paths: string[],
  opts: { expand?: boolean; signal?: AbortSignal } = {},
): Promise<BucketTreeEntry[]> {
  const out: BucketTreeEntry[] = [];
  for (let i = 0; i < paths.length; i += PATHS_INFO_BATCH) {
    const body: Record<string, unknown> = { paths: paths.slice(i, i + PATHS_INFO_BATCH) };
    if (opts.expand !== undefined) body.expand = opts.expand;
    const json = await ctx.json<unknown>(`${bucketApiPath(bucket)}/paths-info`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: opts.signal,
    });
    if (!Array.isArray(json)) throw new ProtocolError(`malformed paths-info answer for ${bucket.id}: expected a JSON array`);
    for (const item of json) out.push(checkEntry(item, `POST ${bucketApiPath(bucket)}/paths-info`));
  }
  return out;
}

/** The resolve URL of a bucket file (no `/api` prefix). */
function resolveUrl(ctx: HubContext, bucket: BucketRef, path: string): string {
  return `${ctx.hubUrl}/buckets/${bucket.namespace}/${bucket.name}/resolve/${encodePath(path)}`;
}

/** What the resolve endpoint says about a file (B12/B13 headers). */
export interface ResolvedFile {
  size: number;
  /** `X-Xet-Hash`; undefined when the answer is not Xet-backed. */
  xetHash: string | undefined;
  etag: string;
  contentType: string | undefined;
  /** `Link rel="xet-auth"`: the read-token URL (or `X-Xet-Refresh-Route`, made absolute). */
  refreshUrl: string | undefined;
  /** `Link rel="xet-reconstruction-info"`. */
  reconstructionUrl: string | undefined;
  /** The URL that was resolved. */
  url: string;
}

function parseResolved(res: Response, url: string, hubUrl: string): ResolvedFile {
  const h = res.headers;
  const links = parseLinkHeader(h.get("link"), url);
  let size = Number.parseInt(h.get("x-linked-size") ?? "", 10);
  if (Number.isNaN(size)) {
    const cr = /\/(\d+)\s*$/.exec(h.get("content-range") ?? "");
    size = cr ? Number(cr[1]) : Number.parseInt(h.get("content-length") ?? "", 10);
  }
  if (!Number.isFinite(size) || size < 0)
    throw new ProtocolError(`resolve ${url.replace(/[?#].*$/, "")}: no file size (X-Linked-Size) in the answer`);
  const refreshRoute = h.get("x-xet-refresh-route");
  return {
    size,
    xetHash: h.get("x-xet-hash") ?? undefined,
    etag: h.get("x-linked-etag") ?? h.get("etag") ?? "",
    contentType: h.get("content-type") ?? undefined,
    refreshUrl: links["xet-auth"] ?? (refreshRoute ? new URL(refreshRoute, hubUrl).href : undefined),
    reconstructionUrl: links["xet-reconstruction-info"],
    url,
  };
}

/**
 * B12: `HEAD /buckets/{ns}/{name}/resolve/{path}`. Returns null for a missing file
 * (404 + `EntryNotFound`; any 404 when `anyNotFound`). Other errors throw.
 */
export async function headResolve(
  ctx: HubContext,
  bucket: BucketRef,
  path: string,
  opts: { signal?: AbortSignal; anyNotFound?: boolean } = {},
): Promise<ResolvedFile | null> {
  const url = resolveUrl(ctx, bucket, path);
  const res = await ctx.request(url, { method: "HEAD", headers: { "Accept-Encoding": "identity" }, accept: [404], signal: opts.signal });
  await res.body?.cancel();
  if (res.status === 404) {
    if (opts.anyNotFound || res.headers.get("x-error-code") === "EntryNotFound") return null;
    throw await errorFromResponse(res, "HEAD", url);
  }
  return parseResolved(res, url, ctx.hubUrl);
}

/**
 * B13 as @huggingface/hub's `fileDownloadInfo` sends it: `GET` with `Range: bytes=0-0` and the Xet
 * file-info `Accept`. Returns null on 404 + `EntryNotFound`; other 404s throw.
 */
export async function getResolveInfo(ctx: HubContext, bucket: BucketRef, path: string, signal?: AbortSignal): Promise<ResolvedFile | null> {
  const url = resolveUrl(ctx, bucket, path);
  return ctx.requestRead(
    url,
    { headers: { Range: "bytes=0-0", Accept: "application/vnd.xet-fileinfo+json, */*" }, accept: [404], signal },
    async (res) => {
      if (res.status === 404) {
        if (res.headers.get("x-error-code") === "EntryNotFound") {
          await res.body?.cancel();
          return null;
        }
        throw await errorFromResponse(res, "GET", url);
      }
      await res.body?.cancel();
      const info = parseResolved(res, url, ctx.hubUrl);
      if (!(res.headers.get("content-type") ?? "").includes("application/vnd.xet-fileinfo+json")) {
        // A plain (non-Xet) answer: the size comes from Content-Range, no CAS links.
        const cr = /\/(\d+)\s*$/.exec(res.headers.get("content-range") ?? "");
        if (cr) info.size = Number(cr[1]);
        info.xetHash = undefined;
      }
      return info;
    },
  );
}

/** The error a missing file (or folder) gets in this package; `message` replaces the default one. */
export function entryNotFound(bucket: BucketRef, path: string, hubUrl: string, message?: string): EntryNotFoundError {
  return new EntryNotFoundError(
    "ENTRY_NOT_FOUND",
    message ?? `file not found: "${path}" in bucket ${bucket.id}. Check the path (they are case-sensitive) with listFiles().`,
    {
      statusCode: 404,
      url: `${hubUrl}/buckets/${bucket.id}/resolve/${encodePath(path)}`,
      serverCode: "EntryNotFound",
    },
  );
}
