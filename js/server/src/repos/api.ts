/**
 * Model, dataset and space repositories backed by Xet: the part of the Hub API the official clients use to
 * create, inspect, commit to and download from a repository (huggingface_hub `hf_api.py`, `_commit_api.py`,
 * `file_download.py`; @huggingface/hub `commit.ts`, `download-file.ts`, `list-files.ts`).
 *
 * Large files are Git LFS files whose bytes live in the Xet CAS: clients upload them with the repository's
 * Xet write token (shards carrying each file's SHA-256) and commit `lfsFile` lines naming them by SHA-256.
 * Small text files are committed inline and kept in the database. Access follows the buckets' rules
 * (`hub-api.ts`): members read and write, read tokens read, public repositories are readable by anyone, and
 * missing or hidden repositories look the same.
 */
import type { Principal } from "../auth.js";
import { casBase, iso, nowSecs, type HubContext } from "../context.js";
import { HttpError, badRequest, linkHeader, readBody, readJsonObject, sendJson, type RequestContext } from "../http.js";
import {
  ANONYMOUS_401,
  XET_FILEINFO,
  assertCanWrite,
  boolParam,
  notVisible,
  principalOf,
  requireUser,
  streamFileBytes,
} from "../hub-api.js";
import { assertValidName, assertValidPath, describe, normalizePrefix, pathProblem } from "../paths.js";
import { parseRange } from "../ranges.js";
import type { Cursor } from "../store.js";
import { DEFAULT_GITATTRIBUTES, isCommitOid, lfsMatcher, lfsPointer, newCommitOid, treeOid } from "./git.js";
import { REPO_TYPES, type CommitRow, type RepoFileRow, type RepoRow, type RepoTreeEntry, type RepoType } from "./store.js";
import { parseCommitBody, planCommit, regularChange } from "./commit.js";

/** Files above this size go to LFS whatever their content (the Hub's threshold for regular files). */
export const REGULAR_FILE_MAX_BYTES = 10 * 1024 * 1024;
const PATHS_INFO_MAX = 1000;
const COMMITS_PAGE = 50;

// ------------------------------------------------------------------------------------------ helpers

/** `models` → `model`: the URL segment of a repository type. */
export function repoTypeOf(segment: string | undefined): RepoType | undefined {
  const t = segment?.endsWith("s") ? segment.slice(0, -1) : undefined;
  return t !== undefined && (REPO_TYPES as readonly string[]).includes(t) ? (t as RepoType) : undefined;
}

const typePrefix = (type: RepoType): string => (type === "model" ? "" : `${type}s/`);
const repoId = (r: { namespace: string; name: string }) => `${r.namespace}/${r.name}`;
const repoUrl = (ctx: RequestContext, r: RepoRow) => `${ctx.origin}/${typePrefix(r.type)}${repoId(r)}`;
const apiBase = (r: RepoRow) => `/api/${r.type}s/${r.namespace}/${r.name}`;

/** A repository the caller may read; otherwise the Hub's 404 RepoNotFound (401 for anonymous callers). */
function readableRepo(hub: HubContext, p: Principal | undefined, type: RepoType, ns: string, name: string): RepoRow {
  const r = hub.repos.get(type, ns, name);
  if (!r || !hub.auth.canRead(p, r)) throw notVisible(p, "Repository", { codeWhenAnonymous: true });
  return r;
}

/** A repository the caller may write: 404 when it cannot even see it, 401/403 when it can only read it. */
function writableRepo(hub: HubContext, p: Principal | undefined, type: RepoType, ns: string, name: string): RepoRow {
  const r = readableRepo(hub, p, type, ns, name);
  assertCanWrite(hub, p, r.namespace);
  return r;
}

/** A revision of a repository: `main` (or `refs/heads/main`) or a commit id. 404 RevisionNotFound otherwise. */
function resolveRevision(hub: HubContext, r: RepoRow, rev: string): CommitRow {
  let c: CommitRow | undefined;
  if (rev === "main" || rev === "refs/heads/main") c = hub.repos.commitBySeq(r.id, r.headSeq);
  else if (isCommitOid(rev.toLowerCase())) c = hub.repos.commitByOid(r.id, rev.toLowerCase());
  if (!c) {
    throw new HttpError(404, `Invalid rev id: ${rev} (the local hub's repositories have one branch, main, and its commit ids)`, {
      code: "RevisionNotFound",
    });
  }
  return c;
}

