/**
 * The repositories' records in the hub database (tables of `schema.ts`): repositories, their commits along
 * `main`, file versions, the contents of regular files, and the LFS objects (SHA-256 → Xet file) each
 * repository may commit. A commit is one transaction: it writes the changed paths and moves `head_seq`, or
 * nothing at all.
 */
import type BetterSqlite3 from "better-sqlite3";
import { folderEnd } from "../paths.js";
import type { Cursor, ShardRegistration, Store } from "../store.js";

export type RepoType = "model" | "dataset" | "space";
export const REPO_TYPES: readonly RepoType[] = ["model", "dataset", "space"];

export interface RepoRow {
  id: number;
  type: RepoType;
  namespace: string;
  name: string;
  private: boolean;
  sdk: string | null;
  createdAt: number;
  updatedAt: number;
  headSeq: number;
}

export interface CommitRow {
  seq: number;
  oid: string;
  title: string;
  message: string;
  author: string;
  createdAt: number;
}

/** A file of a repository at some revision. */
export interface RepoFileRow {
  path: string;
  /** Sequence number of the commit that wrote this version. */
  added: number;
  size: number;
  /** Git blob id: of the content (regular files) or of the LFS pointer. */
  oid: string;
  /** LFS files: the SHA-256 of the content (the pointer's oid). */
  sha256: string | null;
  /** LFS files: the Xet file holding the content. */
  xetHash: string | null;
}

export type RepoTreeEntry = ({ type: "file" } & RepoFileRow) | { type: "directory"; path: string };

/** The new content of one path in a commit. */
export type FileChange =
  | { kind: "regular"; path: string; oid: string; content: Buffer }
  | { kind: "lfs"; path: string; oid: string; sha256: string; xetHash: string; size: number };

export interface CommitInput {
  title: string;
  message: string;
  author: string;
  /** Paths written, in order (a later write of a path wins). */
  writes: FileChange[];
  /** Paths deleted (after the writes that precede them; see `RepoStore.commit`). */
  deletes: string[];
}

type Db = BetterSqlite3.Database;

interface RawRepo {
  id: number;
  type: RepoType;
  namespace: string;
  name: string;
  private: number;
  sdk: string | null;
  created_at: number;
  updated_at: number;
  head_seq: number;
}
interface RawFile {
  path: string;
  added: number;
  size: number;
  oid: string;
  sha256: string | null;
  xet_hash: string | null;
}
interface RawCommit {
  seq: number;
  oid: string;
  title: string;
  message: string;
  author: string;
  created_at: number;
}

const repoRow = (r: RawRepo): RepoRow => ({
  id: r.id,
  type: r.type,
  namespace: r.namespace,
  name: r.name,
  private: r.private !== 0,
  sdk: r.sdk,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  headSeq: r.head_seq,
});
const fileRow = (r: RawFile): RepoFileRow => ({
  path: r.path,
  added: r.added,
  size: r.size,
  oid: r.oid,
  sha256: r.sha256,
  xetHash: r.xet_hash,
});
const commitRow = (r: RawCommit): CommitRow => ({
  seq: r.seq,
  oid: r.oid,
  title: r.title,
  message: r.message,
  author: r.author,
  createdAt: r.created_at,
});

const FILE_COLS = "path, added, size, oid, sha256, xet_hash";
/** The versions alive at commit @seq. */
const LIVE = "added <= @seq AND (removed IS NULL OR removed > @seq)";

export class RepoStore {
  readonly #store: Store;
  readonly #s: ReturnType<RepoStore["prepare"]>;

  constructor(store: Store) {
    this.#store = store;
    this.#s = this.prepare(store.db);
  }

