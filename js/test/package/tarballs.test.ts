/**
 * The two npm packages as `npm run pack` writes them (pkg-template/README.md), installed by npm into fresh
 * projects (`npm init -y`):
 * - the client tarball alone: exactly one package in node_modules, no install script, no source map, no hub;
 *   `require`, `import` and a `tsc --strict` (NodeNext) consumer work; `xet-buckets serve` says which package
 *   to install;
 * - the hub tarball beside it (better-sqlite3 from the npm registry, built at install): `npx xet-buckets-hub`
 *   serves the official Python client (create a bucket, upload, download byte-identical).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { xetHash } from "../../src/hash.js";
import { hasPythonClients, runHf } from "../helpers/clients.js";
import { seededBytes } from "../helpers/data.mjs";
import { ROOT } from "../helpers/files.js";
import { runProcess } from "../helpers/processes.js";
import { packTarballs } from "../helpers/runtimes.js";

const ROOT_PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  version: string;
  devDependencies: Record<string, string>;
};
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: unknown;
  optionalDependencies?: unknown;
  peerDependencies?: unknown;
  allowScripts?: unknown;
  bin?: Record<string, string>;
  exports: Record<string, unknown>;
}

/** The entries of a tarball (paths without the leading `package/`). */
function tarEntries(tarball: string): string[] {
  const res = spawnSync("tar", ["tzf", tarball], { encoding: "utf8" });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout
    .split("\n")
    .filter(Boolean)
    .map((e) => e.replace(/^package\//, ""));
}

function tarManifest(tarball: string): Manifest {
  const res = spawnSync("tar", ["xzOf", tarball, "package/package.json"], { encoding: "utf8" });
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(res.stdout) as Manifest;
}

const npm = (args: string[], cwd: string, timeoutMs = 120_000, env: Record<string, string> = {}) =>
  runProcess("npm", args, { cwd, env: { ...process.env, ...env }, timeoutMs });

/** A fresh project, as `npm init -y` makes it. */
async function freshProject(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const init = await npm(["init", "-y"], dir);
  assert.equal(init.code, 0, init.stderr);
  return dir;
}

/** What npm installed: the top-level entries of node_modules, without npm's own files. */
const installed = (dir: string) =>
  readdirSync(join(dir, "node_modules"))
    .filter((n) => n !== ".bin" && n !== ".package-lock.json")
    .sort();

let packDir: string;
let tarballs: { client: string; hub: string };
const cleanup: string[] = [];

before(async () => {
  packDir = await mkdtemp(join(tmpdir(), "xet-tarballs-"));
  cleanup.push(packDir);
  tarballs = packTarballs(packDir);
});
after(async () => {
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

describe("npm run pack: the tarballs", () => {
  it("the client: dist without the hub and source maps, the one .wasm, no dependencies, no scripts; the hub: its build, bin, dependencies", (t) => {
    const files = tarEntries(tarballs.client);
    assert.deepEqual(
      files.filter((f) => f.endsWith(".wasm")),
      ["dist/core/wasm/xet_core_bg.wasm"],
    );
    assert.deepEqual(
      files.filter((f) => f.endsWith(".map") || f.startsWith("dist/server/")),
      [],
    );
    for (const f of ["package.json", "README.md", "dist/index.js", "dist/cjs/index.cjs", "dist/core/index.js", "dist/cli/main.js"]) {
      assert.ok(files.includes(f), `${f} is in the client tarball`);
    }
    const client = tarManifest(tarballs.client);
    assert.equal(client.name, "xet-buckets");
    assert.equal(client.version, ROOT_PKG.version);
    for (const field of [
      "private",
      "scripts",
      "dependencies",
      "devDependencies",
      "optionalDependencies",
      "peerDependencies",
      "allowScripts",
    ]) {
      assert.equal(field in client, false, `the published client manifest has no "${field}"`);
    }
    assert.ok("./core" in client.exports && !("./server" in client.exports), Object.keys(client.exports).join(" "));

    const hubFiles = tarEntries(tarballs.hub);
    for (const f of ["package.json", "README.md", "dist/index.js", "dist/index.d.ts", "dist/cli.js", "dist/bin.js", "dist/store.js"]) {
      assert.ok(hubFiles.includes(f), `${f} is in the hub tarball`);
    }
    assert.deepEqual(
      hubFiles.filter((f) => f.endsWith(".map") || f.endsWith(".wasm")),
      [],
    );
    const hub = tarManifest(tarballs.hub);
    assert.equal(hub.name, "xet-buckets-hub");
    assert.equal(hub.version, ROOT_PKG.version);
    assert.deepEqual(hub.bin, { "xet-buckets-hub": "dist/bin.js" });
    assert.deepEqual(hub.dependencies, { "xet-buckets": ROOT_PKG.version, "better-sqlite3": ROOT_PKG.devDependencies["better-sqlite3"] });
    t.diagnostic(`client ${readFileSync(tarballs.client).length} bytes, hub ${readFileSync(tarballs.hub).length} bytes`);
  });

  it("the client installs into a fresh project as exactly one package, with no install script; require, import and tsc --strict work", async (t) => {
    const dir = await freshProject("xet-tarball-client-");
    cleanup.push(dir);
    const started = Date.now();
    const res = await npm(["install", "--prefer-offline", "--no-audit", "--no-fund", tarballs.client], dir);
    t.diagnostic(`npm install of the client: ${Date.now() - started} ms`);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(installed(dir), ["xet-buckets"]);
    const lock = JSON.parse(await readFile(join(dir, "node_modules", ".package-lock.json"), "utf8")) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    assert.deepEqual(Object.keys(lock.packages), ["node_modules/xet-buckets"]);
    assert.equal(lock.packages["node_modules/xet-buckets"]!.hasInstallScript, undefined);
    assert.doesNotMatch(res.stdout + res.stderr, /install-scripts|node-gyp|prebuild/);

    const want = await xetHash(new TextEncoder().encode("hello\n"));
    const node = (args: string[]) => runProcess(process.execPath, args, { cwd: dir, timeoutMs: 60_000 });
    const cjs = await node(["-e", `require("xet-buckets").xetHash(new TextEncoder().encode("hello\\n")).then((h) => console.log(h));`]);
    assert.equal(cjs.code, 0, cjs.stderr);
    assert.equal(cjs.stdout.trim(), want);
    const esm = await node([
      "--input-type=module",
      "-e",
      `import { xetHash, XetBucketsError } from "xet-buckets";
import { MAX_XORB_CHUNKS, ZERO_HASH } from "xet-buckets/core";
console.log(await xetHash(new TextEncoder().encode("hello\\n")), typeof XetBucketsError, MAX_XORB_CHUNKS, ZERO_HASH.length);`,
    ]);
    assert.equal(esm.code, 0, esm.stderr);
    assert.equal(esm.stdout.trim(), `${want} function 8192 64`);

    // A strict NodeNext consumer (the project is CommonJS, as npm init makes it: .mts for import, .cts for require).
    await writeFile(
      join(dir, "consumer.mts"),
      `import { uploadFiles, xetHash, XetBucketsError, type CommitResult } from "xet-buckets";
import { MAX_XORB_BYTES, chunkHash } from "xet-buckets/core";
import { xetHash as hashOnly } from "xet-buckets/hash";
export const h: Promise<string> = xetHash(new Uint8Array([1]));
export const h2: Promise<string> = hashOnly(new Blob(["x"]));
export const limit: number = MAX_XORB_BYTES;
export const c: (data: Uint8Array) => string = chunkHash;
export type Sent = CommitResult["bytesSent"];
export const fns = [uploadFiles, XetBucketsError];
`,
    );
    await writeFile(
      join(dir, "consumer.cts"),
      `import xb = require("xet-buckets");
export const h: Promise<string> = xb.xetHash(new Uint8Array([2]));
export type Sent = xb.CommitResult["dedupLocalBytes"];
`,
    );
    const tsc = await runProcess(
      process.execPath,
      [
        TSC,
        "--noEmit",
        "--strict",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--target",
        "es2022",
        "--types",
        "node",
        "--typeRoots",
        join(ROOT, "node_modules", "@types"),
        "consumer.mts",
        "consumer.cts",
      ],
      { cwd: dir, timeoutMs: 120_000 },
    );
    assert.equal(tsc.code, 0, `tsc:\n${tsc.stdout}${tsc.stderr}`);

    // Without the hub package, `serve` fails with what to install (HUB_NOT_INSTALLED, exit code 1).
    const serve = await runProcess("npx", ["xet-buckets", "serve", "--port", "0"], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(serve.code, 1, serve.stderr);
    assert.match(
      serve.stderr,
      /^xet-buckets serve: the local hub is a separate package: .*npm install xet-buckets-hub.*\[HUB_NOT_INSTALLED\]$/m,
    );
  });

  it(
    "the hub and the client install into a fresh project; npx xet-buckets-hub serves the official Python client",
    { skip: !hasPythonClients() && "run `node scripts/setup.mjs --python` first" },
    async (t) => {
      const dir = await freshProject("xet-tarball-hub-");
      cleanup.push(dir);
      let started = Date.now();
      // better-sqlite3 comes from the registry (or npm's cache) and compiles SQLite: JOBS lets node-gyp use every core.
      const res = await npm(["install", "--prefer-offline", "--no-audit", "--no-fund", tarballs.client, tarballs.hub], dir, 480_000, {
        JOBS: "max",
      });
      t.diagnostic(`npm install of the client and the hub: ${Date.now() - started} ms`);
      assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
      const top = installed(dir);
      for (const p of ["xet-buckets", "xet-buckets-hub", "better-sqlite3"]) assert.ok(top.includes(p), `${p} installed: ${top.join(" ")}`);
      assert.equal(
        readdirSync(join(dir, "node_modules", "xet-buckets-hub")).includes("node_modules"),
        false,
        "the hub uses the client installed beside it",
      );

      // With the hub installed, the client's `serve` runs it.
      const help = await runProcess("npx", ["xet-buckets", "serve", "--help"], { cwd: dir, timeoutMs: 60_000 });
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /^Usage: xet-buckets serve \[options\]/);

      const data = join(dir, "hub-data");
      const token = "hf_tarball_user_0123456789";
      started = Date.now();
      // Its own process group: npx runs the bin through a shell, and the whole group gets the SIGTERM.
      const child = spawn("npx", ["xet-buckets-hub", "--data", data, "--port", "0", "--user", `alice=${token}`], {
        cwd: dir,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      // "close": npx and the hub (which shares its output pipes) have both ended.
      const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
      try {
        const url = await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no "listening on" line within 60 s:\n${stderr}`)), 60_000);
          createInterface({ input: child.stdout! }).on("line", (line) => {
            const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
            if (m) {
              clearTimeout(timer);
              resolve(m[1]!);
            }
          });
          void exited.then((code) => reject(new Error(`xet-buckets-hub exited (${code}) before listening:\n${stderr}`)));
        });
        t.diagnostic(`npx xet-buckets-hub listening after ${Date.now() - started} ms`);

        const work = await mkdtemp(join(tmpdir(), "xet-tarball-py-"));
        cleanup.push(work);
        const content = seededBytes(3 * 1024 * 1024 + 4321, 0x7a);
        await writeFile(join(work, "up.bin"), content);
        const hf = async (args: string[]) => {
          const r = await runHf(url, token, args, { cwd: work, timeoutMs: 120_000 });
          assert.equal(r.code, 0, `hf ${args.join(" ")}:\n${r.stdout}\n${r.stderr}\nhub:\n${stderr}`);
          return r.stdout;
        };
        await hf(["buckets", "create", "alice/tarball"]);
        await hf(["buckets", "cp", join(work, "up.bin"), "hf://buckets/alice/tarball/weights/up.bin"]);
        assert.match(await hf(["buckets", "ls", "alice/tarball", "-R"]), /weights\/up\.bin/);
        await hf(["buckets", "cp", "hf://buckets/alice/tarball/weights/up.bin", join(work, "down.bin")]);
        assert.deepEqual(new Uint8Array(await readFile(join(work, "down.bin"))), content, "downloaded bytes equal the upload");
        assert.match(stderr, /POST \/cas\/[0-9a-f]{32}\/v1\/xorbs\/\S+ 200/, "hf_xet uploaded xorbs to the hub's CAS URL");
      } finally {
        if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGTERM");
      }
      await exited;
      assert.match(stderr, /SIGTERM: closing the hub/);
    },
  );
});