/** The branch a commit or an upload goes to: only `main` exists. */
function assertMainBranch(rev: string, ctx: RequestContext): void {
  if (boolParam(ctx.url.searchParams.get("create_pr")) === true) {
    throw badRequest("pull requests are not supported by the local hub: commit to main");
  }
  if (rev !== "main" && rev !== "refs/heads/main") {
    throw new HttpError(404, `Invalid rev id: ${rev} (the local hub's repositories have one branch, main)`, { code: "RevisionNotFound" });
  }
}

function entryNotFound(path: string, commit: CommitRow): HttpError {
  return new HttpError(404, `Entry not found: ${path}`, {
    code: "EntryNotFound",
    exposeMessage: true,
    headers: { "X-Repo-Commit": commit.oid },
  });
}

const encodeCursor = (c: unknown): string => Buffer.from(JSON.stringify(c)).toString("base64url");
function decodeCursor(s: string | null): Cursor | undefined {
  if (s === null || s === "") return undefined;
  try {
    const v = JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as Cursor;
    if ((v.op === ">" || v.op === ">=") && typeof v.key === "string") return v;
  } catch {
    // fall through
  }
  throw badRequest("invalid pagination cursor: follow the Link header of the previous page");
}

function nextLink(ctx: RequestContext, params: Record<string, string>): string {
  const q = new URLSearchParams(ctx.url.search);
  for (const [k, v] of Object.entries(params)) q.set(k, v);
  return `${ctx.origin}${ctx.rawPath}?${q.toString()}`;
}

function lfsJson(f: RepoFileRow): Record<string, unknown> | undefined {
  if (f.sha256 === null) return undefined;
  return { oid: f.sha256, size: f.size, pointerSize: lfsPointer(f.sha256, f.size).length };
}

function fileJson(hub: HubContext, r: RepoRow, f: RepoFileRow, expand: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { type: "file", oid: f.oid, size: f.size, path: f.path };
  const lfs = lfsJson(f);
  if (lfs) out.lfs = lfs;
  if (f.xetHash) out.xetHash = f.xetHash;
  if (expand) {
    const c = hub.repos.commitBySeq(r.id, f.added);
    if (c) out.lastCommit = { id: c.oid, title: c.title, date: iso(c.createdAt) };
  }
  return out;
}

function entryJson(hub: HubContext, r: RepoRow, commit: CommitRow, e: RepoTreeEntry, expand: boolean): Record<string, unknown> {
  if (e.type === "file") return fileJson(hub, r, e, expand);
  return { type: "directory", oid: treeOid(commit.oid, e.path), size: 0, path: e.path };
}

/** Every file at a commit (for `siblings`), in path order. */
function allFiles(hub: HubContext, r: RepoRow, seq: number): RepoFileRow[] {
  const out: RepoFileRow[] = [];
  let cursor: Cursor | undefined;
  do {
    const page = hub.repos.listRecursive(r.id, seq, "", cursor, 1000);
    out.push(...page.rows);
    cursor = page.next;
  } while (cursor);
  return out;
}

// ------------------------------------------------------------------------------ create / delete / info

function parseVisibility(hub: HubContext, body: Record<string, unknown>, ns: string): boolean {
  let isPrivate = hub.config.orgsPrivateByDefault.has(ns);
  if (body.visibility !== undefined && body.visibility !== null) {
    if (body.visibility !== "public" && body.visibility !== "private") {
      throw badRequest(`visibility must be "public" or "private" on the local hub, got ${describe(body.visibility)}`);
    }
    isPrivate = body.visibility === "private";
  } else if (body.private !== undefined && body.private !== null) {
    if (typeof body.private !== "boolean") throw badRequest("private must be a boolean");
    isPrivate = body.private;
  }
  return isPrivate;
}

