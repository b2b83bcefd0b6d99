/**
 * Dedup against every server answer (the hub's `dedupAnswer`), uploads in fresh processes without a dedup
 * cache, so only the server's answers help: a 64 MiB "checkpoint" is uploaded, then
 *
 *   10 % changed   10 % of its bytes replaced in 4 regions   ≤ 11 % sent (hf_xet: 10.5–10.8 % on such data)
 *   identical      the same bytes under another path         ≤ 256 KiB sent (hf_xet: 0)
 *   inserted       4 KiB inserted 1 MiB from the start        ≤ 1 % sent (hf_xet: 0.1 %)
 *
 * when the hub answers a query with the chunk's xorb and the xorbs uploaded with it (`shard`) or with the
 * chunk's xorb only (`xorb`: what the protocol promises, where 40 MiB xorbs used to send 25–43 %); and about
 * everything when it answers nothing (`none`). "Sent" is what the hub received in xorb and shard bodies. The
 * files download byte-identical. bench/dedup.ts measures the same against hf_xet itself.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CHECKPOINT_INSERT, checkpointBlocks, MiB } from "../helpers/data.mjs";
import { sha256, tempDir, writeBlocks } from "../helpers/files.js";
import { ALICE, newBucket, resolveBytes, startTestHub } from "../helpers/hub.js";
import { uploadBodyBytes } from "../helpers/hub-state.js";
import { runChild } from "../helpers/processes.js";

const SIZE = 64 * MiB;

/** The original and its variants, written once for every policy. */
const { dir, cleanup } = await tempDir("xet-policies-");
after(cleanup);
const files = { v1: join(dir, "v1.bin"), changed: join(dir, "changed.bin"), inserted: join(dir, "inserted.bin") };
writeBlocks(files.v1, checkpointBlocks(SIZE, 500));
writeBlocks(files.changed, checkpointBlocks(SIZE, 500, "changed"));
writeBlocks(files.inserted, checkpointBlocks(SIZE, 500, "inserted"));

for (const policy of ["shard", "xorb", "none"] as const) {
  test(`dedup when the hub answers queries with "${policy}"`, async (t) => {
    const hub = await startTestHub({ dedupAnswer: policy });
    t.after(() => hub.close());
    const bucket = await newBucket(hub, policy);
    const base = {
      mode: "upload" as const,
      hubUrl: hub.url,
      accessToken: ALICE.token,
      repo: `buckets/${bucket}`,
      options: { cache: false },
    };
    await runChild({ ...base, files: [[files.v1, "v1.bin"]] });
    const sent: Record<string, number> = {};
    for (const [name, file, size] of [
      ["changed", files.changed, SIZE],
      ["identical", files.v1, SIZE],
      ["inserted", files.inserted, SIZE + CHECKPOINT_INSERT.bytes],
    ] as const) {
      const mark = hub.requests.length;
      await runChild({ ...base, files: [[file, `${name}.bin`]] });
      sent[name] = uploadBodyBytes(hub, mark) / size;
    }
    t.diagnostic(
      Object.entries(sent)
        .map(([k, v]) => `${k} ${(v * 100).toFixed(2)} %`)
        .join(", "),
    );
    if (policy === "none") {
      for (const [k, v] of Object.entries(sent)) assert.ok(v >= 0.999 && v <= 1.002, `${k}: ${v}`);
    } else {
      assert.ok(sent.changed! >= 0.099 && sent.changed! <= 0.11, `changed: ${sent.changed}`);
      assert.ok(sent.identical! * SIZE <= 256 * 1024, `identical: ${sent.identical! * SIZE} bytes`);
      assert.ok(sent.inserted! <= 0.01, `inserted: ${sent.inserted}`);
    }
    for (const [name, file] of [
      ["changed", files.changed],
      ["inserted", files.inserted],
    ] as const) {
      assert.equal(sha256(await resolveBytes(hub.url, bucket, `${name}.bin`)), sha256(readFileSync(file)), name);
    }
  });
}
