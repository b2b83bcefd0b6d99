/**
 * The package as npm ships it (npm pack, unpacked into a temporary node_modules): its files, its export
 * conditions as Node resolves them, ESM and CommonJS in Node, `initCore`'s inputs, TypeScript types for
 * `import` and `require` consumers, the README's Node snippets, and the Node example against the package.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, test } from "node:test";
import { listFiles } from "../../src/api/files.js";
import { xetHash } from "../../src/hash.js";
import { startTestHub, type TestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";
import { ROOT } from "../helpers/files.js";
import { runProcess } from "../helpers/processes.js";
import { installPackedPackage, readmeSnippet } from "../helpers/runtimes.js";

let pkg: Awaited<ReturnType<typeof installPackedPackage>>;
let pkgRoot: string;
let hub: TestHub;

before(async () => {
  pkg = await installPackedPackage();
  pkgRoot = join(pkg.dir, "node_modules", "xet-buckets");
  hub = await startTestHub();
});
after(async () => {
  await hub?.close();
  await pkg?.cleanup();
});

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

const node = (args: string[], env: Record<string, string> = {}) =>
  runProcess(process.execPath, args, {
    cwd: pkg.dir,
    env: { ...process.env, HF_ENDPOINT: hub.url, HF_TOKEN: hub.users.alice.token, ...env },
    timeoutMs: 60_000,
  });

test("package: the tarball ships the .wasm as a file, ESM, web and CJS builds with types; no maps, no inlined WASM, no SharedArrayBuffer", () => {
  const files = filesUnder(pkgRoot).map((p) => relative(pkgRoot, p));
  const wasm = readFileSync(join(pkgRoot, "dist", "core", "wasm", "xet_core_bg.wasm"));
  assert.deepEqual([...wasm.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], "\\0asm magic");
  assert.deepEqual(
    files.filter((f) => f.endsWith(".wasm")),
    ["dist/core/wasm/xet_core_bg.wasm"],
    "exactly one .wasm",
  );
  assert.deepEqual(
    files.filter((f) => f.endsWith(".map")),
    [],
  );
  for (const f of [
    "dist/index.js",
    "dist/index.d.ts",
    "dist/web/index.js",
    "dist/web/workerd.js",
    "dist/web/browser.js",
    "dist/web/upload-worker.js",
    "dist/cjs/index.cjs",
    "dist/cjs/index.d.cts",
    "dist/cli/main.js",
  ]) {
    assert.ok(files.includes(f), `${f} is in the tarball`);
  }
  for (const f of files.filter((x) => /\.(c?js|mjs)$/.test(x))) {
    const text = readFileSync(join(pkgRoot, f), "utf8");
    // "AGFzbQ" is base64 for "\0asm": a WASM module inlined as a base64 string.
    assert.doesNotMatch(text, /AGFzbQ[A-Za-z0-9+/]{200}/, `${f} inlines WebAssembly as base64`);
    assert.doesNotMatch(text, /new SharedArrayBuffer|Atomics\.wait/, `${f} uses SharedArrayBuffer`);
  }
  // A threaded build would import a shared memory; this module owns its (unshared) memory.
  const mod = new WebAssembly.Module(wasm);
  assert.deepEqual(
    WebAssembly.Module.imports(mod).filter((i) => i.kind === "memory"),
    [],
  );
  assert.ok(WebAssembly.Module.exports(mod).some((e) => e.kind === "memory"));
  // The web build (browser, worker, workerd, edge-light conditions) contains no Node module at all.
  for (const f of files.filter((x) => x.startsWith("dist/web/"))) {
    const text = readFileSync(join(pkgRoot, f), "utf8");
    assert.doesNotMatch(text, /(?:from|import)\s*\(?\s*["']node:/, `${f} imports a node: module`);
    assert.doesNotMatch(text, /["'](?:\.\.?\/)+node\/[a-z-]+\.js["']/, `${f} imports a Node-only module of the package`);
  }
  // Every target of the exports map is in the tarball.
  const pj = JSON.parse(readFileSync(join(pkgRoot, "package.json"), "utf8")) as {
    exports: unknown;
    main: string;
    module: string;
    browser: string;
    types: string;
  };
  const targets: string[] = [pj.main, pj.module, pj.browser, pj.types];
  const walk = (v: unknown) => (typeof v === "string" ? targets.push(v) : v && typeof v === "object" && Object.values(v).forEach(walk));
  walk(pj.exports);
  for (const t of targets) assert.ok(files.includes(t.replace(/^\.\//, "")), `exports target ${t} is missing from the tarball`);
});

test("package: Node resolves each export condition to its build", async () => {
  const want: [string[], Record<string, string>][] = [
    [
      [],
      { "xet-buckets": "dist/index.js", "xet-buckets/hash": "dist/entries/hash.js", "xet-buckets/download": "dist/entries/download.js" },
    ],
    [
      ["--conditions=browser"],
      { "xet-buckets": "dist/web/index.js", "xet-buckets/hash": "dist/web/hash.js", "xet-buckets/browser": "dist/web/browser.js" },
    ],
    [["--conditions=worker"], { "xet-buckets": "dist/web/index.js", "xet-buckets/download": "dist/web/download.js" }],
    [["--conditions=edge-light"], { "xet-buckets": "dist/web/index.js" }],
    [
      ["--conditions=workerd"],
      {
        "xet-buckets": "dist/web/workerd.js",
        "xet-buckets/hash": "dist/web/workerd-hash.js",
        "xet-buckets/download": "dist/web/workerd-download.js",
      },
    ],
    [["--conditions=deno"], { "xet-buckets": "dist/index.js" }],
  ];
  for (const [flags, map] of want) {
    const code = `for (const s of ${JSON.stringify(Object.keys(map))}) console.log(s, import.meta.resolve(s));`;
    const res = await node([...flags, "--input-type=module", "-e", code]);
    assert.equal(res.code, 0, res.stderr);
    for (const [spec, file] of Object.entries(map)) {
      assert.match(
        res.stdout,
        new RegExp(`^${spec} file://.*/node_modules/xet-buckets/${file}$`, "m"),
        `${flags.join(" ") || "(default)"}: ${spec}\n${res.stdout}`,
      );
    }
  }
  const cjs = await node([
    "-e",
    `for (const s of ["xet-buckets", "xet-buckets/hash", "xet-buckets/download"]) console.log(s, require.resolve(s));`,
  ]);
  assert.equal(cjs.code, 0, cjs.stderr);
  for (const [spec, file] of [
    ["xet-buckets", "dist/cjs/index.cjs"],
    ["xet-buckets/hash", "dist/cjs/entries/hash.cjs"],
    ["xet-buckets/download", "dist/cjs/entries/download.cjs"],
  ]) {
    assert.match(cjs.stdout, new RegExp(`^${spec} /.*/node_modules/xet-buckets/${file}$`, "m"), cjs.stdout);
  }
  const wasm = await node(["--input-type=module", "-e", `console.log(import.meta.resolve("xet-buckets/xet_core_bg.wasm"))`]);
  assert.match(wasm.stdout.trim(), /\/node_modules\/xet-buckets\/dist\/core\/wasm\/xet_core_bg\.wasm$/);
});

test("package: initCore accepts bytes, a Response and a compiled WebAssembly.Module (ESM and CJS)", async () => {
  const want = await xetHash(new TextEncoder().encode("hello\n"));
  const esm = (input: string) => `import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { initCore, xetHash } from "xet-buckets/hash";