/** `{name, organization?, type?}` of create and delete requests (`name` may also be "namespace/name"). */
function repoOfBody(p: Principal, body: Record<string, unknown>): { type: RepoType; ns: string; name: string } {
  const type = body.type === undefined || body.type === null ? "model" : body.type;
  if (typeof type !== "string" || !(REPO_TYPES as readonly string[]).includes(type)) {
    throw badRequest(`type must be one of ${REPO_TYPES.join(", ")} on the local hub, got ${describe(body.type)}`);
  }
  if (typeof body.name !== "string") throw badRequest('the request needs "name", the repository name');
  const org = body.organization === undefined || body.organization === null ? undefined : body.organization;
  if (org !== undefined && typeof org !== "string") throw badRequest("organization must be a string");
  let ns: string = org ?? p.user;
  let name: string = body.name;
  if (name.includes("/")) {
    const parts = name.split("/");
    if (parts.length !== 2) throw badRequest(`invalid repository name ${describe(name)}: expected "name" or "namespace/name"`);
    [ns, name] = parts as [string, string];
  }
  assertValidName(ns, "namespace");
  assertValidName(name, "repository name");
  return { type: type as RepoType, ns, name };
}

/** `POST /api/repos/create`. */
export async function createRepo(hub: HubContext, ctx: RequestContext): Promise<void> {
  const p = requireUser(principalOf(hub, ctx));
  const body = await readJsonObject(ctx, hub.config.limits.json);
  const { type, ns, name } = repoOfBody(p, body);
  assertCanWrite(hub, p, ns);
  const isPrivate = parseVisibility(hub, body, ns);
  let sdk: string | null = null;
  if (type === "space") {
    if (typeof body.sdk !== "string" || body.sdk === "") throw badRequest('a space needs "sdk" (gradio, docker, static...)');
    sdk = body.sdk;
  }
  const now = hub.now();
  const key = `${type}/${ns}/${name}`;
  const created = hub.repos.create(
    { type, namespace: ns, name, private: isPrivate, sdk, now },
    {
      title: "initial commit",
      message: "",
      author: p.user,
      writes: [regularChange(".gitattributes", Buffer.from(DEFAULT_GITATTRIBUTES))],
      deletes: [],
    },
    (seq) => newCommitOid(key, null, seq, now, "initial commit"),
  );
  const url = `${ctx.origin}/${typePrefix(type)}${ns}/${name}`;
  if (!created) throw new HttpError(409, `You already created this ${type} repo`, { body: { url } });
  sendJson(ctx, 200, { url, name: `${ns}/${name}`, id: `${ns}/${name}` });
}

/** `DELETE /api/repos/delete`. */
export async function deleteRepo(hub: HubContext, ctx: RequestContext): Promise<void> {
  const p0 = principalOf(hub, ctx);
  if (!p0) throw new HttpError(401, ANONYMOUS_401, { code: "RepoNotFound" });
  const body = await readJsonObject(ctx, hub.config.limits.json);
  const { type, ns, name } = repoOfBody(p0, body);
  const r = writableRepo(hub, p0, type, ns, name);
  hub.repos.delete(r.id);
  sendJson(ctx, 200, {});
}

/** `GET /api/{type}s/{ns}/{name}[/revision/{rev}]`: ModelInfo / DatasetInfo / SpaceInfo. */
export function repoInfo(hub: HubContext, ctx: RequestContext, type: RepoType, ns: string, name: string, rev = "main"): void {
  const p = principalOf(hub, ctx);
  const r = readableRepo(hub, p, type, ns, name);
  const commit = resolveRevision(hub, r, rev);
  const blobs = boolParam(ctx.url.searchParams.get("blobs")) === true;
  const files = allFiles(hub, r, commit.seq);
  const siblings = files.map((f) => {
    if (!blobs) return { rfilename: f.path };
    const s: Record<string, unknown> = { rfilename: f.path, size: f.size, blobId: f.oid };
    if (f.sha256 !== null) s.lfs = { sha256: f.sha256, size: f.size, pointerSize: lfsPointer(f.sha256, f.size).length };
    return s;
  });
  const out: Record<string, unknown> = {
    _id: `${r.type}-${r.id}`,
    id: repoId(r),
    author: r.namespace,
    sha: commit.oid,
    lastModified: iso(commit.createdAt),
    createdAt: iso(r.createdAt),
    private: r.private,
    gated: false,
    disabled: false,
    downloads: 0,
    likes: 0,
    tags: [],
    siblings,
    usedStorage: files.reduce((a, f) => a + f.size, 0),
  };
  if (r.type === "model") out.modelId = repoId(r);
  if (r.type === "space") {
    out.sdk = r.sdk;
    out.runtime = { stage: "NO_APP_FILE", hardware: { current: null, requested: null } };
  }
  sendJson(ctx, 200, out);
}

