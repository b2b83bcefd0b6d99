/** xetHashFiles: file hashes computed on the chunking workers equal xetHash, for every kind of input. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { xetHash } from "../../src/index.js";
import { xetHashFiles } from "../../src/pool/hash.js";
import { fastRandom, textInput } from "../helpers/generators.js";

test("xetHashFiles on workers and on this thread equals xetHash (paths, file: URLs, bytes)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "xb-hashfiles-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const M = 1024 * 1024;
  const runs = fastRandom(9 * M + 5, 4);
  runs.fill(7, 2 * M + 3, 6 * M);
  const datas = [new Uint8Array(0), new Uint8Array([1]), fastRandom(8191, 1), fastRandom(13 * M + 7, 2), textInput(5 * M), new Uint8Array(3 * M), runs];
  const paths = datas.map((d, i) => {
    const p = join(dir, `f${i}`);
    writeFileSync(p, d);
    return p;
  });
  const expected = await Promise.all(datas.map((d) => xetHash(d)));
  for (const workers of [2, 0]) {
    for (const [kind, sources] of [
      ["paths", paths],
      ["file: URLs", paths.map((p) => pathToFileURL(p))],
      ["bytes", datas],
    ] as const) {
      const got = await xetHashFiles([...sources], { workers, segmentBytes: 1024 * 1024 });
      assert.deepEqual(
        got.map((g) => [g.xetHash, g.size]),
        expected.map((h, i) => [h, datas[i]!.length]),
        `${kind}, ${workers} workers`,
      );
    }
  }
});
