/**
 * Hub endpoints of model, dataset and space repositories that this package uses: create and delete, tree
 * listing, paths-info, preupload, the commit endpoint (NDJSON), the Xet token URLs and file downloads by
 * their resolve URL. Shapes as huggingface_hub (`hf_api.py`, `_commit_api.py`) and @huggingface/hub
 * (`commit.ts`, `list-files.ts`, `paths-info.ts`) send and read them.
 */
import { ProtocolError } from "../errors.js";
import { isXetHash } from "../hex.js";
import { repoLabel, type RepoRef, type RepoType } from "../repo.js";
import { paginate } from "./buckets.js";
import { encodePath, strictText, type HubContext } from "./context.js";

/** Paths per paths-info request. */
export const REPO_PATHS_INFO_BATCH = 1000;
/** Files per preupload request (huggingface_hub's chunk). */
export const PREUPLOAD_BATCH = 256;
/** Bytes of each file the preupload request samples (the Hub tells text from binary with them). */
export const PREUPLOAD_SAMPLE_BYTES = 512;

/** A tree or paths-info entry of a repository, as the Hub sends it. */
export interface RepoTreeEntry {
  type: "file" | "directory";
  path: string;
  size: number;
  /** Git blob id (files) or tree id (folders). */
  oid?: string;
  /** LFS files: the SHA-256 of the content. */
  lfs?: { oid: string; size: number; pointerSize: number };
  /** Xet-backed LFS files. */
  xetHash?: string;
  lastCommit?: { id: string; title: string; date: string };
}

export const repoApiPath = (r: Pick<RepoRef, "type" | "namespace" | "name">): string =>
  `/api/${r.type}s/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}`;

/** The revision in a URL: one segment (`refs/pr/1` → `refs%2Fpr%2F1`). */
const rev = (revision: string | undefined): string => encodeURIComponent(revision ?? "main");

/** The URL prefix of a repository's pages: "" for models, "datasets/" and "spaces/" otherwise. */
export const repoUrlPrefix = (type: RepoType): string => (type === "model" ? "" : `${type}s/`);

/** The Xet token endpoint of a repository (`revision`: a branch or commit; huggingface_hub always sends one). */
export function repoXetTokenPath(r: RepoRef, scope: "read" | "write", revision?: string): string {
  return `${repoApiPath(r)}/xet-${scope}-token/${rev(revision)}`;
}

/** The resolve URL of a file at a revision. */
export function repoResolveUrl(ctx: HubContext, r: RepoRef, revision: string | undefined, path: string): string {
  return `${ctx.hubUrl}/${repoUrlPrefix(r.type)}${r.namespace}/${r.name}/resolve/${rev(revision)}/${encodePath(path)}`;
}

function checkEntry(x: unknown, where: string): RepoTreeEntry {
  const o = x as Partial<RepoTreeEntry> | null;
  if (!o || typeof o !== "object" || typeof o.path !== "string" || (o.type !== "file" && o.type !== "directory")) {
    throw new ProtocolError(`malformed entry from ${where}: expected an object with "type" (file or directory) and "path"`);
  }
  if (o.type === "file" && (typeof o.size !== "number" || !Number.isSafeInteger(o.size) || o.size < 0)) {
    throw new ProtocolError(`malformed file entry "${o.path}" from ${where}: "size" must be a non-negative integer`);
  }
  if (o.xetHash !== undefined && !isXetHash(o.xetHash)) {
    throw new ProtocolError(`malformed file entry "${o.path}" from ${where}: "xetHash" must be 64 hex characters`);
  }
  if (o.lfs !== undefined && (typeof o.lfs?.oid !== "string" || !/^[0-9a-f]{64}$/.test(o.lfs.oid))) {
    throw new ProtocolError(`malformed file entry "${o.path}" from ${where}: "lfs.oid" must be a SHA-256`);
  }
  return { ...o, size: typeof o.size === "number" ? o.size : 0 } as RepoTreeEntry;
}

