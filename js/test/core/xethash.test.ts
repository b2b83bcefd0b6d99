/** xetHash(source): every accepted source kind gives the vector's file hash; bad sources give typed errors. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Readable } from "node:stream";
import { xetHash, InvalidArgumentError, XetBucketsError } from "../../src/index.js";
import { readVectorJson, vectorInput } from "../helpers/vectors.js";

const vectors = readVectorJson<Record<string, any>>("vectors.json");

test("xetHash of bytes, ArrayBuffer, Blob, File, ReadableStream, async iterable, Node stream, path and file: URL", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "xethash-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of ["empty.bin", "one_byte.bin", "text_200KiB.txt", "splitmix_5MiB.bin", "zeros_1MiB.bin"]) {
    const v = vectors[name];
    const data = vectorInput(name, v.size);
    const path = join(dir, name);
    writeFileSync(path, data);
    const pieces = (function* () {
      for (let i = 0; i < data.length; i += 77_777) yield data.subarray(i, i + 77_777);
    })();
    const sources: [string, unknown][] = [
      ["Uint8Array", data],
      ["ArrayBuffer", data.slice().buffer],
      ["Blob", new Blob([data as Uint8Array<ArrayBuffer>])],
      ["File", new File([data as Uint8Array<ArrayBuffer>], name)],
      ["ReadableStream", new Blob([data as Uint8Array<ArrayBuffer>]).stream()],
      [
        "async iterable",
        (async function* () {
          yield* pieces;
        })(),
      ],
      ["Node Readable", Readable.from([Buffer.from(data)])],
      ["path", path],
      ["file: URL", pathToFileURL(path)],
    ];
    for (const [kind, src] of sources) {
      assert.equal(await xetHash(src as Uint8Array, { blockBytes: 1 << 20 }), v.xet_file_hash, `${name} as ${kind}`);
    }
  }
});

test("xetHash errors: missing file, unsupported source, non-file URL, abort", async () => {
  await assert.rejects(
    xetHash("/nonexistent/xet-buckets/file.bin"),
    (e: unknown) => e instanceof XetBucketsError && e.code === "FILE_NOT_FOUND",
  );
  await assert.rejects(xetHash(42 as unknown as Uint8Array), InvalidArgumentError);
  await assert.rejects(xetHash(new URL("https://example.com/x")), InvalidArgumentError);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(xetHash(new Uint8Array(10), { abortSignal: ac.signal }), { name: "AbortError" });
});
