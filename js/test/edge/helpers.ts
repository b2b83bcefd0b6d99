/**
 * Helpers for the runtime tests (workerd, Deno, Bun, Chromium): the package as users get it (the client tarball
 * of `npm run pack`, unpacked into a temporary node_modules), runtime binaries from their npm packages, free
 * ports, processes.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ROOT } from "../helpers/generators.js";

export { ROOT };

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

/** A free TCP port on 127.0.0.1 (closed again before returning; the caller binds it right away). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Output of a finished process. */
export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`). */
export function runToEnd(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} timed out after ${opts.timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 120_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running child (a server) with its output collected; `stop()` kills it and waits for the exit. */
export interface Running {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export function startProcess(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Running {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Polls `url` until it answers (any status) or the process exits or `timeoutMs` passes. */
export async function waitForHttp(url: string, proc: Running, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null)
      throw new Error(`the process exited (${proc.child.exitCode}) before answering ${url}:\n${proc.output()}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${proc.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Copies the shared scenario modules (data.mjs, scenario.mjs) next to a runtime's entry script. */
export async function copyScenario(dir: string): Promise<void> {
  for (const f of ["data.mjs", "scenario.mjs"]) {
    await writeFile(join(dir, f), await readFile(join(ROOT, "js", "test", "edge", f)));
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
