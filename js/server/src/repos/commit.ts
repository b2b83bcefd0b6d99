/**
 * A repository commit as clients send it (`POST …/commit/{rev}`, NDJSON, huggingface_hub `_commit_api.py`
 * `_prepare_commit_payload`, @huggingface/hub `commit.ts`), parsed and checked against the head before
 * anything is written:
 *
 *   {"key": "header", "value": {"summary", "description", "parentCommit"?}}
 *   {"key": "file", "value": {"path", "content", "encoding": "base64"}}          a regular file, inline
 *   {"key": "lfsFile", "value": {"path", "algo": "sha256", "oid", "size"?}}      an LFS file by SHA-256
 *   {"key": "deletedFile" | "deletedFolder", "value": {"path"}}
 *
 * Operations apply in order (a later one on a path wins). An `lfsFile` must name an LFS object of this
 * repository: a file whose shard declared that SHA-256, uploaded with the repository's Xet write token.
 */
import { isXetHash } from "xet-buckets/core";
import type { HubContext } from "../context.js";
import { HttpError, badRequest } from "../http.js";
import { describe, pathProblem } from "../paths.js";
import type { Cursor } from "../store.js";
import { blobOid, lfsPointer } from "./git.js";
import type { CommitInput, CommitRow, FileChange, RepoRow } from "./store.js";

export type CommitOp =
  | { kind: "file"; path: string; content: Buffer }
  | { kind: "lfsFile"; path: string; oid: string; size: number | undefined }
  | { kind: "deletedFile"; path: string }
  | { kind: "deletedFolder"; path: string };

export interface ParsedCommit {
  title: string;
  description: string;
  parentCommit: string | undefined;
  ops: CommitOp[];
}

export function regularChange(path: string, content: Buffer): FileChange {
  return { kind: "regular", path, oid: blobOid(content), content };
}

function pathOf(v: Record<string, unknown>, line: number, folder = false): string {
  const raw = v.path;
  const path = folder && typeof raw === "string" ? raw.replace(/\/+$/, "") : raw;
  const problem = pathProblem(path);
  if (problem) throw badRequest(`commit line ${line}: invalid path ${describe(raw)}: ${problem}`);
  if (path === ".git" || (path as string).startsWith(".git/")) throw badRequest(`commit line ${line}: paths under .git/ are reserved`);
  return path as string;
}

/** Parses the NDJSON body; any malformed line is a 400 for the whole commit. */
export function parseCommitBody(body: Buffer): ParsedCommit {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw badRequest("commit body is not valid UTF-8");
  }
  const out: ParsedCommit = { title: "", description: "", parentCommit: undefined, ops: [] };
  let sawHeader = false;
  text.split("\n").forEach((raw, i) => {
    const lineText = raw.trim();
    if (lineText === "") return;
    const line = i + 1;
    let o: { key?: unknown; value?: unknown };
    try {
      o = JSON.parse(lineText) as typeof o;
    } catch (err) {
      throw badRequest(`commit line ${line} is not valid JSON: ${(err as Error).message}`);
    }
    const v = o?.value as Record<string, unknown> | undefined;
    if (!o || typeof o !== "object" || !v || typeof v !== "object" || Array.isArray(v)) {
      throw badRequest(`commit line ${line} must be {"key": ..., "value": {...}}`);
    }
    if (o.key === "header") {
      if (sawHeader || out.ops.length > 0) throw badRequest(`commit line ${line}: the header must be the first line, once`);
      sawHeader = true;
      const str = (x: unknown, what: string): string => {
        if (x === undefined || x === null) return "";
        if (typeof x !== "string") throw badRequest(`commit header: ${what} must be a string`);
        return x;
      };
      out.title = str(v.summary, "summary");
      out.description = str(v.description, "description");
      if (v.parentCommit !== undefined && v.parentCommit !== null) {
        if (typeof v.parentCommit !== "string" || !/^[0-9a-f]{40}$/i.test(v.parentCommit)) {
          throw badRequest("commit header: parentCommit must be a commit id (40 hexadecimal digits)");
        }
        out.parentCommit = v.parentCommit.toLowerCase();
      }
      return;
    }
    if (!sawHeader) throw badRequest('a commit starts with its {"key": "header"} line');
    switch (o.key) {
      case "file": {
        const path = pathOf(v, line);
        if (typeof v.content !== "string") throw badRequest(`commit line ${line}: "content" must be a string`);
        const encoding = v.encoding ?? "base64";
        if (encoding !== "base64" && encoding !== "utf-8") {
          throw badRequest(`commit line ${line}: encoding must be "base64" or "utf-8", got ${describe(encoding)}`);
        }
        if (encoding === "base64" && !/^[A-Za-z0-9+/]*={0,2}$/.test(v.content)) {
          throw badRequest(`commit line ${line}: content is not valid base64`);
        }
        out.ops.push({ kind: "file", path, content: Buffer.from(v.content, encoding === "base64" ? "base64" : "utf8") });
        return;
      }
      case "lfsFile": {
        const path = pathOf(v, line);
        if ((v.algo ?? "sha256") !== "sha256") throw badRequest(`commit line ${line}: algo must be "sha256"`);
        if (!isXetHash(v.oid)) {
          throw badRequest(`commit line ${line}: oid must be a SHA-256 (64 hexadecimal digits)`);
        }
        if (v.size !== undefined && (typeof v.size !== "number" || !Number.isSafeInteger(v.size) || v.size < 0)) {
          throw badRequest(`commit line ${line}: size must be a non-negative integer`);
        }
        out.ops.push({ kind: "lfsFile", path, oid: v.oid.toLowerCase(), size: v.size as number | undefined });
        return;
      }
      case "deletedFile":
        out.ops.push({ kind: "deletedFile", path: pathOf(v, line) });
        return;
      case "deletedFolder":
        out.ops.push({ kind: "deletedFolder", path: pathOf(v, line, true) });
        return;
      default:
        throw badRequest(`commit line ${line}: unknown key ${describe(o.key)} (expected file, lfsFile, deletedFile or deletedFolder)`);
    }
  });
  if (!sawHeader) throw badRequest('a commit starts with its {"key": "header"} line');
  return out;
}

