/**
 * The runtime tests (workerd, Deno, Bun; the browsers are launched by browsers.ts) and the package tests: the
 * package as users get it (the tarballs of `npm run pack`, the client unpacked into a temporary node_modules),
 * runtime binaries from their npm packages, the README's runtime snippets, and the scenario every runtime runs
 * (js/test/edge/scenario.mjs with data.mjs) and its checks in Node.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { listFiles } from "../../src/api/files.js";
import { xetHash } from "../../src/hash.js";
import { scenarioFiles } from "./data.mjs";
import { ROOT } from "./files.js";
import type { TestHub } from "./hub.js";

/**
 * `npm run pack` from the current build (`--no-build`) into `dir`: the client and hub tarballs as they would be
 * published (pkg-template/README.md), and their assembled directories `<dir>/client`, `<dir>/hub`.
 */
export function packTarballs(dir: string): { client: string; hub: string } {
  if (!existsSync(join(ROOT, "dist", "index.js")) || !existsSync(join(ROOT, "dist", "server", "index.js"))) {
    throw new Error("dist/ is not built: run `npm run build` (npm test builds first)");
  }
  const packed = spawnSync(process.execPath, [join(ROOT, "scripts", "pack.mjs"), "--no-build", "--out", dir], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (packed.status !== 0) throw new Error(`scripts/pack.mjs failed: ${packed.stderr}`);
  const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  return { client: join(dir, `xet-buckets-${version}.tgz`), hub: join(dir, `xet-buckets-hub-${version}.tgz`) };
}

/**
 * Packs the client (`packTarballs`, so `files` and `exports` are what a user installs) and unpacks its tarball
 * into `<dir>/node_modules/xet-buckets`, with a package.json in `<dir>` that depends on it. The build must be
 * current (`npm test` builds first).
 */
export async function installPackedPackage(): Promise<{ dir: string; tarball: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "xet-pkg-"));
  const packDir = await mkdtemp(join(tmpdir(), "xet-pack-"));
  const tarball = join(dir, basename(packTarballs(packDir).client));
  await copyFile(join(packDir, basename(tarball)), tarball);
  await rm(packDir, { recursive: true, force: true });
  const pkgDir = join(dir, "node_modules", "xet-buckets");
  await mkdir(pkgDir, { recursive: true });
  const tar = spawnSync("tar", ["xzf", tarball, "-C", pkgDir, "--strip-components=1"], { encoding: "utf8" });
  if (tar.status !== 0) throw new Error(`could not unpack ${tarball}: ${tar.stderr}`);
  await writeFile(
    join(dir, "package.json"),
    JSON.stringify({ name: "xet-buckets-runtime-test", private: true, type: "module", dependencies: { "xet-buckets": "*" } }, null, 2),
  );
  return { dir, tarball, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A runtime binary shipped inside its npm package (devDependencies `workerd`, `deno`, `bun`). Throws with
 * the reason when it is missing or does not run, so a runtime test fails loudly rather than skipping.
 */
export function runtimeBinary(name: "workerd" | "deno" | "bun"): string {
  const bin = join(ROOT, "node_modules", ".bin", name);
  if (!existsSync(bin)) {
    throw new Error(`${bin} is missing: the devDependency "${name}" is not installed (run \`node scripts/setup.mjs --build\`)`);
  }
  const res = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 30_000 });
  if (res.status !== 0) {
    throw new Error(`${name} --version failed (${res.error?.message ?? `exit ${res.status}`}): ${res.stderr}`);
  }
  return bin;
}

/**
 * Copies the scenario's modules into `<dir>/scenario/` with their layout (edge/scenario.mjs imports
 * helpers/data.mjs): a runtime's entry script in `dir` imports `./scenario/edge/scenario.mjs`.
 */
export async function copyScenario(dir: string): Promise<void> {
  for (const f of ["edge/scenario.mjs", "helpers/data.mjs"]) {
    const to = join(dir, "scenario", f);
    await mkdir(dirname(to), { recursive: true });
    await writeFile(to, await readFile(join(ROOT, "js", "test", f)));
  }
}