/** `GET /api/{type}s?author=&search=`: repositories visible to the caller. */
export function listRepos(hub: HubContext, ctx: RequestContext, type: RepoType): void {
  const p = principalOf(hub, ctx);
  const q = ctx.url.searchParams;
  const limit = Math.min(Math.max(Number(q.get("limit") ?? 100) || 100, 1), 1000);
  const after = q.get("cursor");
  const rows = hub.repos.list(type, {
    namespace: q.get("author") ?? undefined,
    search: q.get("search") ?? undefined,
    viewerNamespaces: p?.namespaces ?? [],
    afterId: after !== null && /^\d+$/.test(after) ? Number(after) : undefined,
    limit: limit + 1,
  });
  const headers: Record<string, string> = {};
  if (rows.length > limit) {
    rows.length = limit;
    headers.Link = linkHeader([[nextLink(ctx, { cursor: String(rows[rows.length - 1]!.id) }), "next"]]);
  }
  const items = rows.map((r) => {
    const head = hub.repos.commitBySeq(r.id, r.headSeq);
    const o: Record<string, unknown> = {
      _id: `${r.type}-${r.id}`,
      id: repoId(r),
      author: r.namespace,
      private: r.private,
      sha: head?.oid,
      lastModified: head ? iso(head.createdAt) : iso(r.updatedAt),
      createdAt: iso(r.createdAt),
      downloads: 0,
      likes: 0,
      tags: [],
    };
    if (r.type === "model") o.modelId = repoId(r);
    return o;
  });
  sendJson(ctx, 200, items, headers);
}

/** `PUT /api/{type}s/{ns}/{name}/settings`: visibility (`private` or `visibility`); `gated` is accepted and ignored. */
export async function repoSettings(hub: HubContext, ctx: RequestContext, type: RepoType, ns: string, name: string): Promise<void> {
  const p = principalOf(hub, ctx);
  const r = writableRepo(hub, p, type, ns, name);
  const body = await readJsonObject(ctx, hub.config.limits.json);
  if (body.private !== undefined || body.visibility !== undefined) {
    hub.repos.setPrivate(r.id, parseVisibility(hub, body, r.namespace), hub.now());
  }
  sendJson(ctx, 200, {});
}

// ----------------------------------------------------------------------------------- tree, paths-info

/** `GET /api/{type}s/{ns}/{name}/tree/{rev}[/{path}]?recursive=&expand=` */
export function listTree(
  hub: HubContext,
  ctx: RequestContext,
  type: RepoType,
  ns: string,
  name: string,
  rev: string,
  rawPath: string,
): void {
  const p = principalOf(hub, ctx);
  const r = readableRepo(hub, p, type, ns, name);
  const commit = resolveRevision(hub, r, rev);
  const prefix = normalizePrefix(rawPath);
  const recursive = boolParam(ctx.url.searchParams.get("recursive")) ?? false;
  const expand = boolParam(ctx.url.searchParams.get("expand")) ?? false;
  const cursor = decodeCursor(ctx.url.searchParams.get("cursor"));
  const limit = expand ? Math.min(50, hub.config.treePageSize) : hub.config.treePageSize;
  if (prefix !== "" && cursor === undefined && !hub.repos.isFolder(r.id, commit.seq, prefix)) {
    const file = hub.repos.fileAt(r.id, commit.seq, prefix);
    if (!file) throw entryNotFound(prefix, commit);
    sendJson(ctx, 200, [fileJson(hub, r, file, expand)]);
    return;
  }
  const page = recursive
    ? (() => {
        const res = hub.repos.listRecursive(r.id, commit.seq, prefix, cursor, limit);
        // A recursive listing of the Hub also names every folder on the way.
        const rows: RepoTreeEntry[] = [];
        const seen = new Set<string>();
        for (const f of res.rows) {
          const parts = f.path.split("/");
          for (let i = 1; i < parts.length; i++) {
            const dir = parts.slice(0, i).join("/");
            if ((prefix === "" || dir.startsWith(`${prefix}/`)) && !seen.has(dir) && !(cursor && dir <= cursor.key)) {
              seen.add(dir);
              rows.push({ type: "directory", path: dir });
            }
          }
          rows.push({ type: "file", ...f });
        }
        return { rows, next: res.next };
      })()
    : hub.repos.listChildren(r.id, commit.seq, prefix, cursor, limit);
  const headers: Record<string, string> = {};
  if (page.next) headers.Link = linkHeader([[nextLink(ctx, { cursor: encodeCursor(page.next) }), "next"]]);
  sendJson(
    ctx,
    200,
    page.rows.map((e) => entryJson(hub, r, commit, e, expand)),
    headers,
  );
}

