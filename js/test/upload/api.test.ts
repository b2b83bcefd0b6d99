/**
 * The upload API against the local hub: bucket designations, non-bucket repos refused, mtime and
 * contentType registered, commit operations (addOrUpdate, edit, copy, delete), batchBucketFiles
 * (Python's add / copy / delete), more than 1000 operations split into requests of ≤ 1000, refused
 * paths (BatchError, or `failed` with allowPartial), the progress events of uploadFilesWithProgress, and bytes
 * made in another realm (a vm context: an iframe's or a worker's are alike), which `instanceof` does not recognise.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runInNewContext } from "node:vm";
import { createRepo } from "../../src/api/buckets.js";
import { listFiles } from "../../src/api/files.js";
import {
  batchBucketFiles,
  commit,
  commitIter,
  uploadFile,
  uploadFiles,
  uploadFilesWithProgress,
  type BytesEvent,
  type UploadProgressEvent,
} from "../../src/api/upload.js";
import { BatchError, InvalidArgumentError, RepoNotFoundError } from "../../src/errors.js";
import { xetHash } from "../../src/hash.js";
import { ALICE, listTree, newBucket, pathsInfo, resolveBytes, servedContentType, startTestHub, type TestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";
import { textInput } from "../helpers/vectors.js";

const MiB = 1024 * 1024;
const enc = (s: string) => new TextEncoder().encode(s);

let h: TestHub;
before(async () => {
  h = await startTestHub();
});
after(() => h.close());

test("bucket designations: buckets/ns/name, { type: bucket }, hf://buckets/ns/name/prefix; bare ids refused, repositories are repositories", async () => {
  const bucket = await newBucket(h, "desig");
  const common = { hubUrl: h.url, accessToken: ALICE.token };
  await uploadFile({ ...common, repo: `buckets/${bucket}`, file: { path: "a.txt", content: enc("a") } });
  await uploadFile({ ...common, repo: { type: "bucket", name: bucket }, file: { path: "b.txt", content: enc("b") } });
  await uploadFile({ ...common, repo: `hf://buckets/${bucket}/deep/er`, file: { path: "c.txt", content: enc("c") } });
  assert.deepEqual((await listTree(h.url, bucket)).map((e) => e.path).sort(), ["a.txt", "b.txt", "deep/er/c.txt"]);

  // A model or dataset designation commits to that repository (js/test/api/repos.test.ts): a missing one is a
  // RepoNotFoundError.
  for (const repo of [`datasets/${bucket}`, { type: "model", name: bucket }]) {
    await assert.rejects(
      uploadFiles({ ...common, repo, files: [{ path: "x", content: enc("x") }] }),
      RepoNotFoundError,
      JSON.stringify(repo),
    );
  }
  const before = h.requests.length;
  for (const repo of [bucket, { type: "kernel", name: bucket }, "bucket/alice/x", "buckets/alice"]) {
    await assert.rejects(
      uploadFiles({ ...common, repo: repo as never, files: [{ path: "x", content: enc("x") }] }),
      InvalidArgumentError,
      JSON.stringify(repo),
    );
  }
  await assert.rejects(
    uploadFiles({ ...common, repo: `buckets/${bucket}`, files: [{ path: "/abs", content: enc("x") }] }),
    InvalidArgumentError,
  );
  await assert.rejects(
    uploadFiles({
      ...common,
      repo: `buckets/${bucket}`,
      files: [
        { path: "x", content: enc("1") },
        { path: "x", content: enc("2") },
      ],
    }),
    /given twice/,
  );
  await assert.rejects(
    uploadFiles({ ...common, repo: `buckets/${bucket}`, useXet: false, files: [{ path: "x", content: enc("1") }] }),
    /useXet/,
  );
  await assert.rejects(
    uploadFiles({ ...common, repo: `buckets/${bucket}`, files: [{ path: "x", content: "/no/such/file/here" }] }),
    (e: Error & { code?: string }) => e.code === "FILE_NOT_FOUND",
  );
  assert.equal(h.requests.length, before, "invalid calls send nothing");
});

test("mtime (ms) and contentType are registered: local mtime, File.lastModified, now; Blob type, extension", async (t) => {
  const bucket = await newBucket(h, "meta");
  const dir = mkdtempSync(join(tmpdir(), "xet-meta-"));
  t.after(async () => rmSync(dir, { recursive: true, force: true }));
  const local = join(dir, "config.json");
  writeFileSync(local, '{"a": 1}');
  const localMtime = new Date("2024-03-04T05:06:07.890Z");
  utimesSync(local, localMtime, localMtime);
  const fileMtime = Date.parse("2023-01-02T03:04:05.678Z");
  const t0 = Date.now();
  await uploadFiles({
    repo: `buckets/${bucket}`,
    hubUrl: h.url,
    accessToken: ALICE.token,
    files: [
      { path: "local/config.json", content: local },
      new File([enc("# title")], "readme.md", { lastModified: fileMtime, type: "text/x-custom" }),
      { path: "bytes.csv", content: enc("a,b\n1,2\n") },
      { path: "noext", content: enc("?") },
    ],
  });
  const t1 = Date.now();
  const entries = new Map((await listTree(h.url, bucket)).map((e) => [e.path, e]));
  assert.equal(Date.parse(entries.get("local/config.json")!.mtime!), statSync(local).mtime.getTime());
  assert.equal(Date.parse(entries.get("readme.md")!.mtime!), fileMtime);
  const now = Date.parse(entries.get("bytes.csv")!.mtime!);
  assert.ok(now >= t0 - 1000 && now <= t1 + 1000, "mtime of bytes is the upload time");
  assert.equal(await servedContentType(h.url, bucket, "local/config.json"), "application/json");
  assert.equal(await servedContentType(h.url, bucket, "readme.md"), "text/x-custom");
  assert.equal(await servedContentType(h.url, bucket, "bytes.csv"), "text/csv");
  const info = await pathsInfo(h.url, bucket, ["noext"]);
  assert.equal(info.length, 1);
});

test("bytes of another realm (a vm context): a Uint8Array, an ArrayBuffer and streamed blocks upload to a bucket and a repository, and hash", async () => {
  // Copies of `bytes` made by the other realm's constructors.
  const foreign = runInNewContext("({ u8: (b) => new Uint8Array(b), buffer: (b) => new Uint8Array(b).buffer })") as {
    u8: (b: Uint8Array) => Uint8Array;
    buffer: (b: Uint8Array) => ArrayBuffer;
  };
  const weights = seededBytes(3 * MiB + 5, 71);
  const table = enc("id,name\n1,a\n2,b\n");
  const u8 = foreign.u8(weights);
  const buffer = foreign.buffer(table);
  assert.deepEqual([u8 instanceof Uint8Array, buffer instanceof ArrayBuffer], [false, false], "the bytes are of another realm");
  const window = u8.subarray(1000, 1000 + MiB);
  const blocks = [foreign.u8(weights.subarray(0, MiB)), foreign.u8(weights.subarray(MiB, 2 * MiB))];
  const common = { hubUrl: h.url, accessToken: ALICE.token };

  const bucket = await newBucket(h, "realms");
  const report = await uploadFiles({
    ...common,
    repo: `buckets/${bucket}`,
    files: [
      { path: "weights.bin", content: u8 },
      { path: "window.bin", content: window },
      { path: "table.csv", content: buffer },
      { path: "blocks.bin", content: blocks },
    ],
  });
  assert.equal(report.files, 4);
  const want = {
    "weights.bin": weights,
    "window.bin": weights.subarray(1000, 1000 + MiB),
    "table.csv": table,
    "blocks.bin": weights.subarray(0, 2 * MiB),
  };
  const sizes = new Map((await listTree(h.url, bucket)).map((e) => [e.path, e.size]));
  for (const [path, bytes] of Object.entries(want)) {
    assert.equal(sizes.get(path), bytes.length, path);
    assert.ok(Buffer.from(await resolveBytes(h.url, bucket, path)).equals(Buffer.from(bytes)), `${path} arrived intact`);
  }
  assert.equal(await xetHash(u8), await xetHash(weights));
  assert.equal(await xetHash(buffer), await xetHash(table));

  // A repository commit samples bytes itself (LFS or inline): the same sources.
  await createRepo({ ...common, repo: "models/alice/realms" });
  const res = await uploadFiles({
    ...common,
    repo: "models/alice/realms",
    files: [
      { path: "weights.bin", content: u8 },
      { path: "table.csv", content: buffer },
    ],
  });
  assert.match(res.commit?.oid ?? "", /^[0-9a-f]{40}$/);
  const entries = new Map<string, { size: number; lfs?: { oid: string } }>();
  for await (const e of listFiles({ ...common, repo: "models/alice/realms", recursive: true })) entries.set(e.path, e);
  assert.equal(entries.get("weights.bin")?.lfs?.oid, createHash("sha256").update(weights).digest("hex"));
  assert.equal(entries.get("table.csv")?.size, table.length);
});

test("commit: addOrUpdate, edit, copy (by xetHash, from another bucket) and delete, in one call", async () => {
  const src = await newBucket(h, "csrc");
  const dst = await newBucket(h, "cdst");
  const common = { hubUrl: h.url, accessToken: ALICE.token };
  const original = textInput(300_000);
  const srcReport = await uploadFiles({ ...common, repo: `buckets/${src}`, files: [{ path: "shared.txt", content: original }] });
  await uploadFiles({
    ...common,
    repo: `buckets/${dst}`,
    files: [
      { path: "old.txt", content: enc("old") },
      { path: "keep.txt", content: enc("keep") },
    ],
  });
  // The edit leaves the first chunk alone: its dedup query finds the original's xorbs (global dedup).
  const edited = new Uint8Array([...original.subarray(0, 200_000), ...enc("EDIT"), ...original.subarray(201_000)]);
  const result = await commit({
    ...common,
    repo: `buckets/${dst}`,
    title: "ignored for buckets",
    operations: [
      { operation: "addOrUpdate", path: "new.txt", content: new Blob([enc("new")]) },
      {
        operation: "edit",
        path: "edited.txt",
        originalContent: new Blob([original.slice()]),
        edits: [{ start: 200_000, end: 201_000, content: new Blob([enc("EDIT")]) }],
      },
      { operation: "copy", path: "copied.txt", sourceXetHash: srcReport.perFile[0]!.xetHash, sourceRepo: `buckets/${src}` },
      { operation: "delete", path: "old.txt" },
    ],
  });
  assert.equal(result.files, 2);
  assert.equal(result.copied, 1);
  assert.equal(result.deleted, 1);
  assert.ok(result.dedupGlobalBytes > 150_000, `the edit reuses the original's chunks (${result.dedupGlobalBytes} bytes)`);
  assert.deepEqual((await listTree(h.url, dst)).map((e) => e.path).sort(), ["copied.txt", "edited.txt", "keep.txt", "new.txt"]);
  assert.ok(Buffer.from(await resolveBytes(h.url, dst, "edited.txt")).equals(Buffer.from(edited)));
  assert.ok(Buffer.from(await resolveBytes(h.url, dst, "copied.txt")).equals(Buffer.from(original)));
  assert.equal(result.perFile.find((f) => f.path === "edited.txt")!.xetHash, await xetHash(edited));
});

test("batchBucketFiles: Python-style add / copy / delete; more than 1000 operations go in requests of ≤ 1000", async (t) => {
  const bucket = await newBucket(h, "batch");
  const dir = mkdtempSync(join(tmpdir(), "xet-batch-"));
  t.after(async () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "x.bin"), seededBytes(100_000, 3));
  const add: [Uint8Array | string, string][] = [[join(dir, "x.bin"), "x.bin"]];
  for (let i = 0; i < 1100; i++) add.push([enc(`file number ${i}`), `many/${String(i).padStart(4, "0")}.txt`]);
  const batchesBefore = h.count("POST", `/api/buckets/${bucket}/batch`);
  const r1 = await batchBucketFiles(bucket, { add, hubUrl: h.url, accessToken: ALICE.token });
  assert.equal(r1.files, 1101);
  assert.equal(h.count("POST", `/api/buckets/${bucket}/batch`) - batchesBefore, 2, "1101 adds in 2 requests");
  assert.ok(r1.xorbs >= 1 && r1.xorbs <= 2, `small files share xorbs (${r1.xorbs})`);
  const xHash = r1.perFile[0]!.xetHash;
  const r2 = await batchBucketFiles(`hf://buckets/${bucket}`, {
    copy: [["bucket", bucket, xHash, "copy-of-x.bin"], { sourceRepo: { type: "bucket", name: bucket }, xetHash: xHash, path: "copy2.bin" }],
    delete: Array.from({ length: 1100 }, (_, i) => `many/${String(i).padStart(4, "0")}.txt`),
    hubUrl: h.url,
    accessToken: ALICE.token,
  });
  assert.equal(r2.copied, 2);
  assert.equal(r2.deleted, 1100);
  assert.equal(r2.xorbs, 0);
  assert.deepEqual((await listTree(h.url, bucket)).map((e) => e.path).sort(), ["copy-of-x.bin", "copy2.bin", "x.bin"]);
});

test("refused paths: BatchError listing them; with allowPartial the call resolves with `failed`", async () => {
  const bucket = await newBucket(h, "refused");
  const common = { hubUrl: h.url, accessToken: ALICE.token, repo: `buckets/${bucket}` };
  const unknown = "ab".repeat(32);
  const ops = [
    { operation: "addOrUpdate" as const, path: "ok.txt", content: enc("fine") },
    { operation: "copy" as const, path: "ghost.txt", sourceXetHash: unknown, sourceRepo: `buckets/${bucket}` },
  ];
  await assert.rejects(commit({ ...common, operations: ops }), (err: BatchError) => {
    assert.ok(err instanceof BatchError);
    assert.equal(err.code, "BATCH_FAILED");
    assert.deepEqual(
      err.failures.map((f) => f.path),
      ["ghost.txt"],
    );
    assert.match(err.message, /ghost\.txt/);
    return true;
  });
  assert.deepEqual(
    (await listTree(h.url, bucket)).map((e) => e.path),
    ["ok.txt"],
    "the other operations were applied",
  );
  const r = await commit({ ...common, operations: ops, allowPartial: true });
  assert.deepEqual(
    r.failed.map((f) => f.path),
    ["ghost.txt"],
  );
  assert.equal(r.copied, 0);
});

test("uploadFilesWithProgress: phases in order, per-file hashing → uploading, byte counters that end on the report", async () => {
  const bucket = await newBucket(h, "progress");
  const files = [
    { path: "a.bin", content: seededBytes(5 * MiB, 1) },
    { path: "b.bin", content: seededBytes(3 * MiB, 2) },
    { path: "a-copy.bin", content: seededBytes(5 * MiB, 1) },
  ];
  const events: UploadProgressEvent[] = [];
  const it = uploadFilesWithProgress({ repo: `buckets/${bucket}`, files, hubUrl: h.url, accessToken: ALICE.token, maxXorbBytes: MiB });
  let r = await it.next();
  while (!r.done) {
    events.push(r.value);
    r = await it.next();
  }
  const report = r.value;
  const phases = events.filter((e) => e.event === "phase").map((e) => (e as { phase: string }).phase);
  assert.deepEqual(phases, ["preuploading", "uploadingLargeFiles", "uploadingShards", "committing"]);
  for (const f of files) {
    const fe = events.filter((e) => e.event === "fileProgress" && e.path === f.path) as { state: string; progress: number }[];
    assert.ok(fe.length >= 2, f.path);
    assert.equal(fe[0]!.state, "hashing");
    assert.deepEqual(fe[fe.length - 1], {
      event: "fileProgress",
      path: f.path,
      progress: 1,
      state: "uploading",
      processed: f.content.length,
      size: f.content.length,
    });
    const hashing = fe.filter((e) => e.state === "hashing").map((e) => e.progress);
    assert.deepEqual(
      hashing,
      [...hashing].sort((a, b) => a - b),
      "progress never goes back",
    );
  }
  const bytes = events.filter((e) => e.event === "bytes") as BytesEvent[];
  assert.ok(bytes.length >= 3);
  for (let i = 1; i < bytes.length; i++) {
    for (const k of ["processed", "sent", "toSend", "newBytes", "dedupLocal", "dedupGlobal", "filesDone"] as const) {
      assert.ok(bytes[i]![k] >= bytes[i - 1]![k], `${k} is monotone`);
    }
  }
  const last = bytes[bytes.length - 1]!;
  assert.equal(last.total, 13 * MiB);
  assert.equal(last.processed, report.logicalBytes);
  assert.equal(last.sent, report.bytesSent);
  assert.equal(last.toSend, report.bytesSent);
  assert.equal(last.newBytes, report.newBytes);
  assert.equal(last.dedupLocal, report.dedupLocalBytes);
  assert.equal(last.filesDone, 3);
  assert.ok(report.dedupLocalBytes >= 5 * MiB - 262144, "the copy is deduplicated locally");
  // Sub-xorb progress: some `bytes` event shows a partly sent xorb (sent not a sum of whole xorbs).
  assert.ok(
    bytes.some((b) => b.sent > 0 && b.sent < b.toSend),
    "sent moves while xorbs are on the wire",
  );

  // commitIter yields the same kind of events and returns the result.
  const it2 = commitIter({
    repo: `buckets/${bucket}`,
    hubUrl: h.url,
    accessToken: ALICE.token,
    operations: [{ operation: "delete", path: "b.bin" }],
  });
  let n = await it2.next();
  while (!n.done) n = await it2.next();
  assert.equal(n.value.deleted, 1);
});