/**
 * Checks the operations against the tree at `head` and returns what to write. Errors (nothing is written):
 * an unknown LFS object (400), a size that differs from the object's (400), deleting a missing file or
 * folder (404 EntryNotFound), a file where the tree would have a folder or the reverse (400).
 */
export function planCommit(hub: HubContext, repo: RepoRow, head: CommitRow, parsed: ParsedCommit, author: string): CommitInput {
  const final = new Map<string, FileChange | null>();
  const headFile = (path: string) => hub.repos.fileAt(repo.id, head.seq, path);
  const existsNow = (path: string): boolean => (final.has(path) ? final.get(path) !== null : headFile(path) !== undefined);
  /** Head files at or below `prefix/`, page by page. */
  const headFilesBelow = function* (prefix: string): Generator<string> {
    let cursor: Cursor | undefined = { op: ">=", key: `${prefix}/` };
    do {
      const page: { rows: Array<{ path: string }>; next?: Cursor } = hub.repos.listRecursive(repo.id, head.seq, prefix, cursor, 1000);
      for (const f of page.rows) if (f.path !== prefix) yield f.path;
      cursor = page.next;
    } while (cursor);
  };
  const missingLfs: string[] = [];
  for (const op of parsed.ops) {
    switch (op.kind) {
      case "file":
        final.set(op.path, regularChange(op.path, op.content));
        break;
      case "lfsFile": {
        const obj = hub.repos.lfsObject(repo.id, op.oid);
        if (!obj) {
          missingLfs.push(op.path);
          break;
        }
        if (op.size !== undefined && op.size !== obj.size) {
          throw badRequest(`${op.path}: the LFS object ${op.oid} has ${obj.size} bytes, the commit says ${op.size}`);
        }
        final.set(op.path, {
          kind: "lfs",
          path: op.path,
          oid: blobOid(lfsPointer(op.oid, obj.size)),
          sha256: op.oid,
          xetHash: obj.xetHash,
          size: obj.size,
        });
        break;
      }
      case "deletedFile":
        if (!existsNow(op.path)) {
          throw new HttpError(404, `A file with this name doesn't exist: ${op.path}`, { code: "EntryNotFound", exposeMessage: true });
        }
        final.set(op.path, null);
        break;
      case "deletedFolder": {
        let any = false;
        for (const path of headFilesBelow(op.path)) {
          if (existsNow(path)) {
            final.set(path, null);
            any = true;
          }
        }
        for (const [path, change] of final) {
          if (change && path.startsWith(`${op.path}/`)) {
            final.set(path, null);
            any = true;
          }
        }
        if (!any) {
          throw new HttpError(404, `A folder with this name doesn't exist: ${op.path}`, { code: "EntryNotFound", exposeMessage: true });
        }
        break;
      }
    }
  }
  if (missingLfs.length > 0) {
    throw badRequest(
      `Your push was rejected because an LFS pointer pointed to a file that does not exist: upload its bytes with this repository's ` +
        `Xet write token first. Offending file(s): ${missingLfs.slice(0, 10).join(", ")}${missingLfs.length > 10 ? ", ..." : ""}`,
    );
  }
  // Git trees cannot hold a file and a folder of the same name.
  const pendingDirs = new Set<string>();
  for (const [path, change] of final) {
    if (!change) continue;
    for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) pendingDirs.add(path.slice(0, i));
  }
  for (const [path, change] of final) {
    if (!change) continue;
    for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) {
      const dir = path.slice(0, i);
      if (existsNow(dir)) throw badRequest(`${path}: ${dir} is a file, so it cannot be a folder too`);
    }
    const pendingBelow = pendingDirs.has(path);
    let headBelow = false;
    if (!pendingBelow) {
      for (const p of headFilesBelow(path)) {
        if (existsNow(p)) {
          headBelow = true;
          break;
        }
      }
    }
    if (pendingBelow || headBelow) throw badRequest(`${path} is a folder, so it cannot be a file too`);
  }
  const writes: FileChange[] = [];
  const deletes: string[] = [];
  for (const [path, change] of final) {
    if (change) writes.push(change);
    else deletes.push(path);
  }
  return {
    title: parsed.title || "Upload files",
    message: parsed.description,
    author,
    writes,
    deletes,
  };
}
