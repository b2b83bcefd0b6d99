/**
 * Cross-check against the official implementation: `xet-buckets hash` (the built CLI, spawned) and
 * hf_xet 1.8.0 `hash_files` must give the same file hash for every file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seededBytes } from "../helpers/data.mjs";
import { ROOT } from "../helpers/files.js";
import { splitmix64, textInput } from "../helpers/vectors.js";

const PYTHON = join(ROOT, ".venv", "bin", "python");
const CLI = join(ROOT, "dist", "cli", "main.js");

test("xet-buckets hash agrees with hf_xet.hash_files on edge sizes, zeros, text and random sizes up to 64 MiB", (t) => {
  assert.ok(existsSync(PYTHON), "the Python venv is missing: run `node scripts/setup.mjs --python`");
  assert.ok(existsSync(CLI), "the CLI is not built: run `npm run build`");
  const dir = mkdtempSync(join(tmpdir(), "xet-crosscheck-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const files: [string, Uint8Array][] = [];
  // Files under 8,192 bytes are one chunk: the sizes around BLAKE3's 1 KiB chunks and 64-byte blocks reach
  // the WebAssembly chunk-hash kernel's edge cases (lanes left empty, the last block partial, the root).
  const sizes = [0, 1, 63, 64, 65, 1023, 1024, 1025, 2047, 2048, 3073, 4095, 4096, 4097, 5120, 7169];
  for (const n of [...sizes, 8127, 8128, 8191, 8192, 8193, 65536, 131071, 131072, 131073, 262144, 1_000_000]) {
    files.push([`random-${n}.bin`, splitmix64(n, n + 7)]);
  }
  files.push(["zeros-1MiB.bin", new Uint8Array(1 << 20)]);
  files.push(["zeros-3MiB-plus-1.bin", new Uint8Array(3 * (1 << 20) + 1)]);
  files.push(["text-200KiB.txt", textInput(204800)]);
  files.push(["text-5MiB.txt", textInput(5 << 20)]);
  // Random sizes up to 64 MiB, from a fixed seed so a failure reproduces.
  let seed = 20261127;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 6; i++) {
    const n = i === 0 ? 64 << 20 : Math.floor(rand() * (i < 3 ? 1 << 20 : 64 << 20));
    files.push([`sized-${i}-${n}.bin`, seededBytes(n, i + 1)]);
  }
  // A file mixing structure and noise: repeated blocks with random islands.
  const mixed = new Uint8Array(12 << 20);
  for (let off = 0; off < mixed.length; off += 1 << 20)
    mixed.set(off % (3 << 20) === 0 ? seededBytes(1 << 20, off) : textInput(1 << 20), off);
  files.push(["mixed-12MiB.bin", mixed]);

  const paths = files.map(([name, data]) => {
    const p = join(dir, name);
    writeFileSync(p, data);
    return p;
  });

  const ours = spawnSync(process.execPath, [CLI, "hash", ...paths], { encoding: "utf8", maxBuffer: 1 << 24 });
  assert.equal(ours.status, 0, ours.stderr);
  const oursByPath = new Map(
    ours.stdout
      .trim()
      .split("\n")
      .map((line) => {
        const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
        assert.ok(m, `unexpected output line: ${line}`);
        return [m[2]!, m[1]!] as const;
      }),
  );

  const py = spawnSync(
    PYTHON,
    ["-c", "import sys, json, hf_xet\nprint(json.dumps([[r.hash, r.file_size] for r in hf_xet.hash_files(sys.argv[1:])]))", ...paths],
    { encoding: "utf8", maxBuffer: 1 << 24 },
  );
  assert.equal(py.status, 0, py.stderr);
  const theirs = JSON.parse(py.stdout) as [string, number][];
  assert.equal(theirs.length, paths.length);
  paths.forEach((p, i) => {
    assert.equal(theirs[i]![1], files[i]![1].length, `hf_xet size of ${p}`);
    assert.equal(oursByPath.get(p), theirs[i]![0], `hash of ${files[i]![0]} (${files[i]![1].length} bytes)`);
  });
});

test("xet-buckets hash: stdin, --json, a missing file gives exit code 1, no argument gives a usage error (2)", () => {
  const data = textInput(300_000);
  const stdin = spawnSync(process.execPath, [CLI, "hash", "-"], { input: data, encoding: "utf8" });
  assert.equal(stdin.status, 0, stdin.stderr);
  assert.match(stdin.stdout, /^[0-9a-f]{64} {2}-\n$/);

  const json = spawnSync(process.execPath, [CLI, "hash", "--json", "-"], { input: data, encoding: "utf8" });
  const obj = JSON.parse(json.stdout);
  assert.equal(obj.size, data.length);
  assert.equal(obj.xetHash, stdin.stdout.slice(0, 64));

  const missing = spawnSync(process.execPath, [CLI, "hash", "/nonexistent/definitely-not-here"], { encoding: "utf8" });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no such file/);

  const usage = spawnSync(process.execPath, [CLI, "hash"], { encoding: "utf8" });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /Usage: xet-buckets hash/);

  const unknown = spawnSync(process.execPath, [CLI, "frobnicate"], { encoding: "utf8" });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
});