const bytes = readFileSync(fileURLToPath(import.meta.resolve("xet-buckets/xet_core_bg.wasm")));
await initCore(${input});
console.log(await xetHash(new TextEncoder().encode("hello\\n")));`;
  const inputs = {
    bytes: "bytes",
    response: `new Response(bytes, { headers: { "Content-Type": "application/wasm" } })`,
    module: "await WebAssembly.compile(bytes)",
  };
  for (const [name, input] of Object.entries(inputs)) {
    const res = await node(["--input-type=module", "-e", esm(input)]);
    assert.equal(res.code, 0, `${name}: ${res.stderr}`);
    assert.equal(res.stdout.trim(), want, name);
  }
  const cjs = await node([
    "-e",
    `const { readFileSync } = require("node:fs");
const { initCoreSync, xetHash } = require("xet-buckets/hash");
initCoreSync(new WebAssembly.Module(readFileSync(require.resolve("xet-buckets/xet_core_bg.wasm"))));
xetHash(new TextEncoder().encode("hello\\n")).then((h) => console.log(h));`,
  ]);
  assert.equal(cjs.code, 0, cjs.stderr);
  assert.equal(cjs.stdout.trim(), want);
});

test("package: the README's Node snippets (ESM and CommonJS) run as written", async () => {
  const content = seededBytes(3 * 2 ** 20 + 99, 0x70de);
  await writeFile(join(pkg.dir, "checkpoint.bin"), content);
  await writeFile(join(pkg.dir, "main.mjs"), await readmeSnippet("node"));
  const res = await node(["main.mjs"]);
  assert.equal(res.code, 0, res.stderr);
  const hash = await xetHash(content);
  assert.match(res.stdout, /^sent \d+ of 3145827 bytes$/m);
  assert.match(res.stdout, new RegExp(`^node/checkpoint\\.bin ${hash}$`, "m"));
  const listed = [];
  for await (const e of listFiles({ repo: "buckets/alice/runtimes", path: "node", hubUrl: hub.url, accessToken: hub.users.alice.token }))
    listed.push([e.path, e.size, e.xetHash]);
  assert.deepEqual(listed, [["node/checkpoint.bin", content.length, hash]]);

  await writeFile(join(pkg.dir, "main.cjs"), await readmeSnippet("node-cjs"));
  const cjs = await node(["main.cjs"]);
  assert.equal(cjs.code, 0, cjs.stderr);
  assert.equal(cjs.stdout.trim(), await xetHash(new TextEncoder().encode("hello\n")));
});

test("package: TypeScript resolves the types for `import` (.mts) and `require` (.cts) consumers", async () => {
  await writeFile(
    join(pkg.dir, "consumer.mts"),
    `import { uploadFiles, xetHash, initCore, type CommitResult, type UploadProgressEvent } from "xet-buckets";
