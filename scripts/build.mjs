#!/usr/bin/env node
// npm run build: the Rust core to WebAssembly (release, SIMD), its wasm-bindgen glue, then the TypeScript
// (ES modules + .d.ts, one file per module, tree-shakeable) and CommonJS bundles of the client entry points.
// Installs what the build needs first (see scripts/setup.mjs).
//
// dist/ layout (package.json "exports" maps onto it):
//   index.js, entries/{hash,download}.js     ESM, one file per module (tsc): Node, Deno, Bun; all the .d.ts
//   web/*.js                                 ESM for browsers, workers and edge runtimes: the same entry points
//                                            bundled with shared chunks and without any Node-only module, so
//                                            no bundler meets `node:fs` (see buildWeb)
//   web/workerd*.js                          the `workerd` condition: core initialised from the imported .wasm
//   web/browser.js, web/upload-worker.js     page helper + module Web Worker for uploads
//   core/wasm/xet_core_bg.wasm               the one WebAssembly file (never inlined as base64)
//   cjs/index.cjs, cjs/entries/*.cjs         CommonJS bundles (`require`), with .d.cts types beside them
//   cli/                                     the `xet-buckets` command, Node only (ESM)
//   server/                                  the local hub (js/server, its own tsconfig, built after the client
//                                            against dist/*.d.ts; packed as xet-buckets-hub, see scripts/pack.mjs)
//
//   node scripts/build.mjs            everything
//   node scripts/build.mjs --wasm     only the WebAssembly module and its glue
//   node scripts/build.mjs --ts       only the TypeScript (the module must have been built)
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT, run, setup } from "./setup.mjs";

export const WASM_OUT = join(ROOT, "js", "src", "core", "wasm");
const DIST = join(ROOT, "dist");

export function buildWasm() {
  run("cargo", ["build", "--release", "--lib", "--target", "wasm32-unknown-unknown", "--features", "wasm"]);
  const input = join(ROOT, "target", "wasm32-unknown-unknown", "release", "xet_core.wasm");
  rmSync(WASM_OUT, { recursive: true, force: true });
  mkdirSync(WASM_OUT, { recursive: true });
  // --target web: one ES module whose init accepts a URL, a Response, bytes or a compiled WebAssembly.Module,
  // so the same glue serves Node (bytes read from disk), browsers (URL), workers and edge runtimes (Module).
  run("wasm-bindgen", ["--target", "web", "--out-dir", WASM_OUT, "--out-name", "xet_core", input]);
}

export function buildTs() {
  if (!existsSync(join(WASM_OUT, "xet_core_bg.wasm"))) {
    throw new Error("the WebAssembly module is missing: run `npm run build` (without --ts) first");
  }
  rmSync(DIST, { recursive: true, force: true });
  run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.json")]);
  const wasmDist = join(DIST, "core", "wasm");
  mkdirSync(wasmDist, { recursive: true });
  for (const f of readdirSync(WASM_OUT)) cpSync(join(WASM_OUT, f), join(wasmDist, f));
  const cli = join(DIST, "cli", "main.js");
  if (existsSync(cli)) chmodSync(cli, 0o755);
  buildCjs();
  // esbuild plugins need its async API: the web build runs in a child process, so buildTs stays synchronous.
  run(process.execPath, [fileURLToPath(import.meta.url), "--web"]);
  buildHub();
}

/**
 * The local hub (js/server/src → dist/server/), with its own tsconfig and after the client: it imports the client
 * as the package `xet-buckets` (Node's self-reference resolves that to dist/ here), so it is type-checked against
 * the client's published declarations and is no part of the client's tsc program.
 */
export function buildHub() {
  run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "js", "server", "tsconfig.json")]);
  chmodSync(join(DIST, "server", "bin.js"), 0o755);
}

function loadEsbuild() {
  return createRequire(import.meta.url)(join(ROOT, "node_modules", "esbuild"));
}

/** Entry points of the web build (dist/web/NAME.js ← dist/SOURCE). */
export const WEB_ENTRIES = {
  index: "index.js",
  hash: "entries/hash.js",
  download: "entries/download.js",
  browser: "browser/index.js",
  "upload-worker": "browser/upload-worker.js",
  workerd: "entries/workerd.js",
  "workerd-hash": "entries/workerd-hash.js",
  "workerd-download": "entries/workerd-download.js",
};

/**
 * The web build (dist/web/): the entry points for the `browser`, `worker`, `workerd` and `edge-light`
 * conditions, bundled by esbuild with code splitting (shared chunks, so two entry points used together share
 * one core), unminified (the user's bundler minifies).
 *
 * What differs from the tsc output: the Node-only modules (dist/node/*, reached through dynamic imports for
 * local paths) and `node:*` built-ins are replaced by a module that throws when loaded. Browser bundlers
 * then never meet `node:fs` (webpack refuses the `node:` scheme, esbuild's browser platform cannot resolve
 * it), and Workers without `nodejs_compat` can load the script. Paths are refused earlier anyway, with a clear
 * message, outside Node, Deno and Bun.
 *
 * The `.wasm` stays one file in dist/core/wasm/: the glue's default `new URL("xet_core_bg.wasm",
 * import.meta.url)` is pointed there (bundlers such as Vite and webpack follow that pattern and copy the
 * file), and the `workerd` entries keep their `import wasm from "…/xet_core_bg.wasm"` for the Workers bundler.
 */
