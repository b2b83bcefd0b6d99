/**
 * Bundle size of each entry point, as a browser or edge app ships it: the entry bundled by esbuild for the
 * browser (minified, tree-shaken, everything the entry exports kept), gzipped at level 9, plus the one
 * `.wasm` file it loads (also gzipped: servers and CDNs compress it). The `browser` row is an upload page:
 * the page helper (`xet-buckets/browser`) plus its worker (`xet-buckets/browser/upload-worker`) plus the
 * `.wasm`. Budgets (gzipped JS + WASM) are checked by js/test/browser/bundle-size.test.ts.
 *
 *   npx tsx bench/bundle-size.ts
 */
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import { ROOT, table, writeSection } from "./lib/report.js";

export interface EntrySize {
  name: string;
  /** Import specifiers bundled together for this row. */
  specifiers: string[];
  jsBytes: number;
  jsGzip: number;
  wasmBytes: number;
  wasmGzip: number;
  /** Budget for jsGzip + wasmGzip, bytes. */
  budget: number;
}

/**
 * Budgets in gzipped bytes (JS + WASM), with room for growth but far below the edge limits users hit (1 MB
 * on Vercel's smallest plan, huggingface.js#1742's 99 KB chunk-and-hash reference for the WASM alone).
 */
export const BUDGETS: Record<string, number> = {
  // + 4 KiB for issue 14 (≈ 2.5 KiB gzipped: stall detection, refetching damaged data, per-file isolation).
  // + 3 KiB for issue 12 (the .wasm: compression "auto"'s predictor, the page-aligned input buffer, in-place
  // hashing and decoding; ≈ 1.3 KiB gzipped).
  // Every entry: + 3.5 KiB for issue 12 (the .wasm: the dedup cache's upload entries built in the core,
  // `uploadCacheEntries`, ≈ 3.4 KiB gzipped; in JavaScript they cost 70-90 ms at the end of a 640 MiB upload).
  "xet-buckets": 170.5 * 1024,
  // The core's .wasm (one module for every entry, ≈ 97 KiB gzipped) is most of it.
  "xet-buckets/hash": 105.5 * 1024,
  "xet-buckets/download": 133.5 * 1024,
  // + 4 KiB for issue 14 (≈ 2 KiB gzipped: the upload side of the above); + 2 KiB for issue 18 (the chunking
  // workers read Blob ranges themselves and xorb bodies are Blobs of pieces); + 1 KiB for issue 18 (the .wasm:
  // the XorbVerifier the hub checks xorbs with as they arrive, ≈ 0.9 KiB gzipped).
  browser: 140.5 * 1024,
};

const ENTRIES: { name: string; specifiers: string[] }[] = [
  { name: "xet-buckets", specifiers: ["xet-buckets"] },
  { name: "xet-buckets/hash", specifiers: ["xet-buckets/hash"] },
  { name: "xet-buckets/download", specifiers: ["xet-buckets/download"] },
  { name: "browser", specifiers: ["xet-buckets/browser", "xet-buckets/browser/upload-worker"] },
];

const gz = (b: Uint8Array | string) => gzipSync(b, { level: 9 }).length;

/**
 * Bundles each entry for the browser from a directory whose node_modules/xet-buckets is this package (dist/
 * must be built). Throws when a bundle fails, e.g. when an entry reaches a Node module.
 */
export async function measureEntries(): Promise<EntrySize[]> {
  const wasm = readFileSync(join(ROOT, "dist", "core", "wasm", "xet_core_bg.wasm"));
  const dir = await mkdtemp(join(tmpdir(), "xet-bundle-size-"));
  try {
    await mkdir(join(dir, "node_modules"));
    await symlink(ROOT, join(dir, "node_modules", "xet-buckets"));
    const out: EntrySize[] = [];
    for (const e of ENTRIES) {
      let jsBytes = 0;
      let jsGzip = 0;
      // Page and worker are separate scripts (the browser loads both): bundled and counted separately.
      for (const spec of e.specifiers) {
        const res = await esbuild.build({
          // A library entry keeps everything it exports; the worker script is run for its effects.
          stdin: {
            contents: spec.endsWith("upload-worker") ? `import ${JSON.stringify(spec)};` : `export * from ${JSON.stringify(spec)};`,
            resolveDir: dir,
            loader: "js",
          },
          bundle: true,
          write: false,
          format: "esm",
          platform: "browser",
          target: "es2022",
          minify: true,
          treeShaking: true,
          logLevel: "silent",
        });
        const js = res.outputFiles[0]!.contents;
        jsBytes += js.length;
        jsGzip += gz(js);
      }
      out.push({
        name: e.name,
        specifiers: e.specifiers,
        jsBytes,
        jsGzip,
        wasmBytes: wasm.length,
        wasmGzip: gz(wasm),
        budget: BUDGETS[e.name]!,
      });
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sizes = await measureEntries();
  const rows = sizes.map((s) => [
    `\`${s.specifiers.join("` + `")}\``,
    kib(s.jsBytes),
    kib(s.jsGzip),
    kib(s.wasmGzip),
    `**${kib(s.jsGzip + s.wasmGzip)}**`,
    kib(s.budget),
  ]);
  const wasm = sizes[0]!;
  const body = `Each entry point bundled for the browser by esbuild (\`platform: "browser"\`, minified, tree-shaken,
everything the entry exports kept), gzip level 9, plus the one \`.wasm\` file it loads
(${kib(wasm.wasmBytes)}, ${kib(wasm.wasmGzip)} gzipped; the same file for every entry, never inlined).
The browser row is an upload page: the page helper and its Web Worker. Budgets are enforced by
\`js/test/browser/bundle-size.test.ts\`.

${table(["Entry point", "JS (min)", "JS (gzip)", "WASM (gzip)", "Total (gzip)", "Budget"], rows)}
`;
  writeSection("bundle-size", "Bundle size per entry point", "npx tsx bench/bundle-size.ts", body);
  for (const s of sizes) console.log(`${s.name}: JS ${kib(s.jsGzip)} + WASM ${kib(s.wasmGzip)} gzipped = ${kib(s.jsGzip + s.wasmGzip)}`);
}
