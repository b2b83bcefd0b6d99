/**
 * The README's usage snippets (`<!-- usage-snippet: NAME -->`) run as written, in order, against a local
 * hub, importing the built package by its name; their output is checked where it states a fact.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers/files.js";
import { startTestHub } from "../helpers/hub.js";
import { runProcess } from "../helpers/processes.js";

async function snippet(name: string): Promise<string> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const marker = `<!-- usage-snippet: ${name} -->`;
  const at = readme.indexOf(marker);
  assert.ok(at >= 0, `README.md has no ${marker}`);
  const m = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, `no js block after ${marker}`);
  return m[1]!;
}

test("README usage snippets run as written against a local hub", async (t) => {
  const hub = await startTestHub();
  t.after(() => hub.close());
  // Scripts live inside the package so that `import "xet-buckets"` resolves to it (self-reference).
  const scripts = join(ROOT, "test-artifacts", `readme-${process.pid}`);
  await mkdir(scripts, { recursive: true });
  const cwd = await mkdtemp(join(tmpdir(), "xet-readme-"));
  t.after(async () => {
    await rm(scripts, { recursive: true, force: true });
    await rm(cwd, { recursive: true, force: true });
  });
  const env = { ...process.env, HF_ENDPOINT: hub.url, HF_TOKEN: hub.users.alice.token } as Record<string, string>;
  const outputs: Record<string, string> = {};
  for (const name of ["upload", "download", "in-place", "manage", "sync", "fs", "hash", "repos", "live", "watch"]) {
    const file = join(scripts, `${name}.mjs`);
    await writeFile(file, await snippet(name));
    const r = await runProcess(process.execPath, [file], { env, cwd, timeoutMs: 120_000 });
    assert.equal(r.code, 0, `snippet ${name} failed:\n${r.stderr}\n${r.stdout}`);
    outputs[name] = r.stdout;
  }

  const sent1 = Number(/step 1: sent (\d+) of (\d+)/.exec(outputs.upload!)![1]);
  const lastBytes = outputs.upload!.trim().split("\n").pop()!;
  const sent2 = Number(/sent (\d+)$/.exec(lastBytes)![1]);
  assert.ok(sent1 > 7 << 20, `step 1 sends everything (${sent1})`);
  assert.ok(sent2 < sent1 / 4, `step 2 sends only what changed (${sent2} vs ${sent1})`);
  assert.equal(await readFile(join(cwd, "restored", "config.json"), "utf8"), '{"layers": 12}');
  const [, ids, fetched, size] = /read (\d+) ids: fetched (\d+) of (\d+) bytes/.exec(outputs["in-place"]!)!.map(Number);
  assert.equal(ids, 40_000);
  assert.ok(fetched! > 0 && fetched! < 0.15 * size!, `the column read fetched ${fetched} of ${size} bytes`);
  assert.match(outputs.sync!, /"type": "header"/);
  assert.match(outputs.sync!, /uploads: 0, downloads: 0, deletes: 0, skips: 1/);
  assert.match(outputs.fs!, /buckets\/alice\/checkpoints\/step-1\/model\.bin/);
  assert.match(outputs.fs!, /16 step 1 loss 2\.31/);
  // A promotion within one store sends no chunk: only a shard naming the file, then the commit.
  assert.match(outputs.repos!, /^commit [0-9a-f]{40}: sent 0 bytes of 8388608$/m);
  assert.match(outputs.live!, /^add step-3\/model\.bin 1024$/m);
  assert.match(outputs.live!, /buckets\/alice\/checkpoints\/step-3\/model\.bin/);
  assert.equal(outputs.watch!.trim(), "upload ckpt.bin 3000000", "the checkpoint was uploaded once, whole");
  assert.deepEqual(outputs.hash!.trim().split("\n"), [
    "49a7fffaf5f34109d4a191757f3e541e26437dcd1e0e83153454a503757856be",
    "49a7fffaf5f34109d4a191757f3e541e26437dcd1e0e83153454a503757856be 1 1",
  ]);
});