/** The `paths` and `expand` of a paths-info body: JSON (@huggingface/hub) or a form (huggingface_hub). */
async function pathsInfoBody(hub: HubContext, ctx: RequestContext): Promise<{ paths: unknown[]; expand: boolean }> {
  const type = ctx.req.headers["content-type"] ?? "";
  if (type.includes("application/x-www-form-urlencoded")) {
    const form = new URLSearchParams((await readBody(ctx, hub.config.limits.json, "paths-info body")).toString("utf8"));
    return { paths: form.getAll("paths"), expand: boolParam(form.get("expand")) ?? false };
  }
  const body = await readJsonObject(ctx, hub.config.limits.json);
  if (!Array.isArray(body.paths)) throw badRequest('paths-info needs {"paths": [...]} (JSON) or paths=... (form)');
  return { paths: body.paths, expand: body.expand === true };
}

/** `POST /api/{type}s/{ns}/{name}/paths-info/{rev}`: files and folders among `paths`. */
export async function pathsInfo(
  hub: HubContext,
  ctx: RequestContext,
  type: RepoType,
  ns: string,
  name: string,
  rev: string,
): Promise<void> {
  const p = principalOf(hub, ctx);
  const r = readableRepo(hub, p, type, ns, name);
  const commit = resolveRevision(hub, r, rev);
  const { paths, expand } = await pathsInfoBody(hub, ctx);
  if (paths.length > PATHS_INFO_MAX)
    throw badRequest(`paths-info accepts at most ${PATHS_INFO_MAX} paths per request, got ${paths.length}`);
  const out: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  for (const raw of paths) {
    if (typeof raw !== "string") throw badRequest(`paths must be strings, got ${describe(raw)}`);
    const path = raw.replace(/\/+$/, "");
    if (seen.has(path) || pathProblem(path) !== undefined) continue;
    seen.add(path);
    const f = hub.repos.fileAt(r.id, commit.seq, path);
    if (f) out.push(fileJson(hub, r, f, expand));
    else if (hub.repos.isFolder(r.id, commit.seq, path)) out.push(entryJson(hub, r, commit, { type: "directory", path }, expand));
  }
  sendJson(ctx, 200, out);
}

// ------------------------------------------------------------------------------------------- uploads

/**
 * `POST /api/{type}s/{ns}/{name}/preupload/{rev}`: for each file, `lfs` (the bytes go to the Xet CAS, the
 * commit names them by SHA-256) or `regular` (inline in the commit), and the oid of what the path holds now
 * so that clients skip unchanged files. LFS: above 10 MiB, binary samples (a NUL byte), or paths the
 * `.gitattributes` (sent with the request, else the repository's) sends to LFS; never empty files.
 */
export async function preupload(
  hub: HubContext,
  ctx: RequestContext,
  type: RepoType,
  ns: string,
  name: string,
  rev: string,
): Promise<void> {
  const p = principalOf(hub, ctx);
  const r = writableRepo(hub, p, type, ns, name);
  assertMainBranch(rev, ctx);
  const commit = resolveRevision(hub, r, rev);
  const body = await readJsonObject(ctx, hub.config.limits.json);
  if (!Array.isArray(body.files)) throw badRequest('preupload needs {"files": [{"path", "size", "sample"}]}');
  let attributes = typeof body.gitAttributes === "string" ? body.gitAttributes : undefined;
  if (attributes === undefined) {
    const current = hub.repos.fileAt(r.id, commit.seq, ".gitattributes");
    attributes = current && current.sha256 === null ? (hub.repos.blob(current.oid)?.toString("utf8") ?? "") : "";
  }
  const isLfsPath = lfsMatcher(attributes);
  const files = body.files.map((f: unknown, i: number) => {
    const o = f as { path?: unknown; size?: unknown; sample?: unknown };
    if (!o || typeof o !== "object") throw badRequest(`files[${i}] must be an object`);
    assertValidPath(o.path, `files[${i}].path`);
    if (typeof o.size !== "number" || !Number.isSafeInteger(o.size) || o.size < 0) {
      throw badRequest(`files[${i}].size must be a non-negative integer`);
    }
    const sample = typeof o.sample === "string" ? Buffer.from(o.sample, "base64") : Buffer.alloc(0);
    // Empty files are regular: LFS does not store them (huggingface_hub commits them inline too).
    const lfs = o.size > 0 && (o.size > REGULAR_FILE_MAX_BYTES || sample.includes(0) || isLfsPath(o.path));
    const current = hub.repos.fileAt(r.id, commit.seq, o.path);
    const out: Record<string, unknown> = { path: o.path, uploadMode: lfs ? "lfs" : "regular", shouldIgnore: false };
    if (current) out.oid = current.sha256 ?? current.oid;
    return out;
  });
  sendJson(ctx, 200, { files, commitOid: commit.oid });
}

