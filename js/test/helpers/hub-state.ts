/**
 * What a hub stored and was asked: snapshots of its database and xorb files (equal snapshots: unchanged store), the
 * consistency of its data directory, the xorb POSTs it answered and the upload bytes it received, the xorbs of a
 * resume state it holds; and stored xorbs damaged on purpose (storage gone bad).
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadSqlite } from "../../server/src/store.js";
import type { TestHub } from "./hub.js";

/** Every row of every table of the hub database, plus the stored xorb files: equal snapshots = unchanged store. */
export function snapshot(dataDir: string): string {
  const Database = loadSqlite();
  const db = new Database(join(dataDir, "hub.sqlite"), { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .all()
      .map((r) => r.name);
    const out: Record<string, unknown[]> = {};
    for (const t of tables) {
      out[t] = db
        .prepare(`SELECT * FROM "${t}"`)
        .all()
        .map((r) => JSON.stringify(r, (_k, v) => (Buffer.isBuffer(v) ? v.toString("hex") : v)))
        .sort();
    }
    let xorbFiles: string[] = [];
    try {
      xorbFiles = readdirSync(join(dataDir, "xorbs"), { recursive: true })
        .map(String)
        .filter((p) => /[0-9a-f]{64}$/.test(p))
        .sort();
    } catch {
      // none yet
    }
    return JSON.stringify({ tables: out, xorbFiles });
  } finally {
    db.close();
  }
}

/**
 * Bytes of the xorb and shard upload bodies the hub received from request index `from` on (their
 * Content-Length): what a client sent on the wire.
 */
export function uploadBodyBytes(hub: TestHub, from = 0): number {
  let n = 0;
  for (const r of hub.requests.slice(from)) if (r.method === "POST" && /^\/(v1\/xorbs\/|v[12]\/shards$)/.test(r.path)) n += r.requestBytes;
  return n;
}

/** Xorb POSTs the hub finished from request index `from` on: count, bytes, and those answered 200. */
export function xorbPosts(hub: TestHub, from = 0): { count: number; ok: number; okBytes: number; bytes: number } {
  let count = 0;
  let ok = 0;
  let okBytes = 0;
  let bytes = 0;
  for (const r of hub.requests.slice(from)) {
    if (r.method !== "POST" || !r.path.startsWith("/v1/xorbs/")) continue;
    count++;
    bytes += r.requestBytes;
    if (r.status === 200) {
      ok++;
      okBytes += r.requestBytes;
    }
  }
  return { count, ok, okBytes, bytes };
}

/**
 * The xorbs a resume state lists that the hub holds (HEAD /v1/xorbs with a CAS read token): what the killed
 * or failed run got stored, whether or not its answer arrived.
 */
export async function storedFromState(
  hub: TestHub,
  bucket: string,
  resumeDir: string,
  token: string,
): Promise<{ count: number; bytes: number }> {
  const files = readdirSync(resumeDir).filter((n) => n.endsWith(".xbresume"));
  if (files.length !== 1) throw new Error(`expected one state file in ${resumeDir}, found ${files.length}`);
  const hashes = new Set<string>();
  for (const l of readFileSync(join(resumeDir, files[0]!), "utf8").split("\n").slice(1)) {
    const m = /^[pa] ([0-9a-f]{64})$/.exec(l);
    if (m) hashes.add(m[1]!);
  }
  const t = (await (await fetch(`${hub.url}/api/buckets/${bucket}/xet-read-token`, { headers: hub.auth(token) })).json()) as {
    accessToken: string;
    casUrl: string;
  };
  let count = 0;
  let bytes = 0;
  for (const h of hashes) {
    const res = await fetch(`${t.casUrl}/v1/xorbs/default/${h}`, { method: "HEAD", headers: { Authorization: `Bearer ${t.accessToken}` } });
    if (res.status === 200) {
      count++;
      bytes += Number(res.headers.get("content-length"));
    }
  }
  return { count, bytes };
}

/**
 * Consistency of a hub's data directory (read-only, while it runs): SQLite's integrity and foreign-key
 * checks, then the invariants between tables and files: every file row names a registered CAS file of the
 * same size; every CAS file has its terms (count and sizes add up) on stored xorbs, inside their chunk
 * ranges; dedup and shard rows name stored xorbs; bucket totals match their files; every xorb row has its
 * file on disk with the stored size, and no xorb file lacks its row. Returns the problems found (none = []).
 */
export async function hubIntegrity(dataDir: string): Promise<{ problems: string[]; counts: Record<string, number> }> {
  const Database = loadSqlite();
  const db = new Database(join(dataDir, "hub.sqlite"), { readonly: true, fileMustExist: true });
  const problems: string[] = [];
  const all = <T>(sql: string) => db.prepare(sql).all() as T[];
  try {
    const ic = all<{ integrity_check: string }>("PRAGMA integrity_check").map((r) => r.integrity_check);
    if (ic.join() !== "ok") problems.push(`integrity_check: ${ic.join("; ")}`);
    const fk = all<unknown>("PRAGMA foreign_key_check");
    if (fk.length) problems.push(`foreign_key_check: ${JSON.stringify(fk).slice(0, 500)}`);
    const q = (label: string, sql: string) => {
      const rows = all<Record<string, unknown>>(sql);
      if (rows.length) problems.push(`${label}: ${rows.length} row(s), e.g. ${JSON.stringify(rows.slice(0, 3))}`);
    };
    const ZERO = "0".repeat(64);
    q(
      "files without their CAS file",
      `SELECT f.path, f.xet_hash FROM files f LEFT JOIN cas_files c ON c.hash = f.xet_hash WHERE f.xet_hash <> '${ZERO}' AND c.hash IS NULL`,
    );
    q(
      "files whose size differs from their CAS file",
      "SELECT f.path, f.size, c.size AS cas FROM files f JOIN cas_files c ON c.hash = f.xet_hash WHERE f.size <> c.size",
    );
    q(
      "CAS files whose terms do not add up",
      "SELECT c.hash FROM cas_files c LEFT JOIN (SELECT file_hash, count(*) n, sum(unpacked) s FROM file_terms GROUP BY file_hash) t ON t.file_hash = c.hash WHERE c.size > 0 AND (t.n IS NULL OR t.n <> c.term_count OR t.s <> c.size)",
    );
    q(
      "terms on xorbs that are not stored",
      "SELECT t.file_hash, t.xorb_hash FROM file_terms t LEFT JOIN xorbs x ON x.hash = t.xorb_hash WHERE x.hash IS NULL",
    );
    q(
      "terms outside their xorb",
      "SELECT t.file_hash FROM file_terms t JOIN xorbs x ON x.hash = t.xorb_hash WHERE t.chunk_start >= t.chunk_end OR t.chunk_end > x.chunk_count",
    );
    q(
      "terms of unknown CAS files",
      "SELECT t.file_hash FROM file_terms t LEFT JOIN cas_files c ON c.hash = t.file_hash WHERE c.hash IS NULL",
    );
    q(
      "dedup entries on missing xorbs",
      "SELECT d.chunk_hash FROM dedup_chunks d LEFT JOIN xorbs x ON x.hash = d.xorb_hash WHERE x.hash IS NULL",
    );
    q(
      "shard rows on missing xorbs",
      "SELECT s.xorb_hash FROM shard_xorbs s LEFT JOIN xorbs x ON x.hash = s.xorb_hash WHERE x.hash IS NULL",
    );
    q(
      "bucket totals that do not match their files",
      "SELECT b.namespace, b.name, b.total_files, b.total_size, count(f.path) n, coalesce(sum(f.size), 0) s FROM buckets b LEFT JOIN files f ON f.bucket_id = b.id GROUP BY b.id HAVING b.total_files <> n OR b.total_size <> s",
    );
    const xorbs = all<{ hash: string; stored_bytes: number }>("SELECT hash, stored_bytes FROM xorbs");
    const rows = new Set<string>();
    for (const x of xorbs) {
      rows.add(x.hash);
      let size = -1;
      try {
        size = statSync(join(dataDir, "xorbs", x.hash.slice(0, 2), x.hash)).size;
      } catch {
        // missing
      }
      if (size !== x.stored_bytes) problems.push(`xorb ${x.hash}: file of ${size} bytes, row says ${x.stored_bytes}`);
    }
    const dir = join(dataDir, "xorbs");
    if (existsSync(dir)) {
      for (const d of readdirSync(dir)) {
        if (!/^[0-9a-f]{2}$/.test(d)) continue;
        for (const f of readdirSync(join(dir, d))) if (/^[0-9a-f]{64}$/.test(f) && !rows.has(f)) problems.push(`xorb file ${f} has no row`);
      }
    }
    const counts: Record<string, number> = {};
    for (const t of ["buckets", "files", "cas_files", "file_terms", "xorbs", "shards", "dedup_chunks"]) {
      counts[t] = (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    }
    return { problems, counts };
  } finally {
    db.close();
  }
}

/**
 * Damages the stored xorbs of the file with Xet hash `xetHash` in a hub's data directory: one byte flipped (at
 * `offset`, default the middle of each xorb file; inside a chunk's bytes, which still decode), as storage that
 * went bad would. Returns `repair`, which flips them back.
 */
export function damageStoredXorbs(dataDir: string, xetHash: string, offset?: number): { xorbs: string[]; repair: () => void } {
  const Database = loadSqlite();
  const db = new Database(join(dataDir, "hub.sqlite"), { readonly: true, fileMustExist: true });
  let xorbs: string[];
  try {
    xorbs = db
      .prepare<[string], { xorb_hash: string }>("SELECT DISTINCT xorb_hash FROM file_terms WHERE file_hash = ?")
      .all(xetHash.toLowerCase())
      .map((r) => r.xorb_hash);
  } finally {
    db.close();
  }
  if (xorbs.length === 0) throw new Error(`the hub stores no xorb of file ${xetHash}`);
  const flip = () => {
    for (const x of xorbs) {
      const p = join(dataDir, "xorbs", x.slice(0, 2), x);
      const bytes = readFileSync(p);
      const at = Math.min(bytes.length - 1, offset ?? bytes.length >> 1);
      bytes[at] = bytes[at]! ^ 0xff;
      writeFileSync(p, bytes);
    }
  };
  flip();
  return { xorbs, repair: flip };
}