  private prepare(db: Db) {
    return {
      byName: db.prepare<[string, string, string], RawRepo>("SELECT * FROM repos WHERE type = ? AND namespace = ? AND name = ?"),
      byId: db.prepare<[number], RawRepo>("SELECT * FROM repos WHERE id = ?"),
      insert: db.prepare("INSERT INTO repos (type, namespace, name, private, sdk, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
      remove: db.prepare("DELETE FROM repos WHERE id = ?"),
      setPrivate: db.prepare("UPDATE repos SET private = ?, updated_at = ? WHERE id = ?"),
      setHead: db.prepare("UPDATE repos SET head_seq = ?, updated_at = ? WHERE id = ?"),
      list: db.prepare<
        { type: string; ns: string | null; search: string | null; viewer: string; after: number | null; limit: number },
        RawRepo
      >(
        `SELECT * FROM repos WHERE type = @type AND (@ns IS NULL OR namespace = @ns)
           AND (@search IS NULL OR instr(lower(namespace || '/' || name), lower(@search)) > 0)
           AND (private = 0 OR instr(@viewer, '|' || namespace || '|') > 0)
           AND (@after IS NULL OR id > @after)
         ORDER BY id LIMIT @limit`,
      ),
      commitBySeq: db.prepare<[number, number], RawCommit>("SELECT * FROM repo_commits WHERE repo_id = ? AND seq = ?"),
      commitByOid: db.prepare<[number, string], RawCommit>("SELECT * FROM repo_commits WHERE repo_id = ? AND oid = ?"),
      commitsFrom: db.prepare<[number, number, number], RawCommit>(
        "SELECT * FROM repo_commits WHERE repo_id = ? AND seq <= ? ORDER BY seq DESC LIMIT ?",
      ),
      insertCommit: db.prepare(
        "INSERT INTO repo_commits (repo_id, seq, oid, title, message, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      fileAt: db.prepare<{ repo: number; path: string; seq: number }, RawFile>(
        `SELECT ${FILE_COLS} FROM repo_files WHERE repo_id = @repo AND path = @path AND ${LIVE}`,
      ),
      filesFrom: db.prepare<{ repo: number; seq: number; lo: string; hi: string | null; after: string | null; limit: number }, RawFile>(
        `SELECT ${FILE_COLS} FROM repo_files WHERE repo_id = @repo AND path >= @lo AND (@hi IS NULL OR path < @hi)
           AND (@after IS NULL OR path > @after) AND ${LIVE} ORDER BY path LIMIT @limit`,
      ),
      firstGt: db.prepare<{ repo: number; seq: number; lo: string; hi: string | null; key: string }, RawFile>(
        `SELECT ${FILE_COLS} FROM repo_files WHERE repo_id = @repo AND path >= @lo AND (@hi IS NULL OR path < @hi)
           AND path > @key AND ${LIVE} ORDER BY path LIMIT 1`,
      ),
      firstGe: db.prepare<{ repo: number; seq: number; lo: string; hi: string | null; key: string }, RawFile>(
        `SELECT ${FILE_COLS} FROM repo_files WHERE repo_id = @repo AND path >= @lo AND (@hi IS NULL OR path < @hi)
           AND path >= @key AND ${LIVE} ORDER BY path LIMIT 1`,
      ),
      endVersion: db.prepare("UPDATE repo_files SET removed = ? WHERE repo_id = ? AND path = ? AND removed IS NULL"),
      insertFile: db.prepare(
        "INSERT INTO repo_files (repo_id, path, added, removed, size, oid, sha256, xet_hash) VALUES (?, ?, ?, NULL, ?, ?, ?, ?)",
      ),
      insertBlob: db.prepare("INSERT OR IGNORE INTO repo_blobs (oid, content) VALUES (?, ?)"),
      blob: db.prepare<[string], { content: Buffer }>("SELECT content FROM repo_blobs WHERE oid = ?"),
      lfsObject: db.prepare<[number, string], { xet_hash: string; size: number }>(
        "SELECT xet_hash, size FROM repo_lfs_objects WHERE repo_id = ? AND sha256 = ?",
      ),
      insertLfsObject: db.prepare("INSERT OR IGNORE INTO repo_lfs_objects (repo_id, sha256, xet_hash, size) VALUES (?, ?, ?, ?)"),
      insertFileRepo: db.prepare("INSERT OR IGNORE INTO cas_file_repos (file_hash, repo_id) VALUES (?, ?)"),
      fileRepo: db.prepare<[string, number], { one: number }>("SELECT 1 AS one FROM cas_file_repos WHERE file_hash = ? AND repo_id = ?"),
      xetInRepo: db.prepare<[number, string], { size: number }>("SELECT size FROM repo_files WHERE repo_id = ? AND xet_hash = ? LIMIT 1"),
      namespaceHasRepos: db.prepare<[string], { one: number }>("SELECT 1 AS one FROM repos WHERE namespace = ? LIMIT 1"),
    };
  }

  // ------------------------------------------------------------------------------------ repositories

  get(type: RepoType, namespace: string, name: string): RepoRow | undefined {
    const r = this.#s.byName.get(type, namespace, name);
    return r && repoRow(r);
  }

  getById(id: number): RepoRow | undefined {
    const r = this.#s.byId.get(id);
    return r && repoRow(r);
  }

  /** True when some repository (public or private) is in `namespace`. */
  namespaceHasRepos(namespace: string): boolean {
    return this.#s.namespaceHasRepos.get(namespace) !== undefined;
  }

  /**
   * Creates a repository with its first commit (the Hub's "initial commit", writing `initial`); returns
   * undefined when a repository of that type and id exists.
   */
  create(
    r: { type: RepoType; namespace: string; name: string; private: boolean; sdk: string | null; now: number },
    initial: CommitInput,
    commitOid: (seq: number) => string,
  ): RepoRow | undefined {
    return this.#store.write("createRepo", () => {
      if (this.#s.byName.get(r.type, r.namespace, r.name)) return undefined;
      const info = this.#s.insert.run(r.type, r.namespace, r.name, r.private ? 1 : 0, r.sdk, r.now, r.now);
      const id = Number(info.lastInsertRowid);
      this.#apply(id, 0, initial, commitOid(1), r.now);
      return this.getById(id);
    });
  }