/** `GET /api/{type}s/{ns}/{name}/xet-{read|write}-token[/{rev}]`: a CAS token of the repository. */
export function xetToken(
  hub: HubContext,
  ctx: RequestContext,
  type: RepoType,
  ns: string,
  name: string,
  scope: "read" | "write",
  rev: string | undefined,
): void {
  const p = principalOf(hub, ctx);
  const r = scope === "write" ? writableRepo(hub, p, type, ns, name) : readableRepo(hub, p, type, ns, name);
  // huggingface_hub asks for a write token of revision "None" when it will open a pull request; reads name
  // a revision that must exist.
  if (scope === "read" && rev !== undefined) resolveRevision(hub, r, rev);
  sendXetToken(hub, ctx, r, scope);
}

function mintToken(hub: HubContext, ctx: RequestContext, r: RepoRow, scope: "read" | "write") {
  const exp = nowSecs(hub) + hub.config.casTokenTtlSeconds;
  return { accessToken: hub.auth.mintCasToken({ repoId: r.id, scope, exp }), exp, casUrl: casBase(hub, ctx) };
}

function sendXetToken(hub: HubContext, ctx: RequestContext, r: RepoRow, scope: "read" | "write"): void {
  const t = mintToken(hub, ctx, r, scope);
  ctx.res.setHeader("Cache-Control", "no-store");
  sendJson(ctx, 200, t, {
    "X-Xet-Cas-Url": t.casUrl,
    "X-Xet-Access-Token": t.accessToken,
    "X-Xet-Token-Expiration": String(t.exp),
  });
}

/**
 * `POST /{prefix}{ns}/{name}.git/info/lfs/objects/batch`, the Git LFS batch API as @huggingface/hub uses it:
 * it offers the `xet` transfer, and for each object the repository does not have yet the answer carries the
 * Xet write token (headers) and its refresh URL (`href`). Objects it has get no action (nothing to send).
 */
export async function lfsBatch(hub: HubContext, ctx: RequestContext, type: RepoType, ns: string, name: string): Promise<void> {
  const p = principalOf(hub, ctx);
  const r = writableRepo(hub, p, type, ns, name);
  const body = await readJsonObject(ctx, hub.config.limits.json);
  if (body.operation !== "upload") {
    throw badRequest(
      `the local hub's LFS batch endpoint handles uploads only (download files from /resolve), got ${describe(body.operation)}`,
    );
  }
  if (!Array.isArray(body.transfers) || !body.transfers.includes("xet")) {
    throw badRequest('the local hub stores LFS files in its Xet CAS only: offer the "xet" transfer');
  }
  if (!Array.isArray(body.objects)) throw badRequest('the LFS batch request needs "objects"');
  const token = mintToken(hub, ctx, r, "write");
  const href = `${ctx.origin}${apiBase(r)}/xet-write-token/main`;
  const objects = body.objects.map((o: unknown, i: number) => {
    const obj = o as { oid?: unknown; size?: unknown };
    if (typeof obj?.oid !== "string" || !/^[0-9a-f]{64}$/.test(obj.oid) || typeof obj.size !== "number") {
      throw badRequest(`objects[${i}] must be {"oid": <sha256 hex>, "size": <bytes>}`);
    }
    const have = hub.repos.lfsObject(r.id, obj.oid);
    if (have) return { oid: obj.oid, size: obj.size };
    return {
      oid: obj.oid,
      size: obj.size,
      authenticated: true,
      actions: {
        upload: {
          href,
          header: {
            "X-Xet-Cas-Url": token.casUrl,
            "X-Xet-Access-Token": token.accessToken,
            "X-Xet-Token-Expiration": String(token.exp),
          },
        },
      },
    };
  });
  sendJson(ctx, 200, { transfer: "xet", objects, hash_algo: "sha256" }, { "Content-Type": "application/vnd.git-lfs+json" });
}