/**
 * The README's code block that follows the marker `<!-- runtime-snippet: NAME -->`: the snippet the
 * README shows for a runtime is exactly the code the runtime test executes.
 */
export async function readmeSnippet(name: string): Promise<string> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const marker = `<!-- runtime-snippet: ${name} -->`;
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README.md has no ${marker}`);
  const m = /```[a-z]*\n([\s\S]*?)```/.exec(readme.slice(at + marker.length));
  if (!m) throw new Error(`no code block after ${marker} in README.md`);
  return m[1]!;
}

/** What js/test/edge/scenario.mjs returns. */
export interface ScenarioResult {
  runtime: string;
  report: {
    files: number;
    logicalBytes: number;
    newBytes: number;
    bytesSent: number;
    dedupLocalBytes: number;
    dedupGlobalBytes: number;
    perFile: { path: string; xetHash: string; size: number }[];
  };
  listed: { path: string; size: number; xetHash: string }[];
  hashes: Record<string, string>;
  download: { path: string; size: number; identical: boolean };
  steps: { name: string; ms: number }[];
}

/** Parses the `RESULT {json}` line a runtime script prints. */
export function parseResult(stdout: string, stderr = ""): ScenarioResult {
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error(`no RESULT line in the output\nstdout: ${stdout}\nstderr: ${stderr}`);
  return JSON.parse(line.slice("RESULT ".length)) as ScenarioResult;
}

/**
 * The checks every runtime's scenario result must pass, computed in Node: the hashes the runtime computed and
 * registered equal Node's `xetHash` of the same bytes, the hub lists exactly those files (read through the Node
 * client), the in-call dedup happened, and the download came back identical.
 */
export async function checkScenario(r: ScenarioResult, hub: TestHub, bucket: string, runtime: string): Promise<void> {
  assert.equal(r.runtime, runtime);
  const files = scenarioFiles(runtime);
  const expected = new Map<string, { size: number; xetHash: string }>();
  for (const f of files) expected.set(f.path, { size: f.bytes.length, xetHash: await xetHash(f.bytes) });

  // Hashes computed inside the runtime = Node's.
  for (const [path, e] of expected) assert.equal(r.hashes[path], e.xetHash, `${runtime}: xetHash of ${path}`);
  // What the runtime registered and listed.
  assert.deepEqual(
    r.listed,
    [...expected].map(([path, e]) => ({ path, size: e.size, xetHash: e.xetHash })).sort((a, b) => (a.path < b.path ? -1 : 1)),
    `${runtime}: listing`,
  );
  assert.deepEqual(
    r.report.perFile.map((p) => [p.path, p.xetHash]),
    files.map((f) => [f.path, expected.get(f.path)!.xetHash]),
    `${runtime}: the upload report's hashes`,
  );
  // The hub's view, through the Node client.
  const onHub = [];
  for await (const e of listFiles({ repo: `buckets/${bucket}`, recursive: true, hubUrl: hub.url, accessToken: hub.users.alice.token })) {
    if (e.type === "file") onHub.push({ path: e.path, size: e.size, xetHash: e.xetHash });
  }
  onHub.sort((a, b) => (a.path < b.path ? -1 : 1));
  assert.deepEqual(onHub, r.listed, `${runtime}: the hub's listing`);

  // weights/mixed.bin repeats 2 MiB of weights/big.bin: deduplicated in the call, not sent twice.
  const logical = files.reduce((s, f) => s + f.bytes.length, 0);
  assert.equal(r.report.logicalBytes, logical);
  assert.equal(r.report.newBytes + r.report.dedupLocalBytes + r.report.dedupGlobalBytes, logical);
  assert.ok(r.report.dedupLocalBytes > 1.5 * 2 ** 20, `${runtime}: dedupLocalBytes ${r.report.dedupLocalBytes}`);
  assert.ok(r.report.bytesSent < logical - 1.5 * 2 ** 20, `${runtime}: bytesSent ${r.report.bytesSent} of ${logical}`);

  assert.deepEqual(r.download, { path: "weights/mixed.bin", size: 3 * 2 ** 20, identical: true }, `${runtime}: download`);
}
