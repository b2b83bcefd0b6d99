/**
 * Two writers sync different and overlapping trees into one bucket at the same time (each in its own
 * process, several rounds, changing files between rounds) while readers in this process poll listings,
 * paths-info and downloads (through the hub's resolve and through the client's CAS download). Readers
 * never see a file whose bytes do not verify, whose size or hash disagree with what the server says, or
 * whose (path, xetHash) no writer ever wrote; every listed file is one writer's complete version. After:
 * the final listing verifies, and the hub's database and xorb files are consistent (integrity_check,
 * foreign keys, no orphan rows, totals, xorb files ↔ rows).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { downloadFile } from "../../src/api/download.js";
import { initCore, XetHasher } from "../../src/core/index.js";
import { XetBucketsError } from "../../src/errors.js";
import { ALICE, listTree, newBucket, pathsInfo, startTestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";
import { writeFiles } from "../helpers/files.js";
import { hubIntegrity } from "../helpers/hub-state.js";
import { startChild } from "../helpers/processes.js";
import { saveSuiteReport } from "../helpers/reports.js";

const ROUNDS = Number(process.env.XET_RELIABILITY_CONCURRENCY_ROUNDS ?? 3);

function xetHashOf(data: Uint8Array): string {
  const h = new XetHasher();
  h.update(data);
  return h.finish();
}

test(`two writers sync into one bucket for ${ROUNDS} rounds; readers never see an inconsistent file; the hub stays consistent`, async (t) => {
  await initCore();
  const hub = await startTestHub();
  const work = mkdtempSync(join(tmpdir(), "xet-concurrency-"));
  t.after(async () => {
    await hub.close();
    rmSync(work, { recursive: true, force: true });
  });
  const bucket = await newBucket(hub, "two-writers");
  const uri = `hf://buckets/${bucket}`;
  /** Every (path → xetHash → sha256) any writer ever wrote. */
  const written = new Map<string, Map<string, string>>();
  const note = (path: string, data: Uint8Array) => {
    const m = written.get(path) ?? new Map<string, string>();
    m.set(xetHashOf(data), createHash("sha256").update(data).digest("hex"));
    written.set(path, m);
  };
  const trees = { A: join(work, "A"), B: join(work, "B") };
  const round = (r: number) => {
    for (const w of ["A", "B"] as const) {
      const files: Record<string, Uint8Array> = {};
      const seed = (w === "A" ? 1000 : 2000) + r * 10;
      // Own files: new ones each round, and one rewritten.
      for (let i = 0; i <= r; i++) files[`${w.toLowerCase()}/file${i}.bin`] = seededBytes(150_000 + i * 50_000, seed + i);
      files[`${w.toLowerCase()}/changing.bin`] = seededBytes(400_000, seed + 9);
      // Shared paths: different content per writer (last registration wins), and identical content.
      files["shared/conflict.bin"] = seededBytes(600_000, seed + 5);
      files["shared/same.bin"] = seededBytes(500_000, 77);
      writeFiles(trees[w], files);
      for (const [p, d] of Object.entries(files)) note(p, d);
    }
  };

  const stats = { reads: 0, resolveReads: 0, clientReads: 0, pathsInfoChecks: 0, listings: 0, inconsistencies: [] as string[] };
  let writersDone = false;
  const reader = async (id: number) => {
    while (!writersDone) {
      const listing = await listTree(hub.url, bucket);
      stats.listings++;
      for (const e of listing) {
        const versions = written.get(e.path);
        if (!versions?.has(e.xetHash))
          stats.inconsistencies.push(`reader ${id}: listed ${e.path} with ${e.xetHash}, which no writer wrote`);
      }
      const pick = listing.filter((_, i) => (i + stats.listings + id) % 3 === 0);
      if (pick.length) {
        const info = await pathsInfo(
          hub.url,
          bucket,
          pick.map((e) => e.path),
        );
        stats.pathsInfoChecks += info.length;
        for (const e of info) {
          const known = written.get(e.path)?.get(e.xetHash);
          if (!known) stats.inconsistencies.push(`reader ${id}: paths-info ${e.path} with ${e.xetHash}, which no writer wrote`);
        }
      }
      for (const e of pick.slice(0, 3)) {
        // Through the hub's resolve: the bytes must hash to the X-Xet-Hash of the same answer.
        const res = await fetch(`${hub.url}/buckets/${bucket}/resolve/${e.path}`, { headers: { Authorization: `Bearer ${ALICE.token}` } });
        if (res.status === 404) continue; // replaced between listing and read: never happens (no deletes), but harmless
        const bytes = new Uint8Array(await res.arrayBuffer());
        const claimed = res.headers.get("x-xet-hash")!;
        stats.reads++;
        stats.resolveReads++;
        if (xetHashOf(bytes) !== claimed || Number(res.headers.get("content-length")) !== bytes.length) {
          stats.inconsistencies.push(`reader ${id}: resolve ${e.path} gave bytes that do not hash to ${claimed}`);
        }
        if (written.get(e.path)?.get(claimed) !== createHash("sha256").update(bytes).digest("hex")) {
          stats.inconsistencies.push(`reader ${id}: resolve ${e.path} gave content no writer wrote`);
        }
        // Through the client (paths-info + CAS reconstruction), verified against the xetHash it read.
        try {
          const blob = (await downloadFile({ repo: `buckets/${bucket}`, path: e.path, hubUrl: hub.url, accessToken: ALICE.token }))!;
          const data = new Uint8Array(await blob.arrayBuffer());
          stats.reads++;
          stats.clientReads++;
          if (!written.get(e.path)?.has(xetHashOf(data)))
            stats.inconsistencies.push(`reader ${id}: client download of ${e.path} gave content no writer wrote`);
        } catch (err) {
          stats.inconsistencies.push(
            `reader ${id}: client download of ${e.path} failed: ${err instanceof XetBucketsError ? err.code : ""} ${(err as Error).message}`,
          );
        }
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  const t0 = Date.now();
  let syncs = 0;
  const readers = [reader(1), reader(2)];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      round(r);
      const jobs = (["A", "B"] as const).map(
        (w) =>
          startChild({
            mode: "sync",
            hubUrl: hub.url,
            accessToken: ALICE.token,
            source: trees[w],
            dest: uri,
            options: { maxXorbBytes: 256 * 1024 },
          }).done,
      );
      for (const o of await Promise.all(jobs)) {
        assert.ok(o.json?.ok, `a writer failed: ${JSON.stringify(o.json?.error)} ${o.stderr}`);
        syncs++;
      }
    }
  } finally {
    writersDone = true;
    await Promise.all(readers);
  }

  // Final state: every file is one writer's complete version of the last round.
  const final = await listTree(hub.url, bucket);
  const last = ROUNDS - 1;
  const expectPaths = new Set(["shared/conflict.bin", "shared/same.bin"]);
  for (const w of ["a", "b"]) {
    expectPaths.add(`${w}/changing.bin`);
    for (let i = 0; i <= last; i++) expectPaths.add(`${w}/file${i}.bin`);
  }
  assert.deepEqual(final.map((e) => e.path).sort(), [...expectPaths].sort());
  for (const e of final) {
    const res = await fetch(`${hub.url}/buckets/${bucket}/resolve/${e.path}`, { headers: { Authorization: `Bearer ${ALICE.token}` } });
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.equal(xetHashOf(bytes), e.xetHash, e.path);
    assert.equal(bytes.length, e.size);
  }
  const integrity = await hubIntegrity(hub.dataDir);
  saveSuiteReport({
    suite: "concurrency",
    writers: 2,
    rounds: ROUNDS,
    syncs,
    readers: 2,
    listings: stats.listings,
    reads: stats.reads,
    pathsInfoChecks: stats.pathsInfoChecks,
    inconsistencies: stats.inconsistencies.length,
    integrityProblems: integrity.problems.length,
    hubRows: integrity.counts,
    seconds: Math.round((Date.now() - t0) / 100) / 10,
  });
  t.diagnostic(JSON.stringify({ ...stats, inconsistencies: stats.inconsistencies.length, counts: integrity.counts }));
  assert.deepEqual(stats.inconsistencies, []);
  assert.deepEqual(integrity.problems, []);
  assert.ok(stats.reads >= 10, `readers read while the writers wrote (${stats.reads} reads)`);
});