/** `POST /api/validate-yaml`: the README metadata check clients run before a commit (accepted as it is). */
export async function validateYaml(hub: HubContext, ctx: RequestContext): Promise<void> {
  await readJsonObject(ctx, hub.config.limits.json);
  sendJson(ctx, 200, { errors: [], warnings: [] });
}

/**
 * `POST /api/{type}s/{ns}/{name}/commit/{rev}` (NDJSON: a `header` line, then `file`, `lfsFile`, `deletedFile`
 * and `deletedFolder` lines). Every line is checked against the tree at the head before anything is written;
 * then the commit is one transaction.
 */
export async function commit(hub: HubContext, ctx: RequestContext, type: RepoType, ns: string, name: string, rev: string): Promise<void> {
  const p = principalOf(hub, ctx);
  const r = writableRepo(hub, p, type, ns, name);
  assertMainBranch(rev, ctx);
  const release = await hub.bodies.acquire(ctx.req, hub.config.limits.ndjson);
  let body: Buffer;
  try {
    body = await readBody(ctx, hub.config.limits.ndjson, "commit body");
  } finally {
    release();
  }
  const parsed = parseCommitBody(body);
  // Read the head after the body: another commit may have landed while it arrived.
  const repo = hub.repos.getById(r.id)!;
  const head = hub.repos.commitBySeq(repo.id, repo.headSeq)!;
  if (parsed.parentCommit !== undefined && parsed.parentCommit !== head.oid) {
    throw new HttpError(412, "A commit has happened since. Please refresh and try again.");
  }
  const input = planCommit(hub, repo, head, parsed, p!.user);
  const now = hub.now();
  const oid = newCommitOid(`${repo.type}/${repo.namespace}/${repo.name}`, head.oid, head.seq + 1, now, input.title);
  const made = hub.repos.commit(repo.id, head.seq, input, oid, now);
  if (!made) throw new HttpError(412, "A commit has happened since. Please refresh and try again.");
  sendJson(ctx, 200, {
    success: true,
    commitOid: made.oid,
    commitUrl: `${repoUrl(ctx, repo)}/commit/${made.oid}`,
    hookOutput: "",
    pullRequestUrl: null,
  });
}

// --------------------------------------------------------------------------------- commits and refs

/** `GET /api/{type}s/{ns}/{name}/commits/{rev}?p=&limit=`: newest first, `X-Total-Count`, Link `next`. */
export function listCommits(hub: HubContext, ctx: RequestContext, type: RepoType, ns: string, name: string, rev: string): void {
  const p = principalOf(hub, ctx);
  const r = readableRepo(hub, p, type, ns, name);
  const commit = resolveRevision(hub, r, rev);
  const q = ctx.url.searchParams;
  const limit = Math.min(Math.max(Number(q.get("limit") ?? COMMITS_PAGE) || COMMITS_PAGE, 1), 1000);
  const page = Math.max(Number(q.get("p") ?? 0) || 0, 0);
  const top = commit.seq - page * limit;
  const rows = top > 0 ? hub.repos.commits(r.id, top, limit) : [];
  const headers: Record<string, string> = { "X-Total-Count": String(commit.seq) };
  if (top - limit > 0) headers.Link = linkHeader([[nextLink(ctx, { p: String(page + 1) }), "next"]]);
  sendJson(
    ctx,
    200,
    rows.map((c) => ({
      id: c.oid,
      title: c.title,
      message: c.message,
      authors: [{ user: c.author, avatar: "" }],
      date: iso(c.createdAt),
      formatted: { title: c.title, message: c.message },
    })),
    headers,
  );
}

/** `GET /api/{type}s/{ns}/{name}/refs`: one branch, main. */
export function listRefs(hub: HubContext, ctx: RequestContext, type: RepoType, ns: string, name: string): void {
  const p = principalOf(hub, ctx);
  const r = readableRepo(hub, p, type, ns, name);
  const head = hub.repos.commitBySeq(r.id, r.headSeq)!;
  const out: Record<string, unknown> = {
    branches: [{ name: "main", ref: "refs/heads/main", targetCommit: head.oid }],
    converts: [],
    tags: [],
  };
  if (boolParam(ctx.url.searchParams.get("include_prs")) === true) out.pullRequests = [];
  sendJson(ctx, 200, out);
}