  delete(id: number): void {
    this.#store.write("deleteRepo", () => {
      this.#s.remove.run(id);
    });
  }

  setPrivate(id: number, isPrivate: boolean, now: number): void {
    this.#store.write("repoSettings", () => {
      this.#s.setPrivate.run(isPrivate ? 1 : 0, now, id);
    });
  }

  /** Repositories of a type visible to a viewer (member of `viewerNamespaces`), in creation order after `afterId`. */
  list(
    type: RepoType,
    opts: { namespace?: string; search?: string; viewerNamespaces: Iterable<string>; afterId?: number; limit: number },
  ): RepoRow[] {
    const viewer = `|${[...opts.viewerNamespaces].join("|")}|`;
    return this.#s.list
      .all({ type, ns: opts.namespace ?? null, search: opts.search ?? null, viewer, after: opts.afterId ?? null, limit: opts.limit })
      .map(repoRow);
  }

  // ------------------------------------------------------------------------------------------ commits

  commitBySeq(repoId: number, seq: number): CommitRow | undefined {
    const r = this.#s.commitBySeq.get(repoId, seq);
    return r && commitRow(r);
  }

  commitByOid(repoId: number, oid: string): CommitRow | undefined {
    const r = this.#s.commitByOid.get(repoId, oid);
    return r && commitRow(r);
  }

  /** Commits at or before `seq`, newest first. */
  commits(repoId: number, seq: number, limit: number): CommitRow[] {
    return this.#s.commitsFrom.all(repoId, seq, limit).map(commitRow);
  }

  /**
   * Applies a commit on top of `parentSeq` (the head the caller read) in one transaction. Returns the new
   * commit, or undefined when the head moved meanwhile (cannot happen within one synchronous call, kept as
   * a guard). The caller has validated the changes against the tree at `parentSeq`.
   */
  commit(repoId: number, parentSeq: number, input: CommitInput, oid: string, now: number): CommitRow | undefined {
    return this.#store.write("commit", () => {
      const repo = this.#s.byId.get(repoId);
      if (!repo || repo.head_seq !== parentSeq) return undefined;
      return this.#apply(repoId, parentSeq, input, oid, now);
    });
  }

  #apply(repoId: number, parentSeq: number, input: CommitInput, oid: string, now: number): CommitRow {
    const seq = parentSeq + 1;
    // The final state of each touched path: a later operation on a path wins.
    const final = new Map<string, FileChange | null>();
    for (const w of input.writes) final.set(w.path, w);
    for (const d of input.deletes) final.set(d, null);
    for (const [path, change] of final) {
      this.#s.endVersion.run(seq, repoId, path);
      if (!change) continue;
      if (change.kind === "regular") {
        this.#s.insertBlob.run(change.oid, change.content);
        this.#s.insertFile.run(repoId, path, seq, change.content.length, change.oid, null, null);
      } else {
        this.#s.insertFile.run(repoId, path, seq, change.size, change.oid, change.sha256, change.xetHash);
      }
    }
    this.#s.insertCommit.run(repoId, seq, oid, input.title, input.message, input.author, now);
    this.#s.setHead.run(seq, now, repoId);
    return { seq, oid, title: input.title, message: input.message, author: input.author, createdAt: now };
  }

  // -------------------------------------------------------------------------------------------- files

  fileAt(repoId: number, seq: number, path: string): RepoFileRow | undefined {
    const r = this.#s.fileAt.get({ repo: repoId, path, seq });
    return r && fileRow(r);
  }

  /** True when some file lives below `path/` at `seq`. */
  isFolder(repoId: number, seq: number, path: string): boolean {
    return this.#s.firstGe.get({ repo: repoId, seq, lo: `${path}/`, hi: folderEnd(path), key: `${path}/` }) !== undefined;
  }

  /** Every file at or below `prefix` at `seq`, ordered by path, a page at a time. */
  listRecursive(
    repoId: number,
    seq: number,
    prefix: string,
    cursor: Cursor | undefined,
    limit: number,
  ): { rows: RepoFileRow[]; next?: Cursor } {
    const rows: RepoFileRow[] = [];
    if (prefix !== "" && cursor === undefined) {
      const exact = this.fileAt(repoId, seq, prefix);
      if (exact) rows.push(exact);
    }
    const lo = prefix === "" ? "" : `${prefix}/`;
    const hi = prefix === "" ? null : folderEnd(prefix);
    const more = this.#s.filesFrom
      .all({ repo: repoId, seq, lo, hi, after: cursor?.key ?? null, limit: limit - rows.length + 1 })
      .map(fileRow);
    rows.push(...more);
    if (rows.length > limit) {
      rows.length = limit;
      return { rows, next: { op: ">", key: rows[rows.length - 1]!.path } };
    }
    return { rows };
  }

  /** Direct children of `prefix` at `seq`: its files and one entry per sub-folder (index seeks past each). */
  listChildren(
    repoId: number,
    seq: number,
    prefix: string,
    cursor: Cursor | undefined,
    limit: number,
  ): { rows: RepoTreeEntry[]; next?: Cursor } {
    const rows: RepoTreeEntry[] = [];
    const base = prefix === "" ? "" : `${prefix}/`;
    const hi = prefix === "" ? null : folderEnd(prefix);
    let pos: Cursor = cursor ?? { op: ">=", key: base };
    for (;;) {
      const r = (pos.op === ">" ? this.#s.firstGt : this.#s.firstGe).get({ repo: repoId, seq, lo: base, hi, key: pos.key });
      if (!r) return { rows };
      if (rows.length === limit) return { rows, next: pos };
      const rest = r.path.slice(base.length);
      const slash = rest.indexOf("/");
      if (slash < 0) {
        rows.push({ type: "file", ...fileRow(r) });
        pos = { op: ">", key: r.path };
      } else {
        const dir = base + rest.slice(0, slash);
        rows.push({ type: "directory", path: dir });
        pos = { op: ">=", key: folderEnd(dir) };
      }
    }
  }

  /** The content of a regular file. */
  blob(oid: string): Buffer | undefined {
    return this.#s.blob.get(oid)?.content;
  }

  // ---------------------------------------------------------------------------------------------- CAS

  /** The Xet file a repository may commit under this SHA-256 (an LFS object uploaded with its write token). */
  lfsObject(repoId: number, sha256: string): { xetHash: string; size: number } | undefined {
    const r = this.#s.lfsObject.get(repoId, sha256);
    return r && { xetHash: r.xet_hash, size: r.size };
  }

  /** Records the files of a shard uploaded with a repository's write token (inside the shard's transaction). */
  recordShardFiles(repoId: number, files: ShardRegistration["files"]): void {
    for (const f of files) {
      this.#s.insertFileRepo.run(f.hash, repoId);
      if (f.sha256) this.#s.insertLfsObject.run(repoId, f.sha256.toLowerCase(), f.hash, f.size);
    }
  }

  /** True when a CAS token of the repository may read the Xet file: some revision holds it, or its write token registered it. */
  mayReadFile(repoId: number, fileHash: string): boolean {
    return this.#s.xetInRepo.get(repoId, fileHash) !== undefined || this.#s.fileRepo.get(fileHash, repoId) !== undefined;
  }

  /** The size of a Xet file some revision of the repository holds (a copy source), or undefined. */
  xetFileSize(repoId: number, fileHash: string): number | undefined {
    return this.#s.xetInRepo.get(repoId, fileHash)?.size;
  }
}
