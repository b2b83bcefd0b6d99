/**
 * Interoperability of downloads, against the real local hub: what the official clients upload —
 * hf_xet through huggingface_hub's `batch_bucket_files` (Python), and @huggingface/hub's `uploadFiles`
 * (JavaScript, legacy chunker) — this package downloads byte-identical, its verification agreeing with
 * their file hashes. Also the other way for downloads: what this package uploads, huggingface_hub's
 * `download_bucket_files` and @huggingface/hub's `downloadFile` read back byte-identical.
 */
import assert from "node:assert/strict";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { uploadFiles as hubUploadFiles, downloadFile as hubDownloadFile } from "@huggingface/hub";
import { createBucket } from "../../src/api/buckets.js";
import { downloadBucketFiles, downloadFile } from "../../src/api/download.js";
import { listFiles } from "../../src/api/files.js";
import { hasPythonClients, runPython } from "../helpers/clients.js";
import { seededBytes } from "../helpers/data.mjs";
import { assertBytesEqual, assertFileEquals, tempDir } from "../helpers/files.js";
import { seed, startTestHub, type TestHub, type Who } from "../helpers/hub.js";

const MiB = 1024 * 1024;
let hub: TestHub;
let alice: Who;
let tmp: { dir: string; cleanup: () => Promise<void> };

const CASES: Record<string, Uint8Array> = {
  "empty.bin": new Uint8Array(0),
  "one.bin": new Uint8Array([0x61]),
  "c131073.bin": seededBytes(131073, 5),
  "dir/five-mib.bin": (() => {
    const b = seededBytes(5 * MiB, 6);
    b.fill(1, MiB, 2 * MiB); // compressible region
    return b;
  })(),
  "text.txt": new TextEncoder().encode("line of text\n".repeat(20000)),
};

before(async () => {
  hub = await startTestHub();
  alice = { hubUrl: hub.url, accessToken: hub.users.alice.token };
  tmp = await tempDir();
});
after(async () => {
  await hub.close();
  await tmp.cleanup();
});

async function downloadAllAndCompare(bucket: string, prefix: string): Promise<void> {
  const entries = [];
  for await (const e of listFiles({ repo: `buckets/${bucket}`, recursive: true, ...alice })) entries.push(e);
  assert.equal(entries.length, Object.keys(CASES).length);
  const dest = join(tmp.dir, prefix);
  const r = await downloadBucketFiles(
    bucket,
    entries.map((e) => [e, join(dest, e.path)]),
    alice,
  );
  assert.equal(r.downloaded.length, entries.length);
  for (const [path, bytes] of Object.entries(CASES)) {
    await assertFileEquals(join(dest, path), bytes);
    const blob = await downloadFile({ repo: `buckets/${bucket}`, path, ...alice });
    assertBytesEqual(new Uint8Array(await blob!.arrayBuffer()), bytes, `${prefix} blob ${path}`);
  }
}

describe(
  "official uploads, downloaded by xet-buckets",
  { skip: !hasPythonClients() && "no .venv: node scripts/setup.mjs --python" },
  () => {
    it("hf_xet (huggingface_hub batch_bucket_files) → downloadBucketFiles and downloadFile, byte-identical", async () => {
      const src = join(tmp.dir, "py-src");
      for (const [path, bytes] of Object.entries(CASES)) {
        await mkdir(join(src, path, ".."), { recursive: true });
        await writeFile(join(src, path), bytes);
      }
      const script = `
import sys
from huggingface_hub import HfApi
api = HfApi()
api.create_bucket("alice/from-python", exist_ok=True)
src = sys.argv[1]
paths = ${JSON.stringify(Object.keys(CASES))}
api.batch_bucket_files("alice/from-python", add=[(src + "/" + p, p) for p in paths])
print("ok")
`;
      const r = await runPython(hub.url, hub.users.alice.token, ["-c", script, src], { timeoutMs: 300_000 });
      assert.equal(r.code, 0, r.stderr);
      await downloadAllAndCompare("alice/from-python", "py");
    });
  },
);

describe("official uploads, downloaded by xet-buckets (JavaScript)", () => {
  it("@huggingface/hub uploadFiles → downloadBucketFiles and downloadFile, byte-identical", async () => {
    await createBucket("alice/from-hubjs", alice);
    await hubUploadFiles({
      repo: { type: "bucket", name: "alice/from-hubjs" },
      files: Object.entries(CASES).map(([path, bytes]) => ({ path, content: new Blob([bytes as Uint8Array<ArrayBuffer>]) })),
      accessToken: alice.accessToken,
      hubUrl: hub.url,
    });
    await downloadAllAndCompare("alice/from-hubjs", "hubjs");
  });
});

describe("xet-buckets uploads, downloaded by the official clients", () => {
  before(() => seed(alice, "alice/from-us", CASES));

  it("@huggingface/hub downloadFile reads them byte-identical", async () => {
    for (const [path, bytes] of Object.entries(CASES)) {
      const blob = await hubDownloadFile({
        repo: { type: "bucket", name: "alice/from-us" },
        path,
        accessToken: alice.accessToken,
        hubUrl: hub.url,
      });
      assert.ok(blob, path);
      assertBytesEqual(new Uint8Array(await blob.arrayBuffer()), bytes, `hub.js ${path}`);
    }
  });

  it("huggingface_hub download_bucket_files reads them byte-identical", { skip: !hasPythonClients() && "no .venv" }, async () => {
    const dest = join(tmp.dir, "py-dst");
    const script = `
import sys
from huggingface_hub import HfApi
paths = ${JSON.stringify(Object.keys(CASES))}
HfApi().download_bucket_files("alice/from-us", [(p, sys.argv[1] + "/" + p) for p in paths], raise_on_missing_files=True)
print("ok")
`;
    const r = await runPython(hub.url, hub.users.alice.token, ["-c", script, dest], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr);
    for (const [path, bytes] of Object.entries(CASES))
      assertBytesEqual(new Uint8Array(await readFile(join(dest, path))), bytes, `python ${path}`);
  });
});