// -------------------------------------------------------------------------------------------- resolve

/**
 * `GET|HEAD /{prefix}{ns}/{name}/resolve/{rev}/{path}` (and `/raw/`, which answers LFS files with their
 * pointer). Headers the clients read: `X-Repo-Commit`; for LFS files `X-Xet-Hash`, `X-Linked-Size`,
 * `X-Linked-Etag` (the SHA-256, which huggingface_hub's cache keys blobs by), the `Link`s to the Xet read
 * token and reconstruction; `ETag`, `Content-Length`. The bytes are served here (no redirect).
 */
export async function resolve(
  hub: HubContext,
  ctx: RequestContext,
  type: RepoType,
  ns: string,
  name: string,
  rev: string,
  path: string,
  raw: boolean,
): Promise<void> {
  const p = principalOf(hub, ctx);
  const r = readableRepo(hub, p, type, ns, name);
  const commit = resolveRevision(hub, r, rev);
  assertValidPath(path);
  const f = hub.repos.fileAt(r.id, commit.seq, path);
  if (!f) throw entryNotFound(path, commit);
  const { res } = ctx;
  res.setHeader("X-Repo-Commit", commit.oid);
  res.setHeader("Accept-Ranges", "bytes");
  res.setHeader("Last-Modified", new Date(hub.repos.commitBySeq(r.id, f.added)?.createdAt ?? r.createdAt).toUTCString());

  let bytes: Buffer | undefined;
  let size = f.size;
  if (f.sha256 !== null && f.xetHash !== null && !raw) {
    const tokenUrl = `${ctx.origin}${apiBase(r)}/xet-read-token/${commit.oid}`;
    const reconUrl = `${casBase(hub, ctx)}/v1/reconstructions/${f.xetHash}`;
    res.setHeader("X-Xet-Hash", f.xetHash);
    res.setHeader("X-Linked-Size", String(f.size));
    res.setHeader("X-Linked-ETag", `"${f.sha256}"`);
    res.setHeader("ETag", `"${f.sha256}"`);
    res.setHeader(
      "Link",
      linkHeader([
        [tokenUrl, "xet-auth"],
        [reconUrl, "xet-reconstruction-info"],
      ]),
    );
    if (ctx.method === "GET" && (ctx.req.headers.accept ?? "").includes(XET_FILEINFO)) {
      sendJson(
        ctx,
        200,
        { hash: f.xetHash, size: f.size, refreshUrl: tokenUrl, reconstructionUrl: reconUrl },
        { "Content-Type": XET_FILEINFO },
      );
      return;
    }
  } else if (f.sha256 !== null) {
    bytes = lfsPointer(f.sha256, f.size);
    size = bytes.length;
    res.setHeader("ETag", `"${f.oid}"`);
  } else {
    bytes = hub.repos.blob(f.oid);
    if (!bytes) throw new Error(`the content of ${path} (blob ${f.oid}) is missing from the database`);
    res.setHeader("ETag", `"${f.oid}"`);
  }

  let first = 0;
  let last = size - 1;
  const range = parseRange(typeof ctx.req.headers.range === "string" ? ctx.req.headers.range : undefined, size);
  if (range.kind === "unsatisfiable") {
    throw new HttpError(416, `range not satisfiable: the file has ${size} bytes`, { headers: { "Content-Range": `bytes */${size}` } });
  }
  res.statusCode = 200;
  if (range.kind === "ranges" && range.ranges.length === 1) {
    first = range.ranges[0]!.start;
    last = range.ranges[0]!.end;
    res.statusCode = 206;
    res.setHeader("Content-Range", `bytes ${first}-${last}/${size}`);
  }
  res.setHeader("Content-Type", "application/octet-stream");
  res.setHeader("Content-Length", String(Math.max(0, last - first + 1)));
  if (ctx.method === "HEAD" || size === 0) {
    res.end();
    return;
  }
  if (bytes) {
    res.end(bytes.subarray(first, last + 1));
    return;
  }
  await streamFileBytes(hub, ctx, f.xetHash!, first, last);
  res.end();
}
