/**
 * What we upload, the official clients download byte-identical: huggingface_hub 2.4.0 + hf_xet 1.8.0
 * (`download_bucket_files`, through the CAS reconstruction and fetch URLs) and @huggingface/hub 2.17.5
 * (`downloadFile`, whose lazy Blob reads through the CAS). Files include the edge sizes, a file spanning
 * several xorbs and a file deduplicated against another (terms pointing into earlier xorbs).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { downloadFile as hubDownloadFile } from "@huggingface/hub";
import { uploadFiles } from "../../src/api/upload.js";
import { hasPythonClients, runPython } from "../helpers/clients.js";
import { seededBytes } from "../helpers/data.mjs";
import { sha256 } from "../helpers/files.js";
import { ALICE, newBucket, startTestHub } from "../helpers/hub.js";
import { splitmix64, textInput } from "../helpers/vectors.js";

const MiB = 1024 * 1024;

function testFiles(): { path: string; content: Uint8Array }[] {
  const big = seededBytes(5 * MiB, 3);
  const withBig = new Uint8Array(big.length + 300_000);
  withBig.set(seededBytes(300_000, 4));
  withBig.set(big, 300_000);
  return [
    { path: "empty.bin", content: new Uint8Array(0) },
    { path: "one.bin", content: new Uint8Array([0x61]) },
    { path: "edge/8191.bin", content: splitmix64(8191, 1) },
    { path: "edge/8192.bin", content: splitmix64(8192, 2) },
    { path: "edge/131073.bin", content: splitmix64(131073, 3) },
    { path: "text/lines.txt", content: textInput(700_000) },
    { path: "zeros.bin", content: new Uint8Array(3 * MiB + 17) },
    { path: "multi-xorb.bin", content: big },
    { path: "dedup/prefixed.bin", content: withBig },
  ];
}

test("huggingface_hub + hf_xet download what we upload, byte-identical", async (t) => {
  assert.ok(hasPythonClients(), "the Python venv is missing: run `node scripts/setup.mjs --python`");
  const hub = await startTestHub();
  const dir = mkdtempSync(join(tmpdir(), "xet-interop-py-"));
  t.after(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const bucket = await newBucket(hub, "py");
  const files = testFiles();
  const report = await uploadFiles({ repo: `buckets/${bucket}`, files, hubUrl: hub.url, accessToken: ALICE.token, maxXorbBytes: 2 * MiB });
  assert.ok(report.xorbs > 2, "several xorbs");
  assert.ok(report.dedupLocalBytes >= 5 * MiB - 2 * 131072, "the prefixed file reuses the earlier xorbs");

  const script = `
import json, sys
from huggingface_hub import download_bucket_files
pairs = json.loads(sys.argv[1])
download_bucket_files(sys.argv[2], [(remote, local) for remote, local in pairs], raise_on_missing_files=True)
print("ok")
`;
  const pairs = files.map((f, i) => [f.path, join(dir, `py-${i}`)]);
  const r = await runPython(hub.url, ALICE.token, ["-c", script, JSON.stringify(pairs), bucket], { timeoutMs: 180_000 });
  assert.equal(r.code, 0, r.stderr);
  files.forEach((f, i) => {
    const got = readFileSync(join(dir, `py-${i}`));
    assert.equal(got.length, f.content.length, f.path);
    assert.equal(sha256(got), sha256(f.content), f.path);
  });
});

test("@huggingface/hub downloadFile reads what we upload, byte-identical (whole and sliced)", async (t) => {
  const hub = await startTestHub();
  t.after(() => hub.close());
  const bucket = await newBucket(hub, "js");
  const files = testFiles();
  await uploadFiles({ repo: { type: "bucket", name: bucket }, files, hubUrl: hub.url, accessToken: ALICE.token, maxXorbBytes: 2 * MiB });
  for (const f of files) {
    const blob = await hubDownloadFile({ repo: { type: "bucket", name: bucket }, path: f.path, hubUrl: hub.url, accessToken: ALICE.token });
    assert.ok(blob, `${f.path} found`);
    assert.equal(blob.size, f.content.length, f.path);
    const whole = new Uint8Array(await blob.arrayBuffer());
    assert.equal(sha256(whole), sha256(f.content), f.path);
    if (f.content.length > 200_000) {
      const a = Math.floor(f.content.length / 3);
      const part = new Uint8Array(await blob.slice(a, a + 150_000).arrayBuffer());
      assert.equal(sha256(part), sha256(f.content.subarray(a, a + 150_000)), `${f.path} slice`);
    }
  }
});
