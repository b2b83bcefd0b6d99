/**
 * Round trips against the local hub over real HTTP: what `uploadFiles` sends, the hub serves back
 * byte-identical (decoded server-side from the stored xorbs) and our `downloadFile` reads back identical;
 * the registered `xetHash` equals the content's Xet hash computed locally.
 *
 * Sizes: 0, 1, 8191, 8192 (chunk minimum), 131071, 131073 (around the chunk maximum), 5 MiB, and 200 MiB
 * streamed from a local file. Small limits (xorbs, chunks per xorb, shard size) exercise xorb cuts and
 * shard splits on small data.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { uploadFiles } from "../../src/api/upload.js";
import { downloadFile } from "../../src/api/download.js";
import { xetHash } from "../../src/hash.js";
import { ALICE, listTree, newBucket, resolveBytes, resolveSha256, startTestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";
import { splitmix64, textInput } from "../helpers/vectors.js";

const MiB = 1024 * 1024;

test("round trips of 0, 1, 8191, 8192, 131071, 131073 bytes and 5 MiB: bytes equal, hashes equal", async (t) => {
  const hub = await startTestHub();
  t.after(() => hub.close());
  const bucket = await newBucket(hub, "rt");
  const sizes = [0, 1, 8191, 8192, 131071, 131073, 5 * MiB];
  const files = sizes.map((n, i) => ({ path: `sizes/file-${n}.bin`, content: splitmix64(n, 100 + i) }));
  const report = await uploadFiles({ repo: `buckets/${bucket}`, files, hubUrl: hub.url, accessToken: ALICE.token });

  assert.equal(report.files, sizes.length);
  assert.equal(
    report.logicalBytes,
    sizes.reduce((a, b) => a + b, 0),
  );
  assert.equal(report.newBytes + report.dedupLocalBytes + report.dedupGlobalBytes, report.logicalBytes);
  assert.ok(report.bytesSent > 0 && report.xorbs >= 1 && report.shards >= 1);
  const listed = new Map((await listTree(hub.url, bucket)).map((e) => [e.path, e]));
  for (const f of files) {
    const expectedHash = await xetHash(f.content);
    const per = report.perFile.find((p) => p.path === f.path)!;
    assert.equal(per.xetHash, expectedHash, f.path);
    assert.equal(per.size, f.content.length);
    assert.equal(listed.get(f.path)?.xetHash, expectedHash, `listing of ${f.path}`);
    assert.equal(listed.get(f.path)?.size, f.content.length);
    const served = await resolveBytes(hub.url, bucket, f.path);
    assert.ok(Buffer.from(served).equals(Buffer.from(f.content)), `hub bytes of ${f.path}`);
    const blob = await downloadFile({ repo: `buckets/${bucket}`, path: f.path, hubUrl: hub.url, accessToken: ALICE.token });
    assert.ok(blob, `downloadFile(${f.path})`);
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(Buffer.from(f.content)), `downloadFile bytes of ${f.path}`);
  }
  // One registration request for all files.
  assert.equal(hub.count("POST", `/api/buckets/${bucket}/batch`), 1);
});

test("round trip of 200 MiB streamed from a local file", async (t) => {
  const hub = await startTestHub();
  const dir = mkdtempSync(join(tmpdir(), "xet-rt-"));
  t.after(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const bucket = await newBucket(hub, "rt200");
  const file = join(dir, "big.bin");
  const sha = createHash("sha256");
  const fd = openSync(file, "w");
  for (let i = 0; i < 25; i++) {
    const block = seededBytes(8 * MiB, 1000 + i);
    sha.update(block);
    writeSync(fd, block);
  }
  closeSync(fd);
  const expected = sha.digest("hex");

  const report = await uploadFiles({
    repo: `buckets/${bucket}`,
    files: [{ path: "big.bin", content: file }],
    hubUrl: hub.url,
    accessToken: ALICE.token,
  });
  assert.equal(report.logicalBytes, 200 * MiB);
  assert.equal(report.newBytes, 200 * MiB, "random data has no duplicates");
  assert.ok(report.xorbs >= 4, `200 MiB of random data needs at least 4 xorbs of 64 MiB, got ${report.xorbs}`);
  assert.equal(report.perFile[0]!.xetHash, await xetHash(file));
  const served = await resolveSha256(hub.url, bucket, "big.bin");
  assert.equal(served.size, 200 * MiB);
  assert.equal(served.sha256, expected);
  const blob = await downloadFile({ repo: `buckets/${bucket}`, path: "big.bin", hubUrl: hub.url, accessToken: ALICE.token });
  assert.ok(blob);
  const h = createHash("sha256");
  for (let off = 0; off < blob.size; off += 32 * MiB) h.update(new Uint8Array(await blob.slice(off, off + 32 * MiB).arrayBuffer()));
  assert.equal(h.digest("hex"), expected, "downloadFile bytes");
});

test("small limits: many xorbs and several shards in one call, every file intact", async (t) => {
  const hub = await startTestHub();
  t.after(() => hub.close());
  const bucket = await newBucket(hub, "rtsmall");
  const files = Array.from({ length: 16 }, (_, i) => ({
    path: `many/f${String(i).padStart(2, "0")}.${i % 2 ? "txt" : "bin"}`,
    content: i % 2 ? textInput(100_000 + i * 7919) : seededBytes(300_000 + i * 4099, i + 1),
  }));
  const report = await uploadFiles({
    repo: `buckets/${bucket}`,
    files,
    hubUrl: hub.url,
    accessToken: ALICE.token,
    maxXorbBytes: 256 * 1024,
    maxXorbChunks: 4,
    maxShardBytes: 4096,
    readBlockBytes: 64 * 1024,
  });
  assert.ok(report.xorbs > 10, `expected many xorbs, got ${report.xorbs}`);
  assert.ok(report.shards > 1, `expected several shards, got ${report.shards}`);
  assert.equal(hub.count("POST", "/v1/xorbs/"), report.xorbs);
  for (const f of files) {
    const served = await resolveBytes(hub.url, bucket, f.path);
    assert.ok(Buffer.from(served).equals(Buffer.from(f.content)), f.path);
  }
});

test("every source kind: Uint8Array, Blob, File, ReadableStream, async iterable, local path, file: URL, folder, http URL", async (t) => {
  const hub = await startTestHub();
  const dir = mkdtempSync(join(tmpdir(), "xet-src-"));
  t.after(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const bucket = await newBucket(hub, "src");
  const data = (i: number) => splitmix64(50_000 + i * 1000, 7 + i);
  writeFileSync(join(dir, "local.bin"), data(5));
  writeFileSync(join(dir, "url.bin"), data(6));
  const folder = join(dir, "folder");
  rmSync(folder, { recursive: true, force: true });
  (await import("node:fs")).mkdirSync(join(folder, "sub"), { recursive: true });
  writeFileSync(join(folder, "a.bin"), data(7));
  writeFileSync(join(folder, "sub", "b.bin"), data(8));
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      const d = data(3);
      for (let off = 0; off < d.length; off += 7000) c.enqueue(d.slice(off, off + 7000));
      c.close();
    },
  });
  const web = http.createServer((req, res) => {
    const d = data(9);
    res.writeHead(200, { "Content-Length": d.length });
    res.end(d);
  });
  await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => web.close(() => r())));
  const webUrl = new URL(`http://127.0.0.1:${(web.address() as AddressInfo).port}/remote/web.bin?x=1`);
  async function* iter() {
    const d = data(4);
    yield d.subarray(0, 10);
    yield d.subarray(10);
  }
  await uploadFiles({
    repo: `hf://buckets/${bucket}/root`,
    hubUrl: hub.url,
    accessToken: ALICE.token,
    files: [
      { path: "bytes.bin", content: data(0) },
      { path: "blob.bin", content: new Blob([data(1).slice()]) },
      new File([data(2).slice()], "file.bin"),
      { path: "stream.bin", content: stream },
      { path: "iter.bin", content: iter() },
      { path: "local.bin", content: join(dir, "local.bin") },
      new URL(`file://${join(dir, "url.bin")}`),
      { path: "tree", content: new URL(`file://${folder}`) },
      webUrl,
    ],
  });
  const expected: [string, Uint8Array][] = [
    ["root/bytes.bin", data(0)],
    ["root/blob.bin", data(1)],
    ["root/file.bin", data(2)],
    ["root/stream.bin", data(3)],
    ["root/iter.bin", data(4)],
    ["root/local.bin", data(5)],
    ["root/url.bin", data(6)],
    ["root/tree/a.bin", data(7)],
    ["root/tree/sub/b.bin", data(8)],
    ["root/web.bin", data(9)],
  ];
  const listed = (await listTree(hub.url, bucket)).map((e) => e.path).sort();
  assert.deepEqual(listed, expected.map(([p]) => p).sort());
  for (const [p, d] of expected) assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, p)).equals(Buffer.from(d)), p);
});