import { xetHash as hashOnly } from "xet-buckets/hash";
import { downloadFile, listFiles } from "xet-buckets/download";
import { UploadWorker, type WorkerUploadParams } from "xet-buckets/browser";
export const h: Promise<string> = xetHash(new Uint8Array([1]));
export const h2: Promise<string> = hashOnly(new Blob(["x"]));
export const i: Promise<void> = initCore(new URL("https://example.com/xet_core_bg.wasm"));
export type R = CommitResult["bytesSent"] | UploadProgressEvent["event"] | WorkerUploadParams["repo"];
export const fns = [uploadFiles, downloadFile, listFiles, UploadWorker];
`,
  );
  await writeFile(
    join(pkg.dir, "consumer.cts"),
    `import xb = require("xet-buckets");
import hash = require("xet-buckets/hash");
export const h: Promise<string> = xb.xetHash(new Uint8Array([1]));
export const h2: Promise<string> = hash.xetHash(new Uint8Array([2]));
export type R = xb.CommitResult["dedupLocalBytes"];
`,
  );
  const res = await runProcess(
    process.execPath,
    [
      join(ROOT, "node_modules", "typescript", "bin", "tsc"),
      "--noEmit",
      "--strict",
      "--module",
      "node16",
      "--moduleResolution",
      "node16",
      "--target",
      "es2022",
      "--lib",
      "es2022,dom,dom.iterable",
      "--types",
      "node",
      "--typeRoots",
      join(ROOT, "node_modules", "@types"),
      "consumer.mts",
      "consumer.cts",
    ],
    { cwd: pkg.dir, timeoutMs: 120_000 },
  );
  assert.equal(res.code, 0, `tsc:\n${res.stdout}${res.stderr}`);
});

test("package: the Node example (examples/node/checkpoints.mjs) runs against the built package", async () => {
  const dir = await mkdtemp(join(tmpdir(), "xet-example-"));
  try {
    // Small checkpoints: this checks that the example's imports (xet-buckets, and the local hub's build) resolve and work.
    const res = await runProcess(process.execPath, [join(ROOT, "examples", "node", "checkpoints.mjs")], {
      cwd: dir,
      env: { ...process.env, STEPS: "2", MIB: "4", HF_ENDPOINT: "", HF_TOKEN: "" },
      timeoutMs: 120_000,
    });
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    assert.match(res.stdout, /bytes and Xet hash verified/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