test("the integrity check finds damage (negative control): a missing xorb file, a file row without its CAS file, wrong totals", async (t) => {
  const { cpSync, readdirSync, unlinkSync } = await import("node:fs");
  const { loadSqlite } = await import("../../server/src/store.js");
  const hub = await startTestHub();
  const copy = mkdtempSync(join(tmpdir(), "xet-integrity-"));
  t.after(() => rmSync(copy, { recursive: true, force: true }));
  const bucket = await newBucket(hub, "damage");
  const { uploadFiles } = await import("../../src/api/upload.js");
  await uploadFiles({
    repo: `buckets/${bucket}`,
    hubUrl: hub.url,
    accessToken: ALICE.token,
    files: [{ path: "a.bin", content: seededBytes(300_000, 5) }],
  });
  assert.deepEqual((await hubIntegrity(hub.dataDir)).problems, []);
  await hub.hub.close(); // stops the hub, keeps its data directory (removed by hub.close() below)
  t.after(() => hub.close());
  cpSync(hub.dataDir, copy, { recursive: true });
  const sub = readdirSync(join(copy, "xorbs")).find((d) => /^[0-9a-f]{2}$/.test(d))!;
  unlinkSync(join(copy, "xorbs", sub, readdirSync(join(copy, "xorbs", sub))[0]!));
  const Database = loadSqlite();
  const db = new Database(join(copy, "hub.sqlite"));
  db.prepare("UPDATE files SET xet_hash = ?").run("ab".repeat(32));
  db.prepare("UPDATE buckets SET total_size = total_size + 1").run();
  db.close();
  const { problems } = await hubIntegrity(copy);
  assert.ok(
    problems.some((p) => /without their CAS file/.test(p)),
    problems.join("\n"),
  );
  assert.ok(
    problems.some((p) => /bucket totals/.test(p)),
    problems.join("\n"),
  );
  assert.ok(
    problems.some((p) => /file of -1 bytes/.test(p)),
    problems.join("\n"),
  );
});