export async function buildWeb() {
  const esbuild = loadEsbuild();
  const out = join(DIST, "web");
  rmSync(out, { recursive: true, force: true });
  const wasmFromWeb = "../core/wasm/xet_core_bg.wasm";
  const nodeOnly = {
    name: "node-only",
    setup(b) {
      b.onResolve({ filter: /^node:|^(?:\.\.?\/)+node\/[a-z-]+\.js$/ }, (args) => ({ path: args.path, namespace: "node-only" }));
      b.onLoad({ filter: /.*/, namespace: "node-only" }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.path} is only available in Node, Deno and Bun (xet-buckets' web build has no Node modules): pass Blobs, bytes or streams instead of local paths`)});`,
        loader: "js",
      }));
      b.onResolve({ filter: /\.wasm$/ }, () => ({ path: wasmFromWeb, external: true }));
      // Every output file sits in dist/web/ (flat chunk names), so one relative path reaches the .wasm. The
      // `new URL("…", import.meta.url)` form stays (bundlers copy the file it names; webpack fails when that
      // file is missing), and webpack is told to leave the core's Node-only dynamic import alone.
      const rewrite = (file, pairs) => {
        let text = readFileSync(file, "utf8");
        for (const [from, to] of pairs) {
          if (text.split(from).length !== 2) throw new Error(`${file} no longer contains exactly one ${from}`);
          text = text.replace(from, to);
        }
        return { contents: text, loader: "js" };
      };
      b.onLoad({ filter: /[\\/]core[\\/]wasm[\\/]xet_core\.js$/ }, (args) =>
        rewrite(args.path, [["new URL('xet_core_bg.wasm', import.meta.url)", `new URL('${wasmFromWeb}', import.meta.url)`]]),
      );
      b.onLoad({ filter: /[\\/]core[\\/]index\.js$/ }, (args) =>
        rewrite(args.path, [
          ['new URL("./wasm/xet_core_bg.wasm", import.meta.url)', `new URL("${wasmFromWeb}", import.meta.url)`],
          ["import(/* @vite-ignore */ fs)", "import(/* @vite-ignore */ /* webpackIgnore: true */ fs)"],
        ]),
      );
    },
  };
  await esbuild.build({
    entryPoints: Object.fromEntries(Object.entries(WEB_ENTRIES).map(([name, src]) => [name, join(DIST, src)])),
    outdir: out,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    chunkNames: "chunk-[hash]",
    logLevel: "warning",
    plugins: [nodeOnly],
  });
}

/** The entry points that also ship as CommonJS (the Node-only server and CLI stay ESM). */
export const CJS_ENTRIES = ["index", "entries/hash", "entries/download"];

/**
 * CommonJS for `require()`: one bundle per entry point (esbuild; the .wasm stays a file, read from
 * dist/core/wasm/ as in ESM), and .d.cts declarations mirroring the ESM ones (TypeScript needs CJS-flavoured
 * types for `require` under node16 resolution).
 */
export function buildCjs() {
  const esbuild = loadEsbuild();
  const out = join(DIST, "cjs");
  for (const entry of CJS_ENTRIES) {
    const outfile = join(out, `${entry}.cjs`);
    // The core finds its .wasm with new URL("./wasm/xet_core_bg.wasm", import.meta.url): point import.meta.url
    // at the ESM core module's location so the same relative path resolves from the bundle.
    const coreFromBundle = relative(dirname(outfile), join(DIST, "core", "index.js"))
      .split("\\")
      .join("/");
    esbuild.buildSync({
      entryPoints: [join(DIST, `${entry}.js`)],
      outfile,
      bundle: true,
      format: "cjs",
      platform: "node",
      target: "node20",
      logLevel: "warning",
      define: { "import.meta.url": "__xet_import_meta_url" },
      banner: {
        js: `"use strict";\nconst __xet_import_meta_url = require("node:url").pathToFileURL(require("node:path").join(__dirname, ${JSON.stringify(coreFromBundle)})).href;`,
      },
    });
  }
  // .d.cts: every client declaration, relative specifiers "./x.js" → "./x.cjs" (TypeScript maps them to .d.cts).
  const skip = new Set(["cjs", "server", "cli"]);
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const rel = relative(DIST, p);
      if (statSync(p).isDirectory()) {
        if (!skip.has(rel)) walk(p);
      } else if (name.endsWith(".d.ts") && !rel.startsWith(join("entries", "workerd"))) {
        const text = readFileSync(p, "utf8").replace(/((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']*?)\.js(["'])/g, "$1$2.cjs$3");
        const dest = join(out, rel.replace(/\.d\.ts$/, ".d.cts"));
        mkdirSync(dirname(dest), { recursive: true });
        writeFileSync(dest, text);
      }
    }
  };
  walk(DIST);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = new Set(process.argv.slice(2));
  if (args.has("--web")) {
    // Internal (called by buildTs): only the web build, from the tsc output already in dist/.
    buildWeb().catch((err) => {
      process.stderr.write(`[build] error in the web build: ${err.message}\n`);
      process.exit(1);
    });
  } else
    try {
      setup(new Set(["build"]));
      if (!args.has("--ts")) buildWasm();
      if (!args.has("--wasm")) buildTs();
    } catch (err) {
      process.stderr.write(`[build] error: ${err.message}\n`);
      process.exit(1);
    }
}
