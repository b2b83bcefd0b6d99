/**
 * Committing to a model, dataset or space repository, on the wire:
 *
 * - `POST /api/{type}s/{id}/preupload/{rev}` with each file's path, size and first 512 bytes (base64): the Hub
 *   answers `lfs` (the bytes go to the Xet CAS; the commit names them by SHA-256) or `regular` (the bytes go
 *   inline in the commit), and the oid the path holds now (clients skip files that did not change);
 * - `POST /api/{type}s/{id}/commit/{rev}` (NDJSON): a `header` line (summary, description, parentCommit),
 *   then one line per operation: `file` (base64 content), `lfsFile` (`algo: "sha256"`, `oid`, `size`),
 *   `deletedFile`, `deletedFolder`. The Hub applies the whole commit or nothing.
 *
 * As huggingface_hub `_commit_api.py` (`_fetch_upload_modes`, `_prepare_commit_payload`) and @huggingface/hub
 * `commit.ts` send them.
 */
import { ProtocolError } from "../errors.js";
import { repoLabel, type RepoRef } from "../repo.js";
import { strictText, type HubContext } from "./context.js";
import { PREUPLOAD_BATCH, repoApiPath, repoUrlPrefix } from "./repos.js";

export interface PreuploadFile {
  path: string;
  size: number;
  /** The first 512 bytes (fewer for a smaller file; may be empty for a file whose size alone decides). */
  sample: Uint8Array;
}

export interface UploadMode {
  mode: "lfs" | "regular";
  /** What the path holds now: the SHA-256 of an LFS file, the Git blob id of a regular one. */
  remoteOid: string | undefined;
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** The upload mode of each file (by path), in requests of 256 files. */
export async function preupload(
  ctx: HubContext,
  r: RepoRef,
  files: PreuploadFile[],
  opts: { branch: string; signal?: AbortSignal },
): Promise<Map<string, UploadMode>> {
  const out = new Map<string, UploadMode>();
  for (let i = 0; i < files.length; i += PREUPLOAD_BATCH) {
    const group = files.slice(i, i + PREUPLOAD_BATCH);
    const json = await ctx.json<{ files?: unknown }>(`${repoApiPath(r)}/preupload/${encodeURIComponent(opts.branch)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ files: group.map((f) => ({ path: f.path, size: f.size, sample: base64(f.sample) })) }),
      signal: opts.signal,
    });
    if (!Array.isArray(json?.files)) throw new ProtocolError(`malformed preupload answer for ${repoLabel(r)}: expected {"files": [...]}`);
    for (const f of json.files as Array<{ path?: unknown; uploadMode?: unknown; oid?: unknown }>) {
      if (typeof f?.path !== "string" || (f.uploadMode !== "lfs" && f.uploadMode !== "regular")) {
        throw new ProtocolError(`malformed preupload answer for ${repoLabel(r)}: each file needs "path" and "uploadMode" (lfs or regular)`);
      }
      out.set(f.path, { mode: f.uploadMode, remoteOid: typeof f.oid === "string" ? f.oid : undefined });
    }
  }
  for (const f of files) {
    if (!out.has(f.path)) throw new ProtocolError(`the preupload answer for ${repoLabel(r)} lacks "${f.path}"`);
  }
  return out;
}

export type CommitLine =
  | { kind: "file"; path: string; content: Uint8Array }
  | { kind: "lfsFile"; path: string; sha256: string; size: number }
  | { kind: "deletedFile"; path: string }
  | { kind: "deletedFolder"; path: string };

export interface CommitHeader {
  summary: string;
  description?: string;
  /** The commit the change is based on: the Hub refuses the commit (412) when the branch moved since. */
  parentCommit?: string;
}

/** The commit the Hub made: its id and URL. */
export interface CommitInfo {
  /** The commit's id (40 hex digits). */
  oid: string;
  /** The commit's page on the Hub. */
  url: string;
}

function ndjsonLine(l: CommitLine): string {
  switch (l.kind) {
    case "file":
      return JSON.stringify({ key: "file", value: { content: base64(l.content), path: l.path, encoding: "base64" } });
    case "lfsFile":
      return JSON.stringify({ key: "lfsFile", value: { path: l.path, algo: "sha256", oid: l.sha256, size: l.size } });
    case "deletedFile":
    case "deletedFolder":
      return JSON.stringify({ key: l.kind, value: { path: l.path } });
  }
}

/** Sends one commit to `branch`. The Hub applies all its lines or none. */
export async function postCommit(
  ctx: HubContext,
  r: RepoRef,
  header: CommitHeader,
  lines: CommitLine[],
  opts: { branch: string; signal?: AbortSignal },
): Promise<CommitInfo> {
  const head: Record<string, unknown> = { summary: header.summary, description: header.description ?? "" };
  if (header.parentCommit) head.parentCommit = header.parentCommit;
  const body = [JSON.stringify({ key: "header", value: head }), ...lines.map(ndjsonLine)].join("\n") + "\n";
  const url = `${repoApiPath(r)}/commit/${encodeURIComponent(opts.branch)}`;
  // Read under the request's stall clock: an answer that stops coming fails the call instead of hanging it.
  const text = await ctx.requestRead(
    url,
    {
      method: "POST",
      headers: { "Content-Type": "application/x-ndjson", Accept: "application/json" },
      body,
      // Not retried (as huggingface_hub): a commit whose answer was lost would be made twice.
      retry: false,
      signal: opts.signal,
    },
    (res) => strictText(res, `the commit to ${repoLabel(r)} answered ${res.status} with a body that`),
  );
  let json: { commitOid?: unknown; commitUrl?: unknown };
  try {
    json = JSON.parse(text) as typeof json;
  } catch (err) {
    throw new ProtocolError(`the commit to ${repoLabel(r)} answered with a body that is not JSON: ${text.slice(0, 120)}`, { cause: err });
  }
  if (typeof json.commitOid !== "string") throw new ProtocolError(`the commit to ${repoLabel(r)} answered without "commitOid"`);
  const fallback = `${ctx.hubUrl}/${repoUrlPrefix(r.type)}${r.id}/commit/${json.commitOid}`;
  return { oid: json.commitOid, url: typeof json.commitUrl === "string" ? json.commitUrl : fallback };
}