/**
 * Lists `prefix` of a repository at `revision` (default main): recursive → every file and folder below it;
 * otherwise its direct children. Follows pagination.
 */
export async function* listRepoTree(
  ctx: HubContext,
  r: RepoRef,
  opts: { prefix?: string; recursive?: boolean; revision?: string; expand?: boolean; signal?: AbortSignal } = {},
): AsyncGenerator<RepoTreeEntry> {
  const prefix = (opts.prefix ?? "").replace(/^\/+|\/+$/g, "");
  const path = `${repoApiPath(r)}/tree/${rev(opts.revision)}${prefix ? `/${encodePath(prefix)}` : ""}?recursive=${!!opts.recursive}&expand=${!!opts.expand}`;
  for await (const item of paginate<unknown>(ctx, path, { signal: opts.signal })) {
    yield checkEntry(item, `GET ${repoApiPath(r)}/tree`);
  }
}

/** Files and folders among `paths` at `revision`, in requests of at most 1000 paths (unknown paths are omitted). */
export async function postRepoPathsInfo(
  ctx: HubContext,
  r: RepoRef,
  paths: string[],
  opts: { revision?: string; expand?: boolean; signal?: AbortSignal } = {},
): Promise<RepoTreeEntry[]> {
  const out: RepoTreeEntry[] = [];
  for (let i = 0; i < paths.length; i += REPO_PATHS_INFO_BATCH) {
    const json = await ctx.json<unknown>(`${repoApiPath(r)}/paths-info/${rev(opts.revision)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ paths: paths.slice(i, i + REPO_PATHS_INFO_BATCH), expand: !!opts.expand }),
      signal: opts.signal,
    });
    if (!Array.isArray(json)) throw new ProtocolError(`malformed paths-info answer for ${repoLabel(r)}: expected a JSON array`);
    for (const item of json) out.push(checkEntry(item, `POST ${repoApiPath(r)}/paths-info`));
  }
  return out;
}

/** The bytes of a (small, regular) file of a repository, read whole from its resolve URL. */
export async function fetchRepoFile(
  ctx: HubContext,
  r: RepoRef,
  revision: string | undefined,
  path: string,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const url = repoResolveUrl(ctx, r, revision, path);
  return ctx.requestRead(url, { signal }, async (res) => new Uint8Array(await res.arrayBuffer()));
}

/** `POST /api/repos/create`; false when the repository exists (409). */
export async function postCreateRepo(
  ctx: HubContext,
  r: RepoRef,
  opts: { visibility?: "public" | "private" | "protected"; sdk?: string; signal?: AbortSignal } = {},
): Promise<{ created: boolean; url: string }> {
  const body: Record<string, unknown> = { name: r.name, organization: r.namespace, type: r.type };
  if (opts.visibility) body.visibility = opts.visibility;
  if (opts.sdk) body.sdk = opts.sdk;
  // The answer is read inside the retry loop: a body that stalls or breaks is a failed attempt, not a hang.
  const { status, text } = await ctx.requestRead(
    "/api/repos/create",
    {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      accept: [409],
      signal: opts.signal,
    },
    async (res) => ({ status: res.status, text: await strictText(res, `create ${repoLabel(r)} answered ${res.status} with a body that`) }),
  );
  let url = `${ctx.hubUrl}/${repoUrlPrefix(r.type)}${r.id}`;
  try {
    const json = JSON.parse(text) as { url?: unknown };
    if (typeof json.url === "string") url = json.url;
  } catch {
    // keep the default URL
  }
  return { created: status !== 409, url };
}

/** `DELETE /api/repos/delete`. */
export async function deleteRepoRequest(ctx: HubContext, r: RepoRef, signal?: AbortSignal, accept: number[] = []): Promise<void> {
  const res = await ctx.request("/api/repos/delete", {
    method: "DELETE",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: r.name, organization: r.namespace, type: r.type }),
    accept,
    signal,
  });
  await res.body?.cancel();
}
