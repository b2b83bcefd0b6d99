/**
 * `xet-buckets serve` through the real entry point (js/src/cli/main.ts): the ready line, users and
 * read tokens, the generated dev user (kept across restarts), clean shutdown on SIGTERM and SIGINT,
 * and logs that never contain a token or a signed URL.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { parseServeArgs } from "../../server/src/cli.js";
import { buildUpload, casDownload, pushUpload } from "../helpers/cas.js";
import { seededBytes } from "../helpers/data.mjs";
import { XetBucketsError } from "../../src/errors.js";
import { ROOT } from "../helpers/files.js";
import { call } from "../helpers/hub.js";
import { runProcess } from "../helpers/processes.js";

const MAIN = join(ROOT, "js", "src", "cli", "main.ts");
const HUB_BIN = join(ROOT, "js", "server", "src", "bin.ts");

interface Served {
  child: ChildProcess;
  url: string;
  stdout: string[];
  stderr: () => string;
  exit: Promise<number | null>;
}

async function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "serve", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const exit = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const stdout: string[] = [];
  const rl = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    rl.on("line", (line) => {
      stdout.push(line);
      const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (m) resolve(m[1]!);
    });
    void exit.then(() => reject(new Error(`serve exited early:\n${stdout.join("\n")}\n${err}`)));
  });
  return { child, url, stdout, stderr: () => err, exit };
}

describe("xet-buckets serve", () => {
  it("serves with --user and --read-token, logs requests without secrets, and stops cleanly on SIGTERM", async () => {
    const data = await mkdtemp(join(tmpdir(), "xet-serve-"));
    const write = "hf_cli_write_token_123456";
    const read = "hf_cli_read_token_654321";
    try {
      const s = await serve([
        "--data",
        data,
        "--port",
        "0",
        "--user",
        `carol=${write}`,
        "--read-token",
        `carol=${read}`,
        "--org",
        "team=carol",
      ]);
      assert.ok(!s.stdout.join("\n").includes(write), "configured tokens are not printed");
      const who = await call(s, "GET", "/api/whoami-v2", { token: read });
      assert.equal(who.json.name, "carol");
      assert.equal(who.json.auth.accessToken.role, "read");
      assert.equal((await call(s, "POST", "/api/buckets/team/b", { token: write, body: {} })).status, 200);
      const tok = await call(s, "GET", "/api/buckets/team/b/xet-write-token", { token: write });
      const casTok = tok.json.accessToken as string;
      const built = await buildUpload([seededBytes(100_000, 5)]);
      await pushUpload(s, casTok, built);
      const downloaded = await casDownload(s, casTok, built.files[0]!.hash);
      assert.equal(downloaded.length, 100_000);
      s.child.kill("SIGTERM");
      assert.equal(await s.exit, 0);
      const log = s.stderr();
      assert.match(log, /GET \/api\/whoami-v2 200/);
      assert.match(log, /GET \/cas\/[0-9a-f]{32}\/fetch\/[0-9a-f]{64} 206/, "fetch URLs are under the CAS URL");
      for (const secret of [write, read, casTok, "sig=", "xetcas_"]) assert.ok(!log.includes(secret), `log leaks ${secret.slice(0, 12)}`);
      assert.match(log, /SIGTERM: closing the hub/);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });

  it("without --user makes one user, prints its token, and keeps it across restarts (SIGINT)", async () => {
    const data = await mkdtemp(join(tmpdir(), "xet-serve-"));
    try {
      const first = await serve(["--data", data, "--quiet"]);
      const line = first.stdout.find((l) => l.includes("token"))!;
      const token = /(hf_\S+)/.exec(line)?.[1];
      assert.ok(token, line);
      assert.equal((await call(first, "GET", "/api/whoami-v2", { token })).json.name, "local");
      first.child.kill("SIGINT");
      assert.equal(await first.exit, 0);
      assert.equal(first.stderr().includes("GET /api"), false, "--quiet logs no requests");
      const second = await serve(["--data", data, "--quiet"]);
      assert.ok(
        second.stdout.some((l) => l.includes(token)),
        "same token after a restart",
      );
      second.child.kill("SIGTERM");
      assert.equal(await second.exit, 0);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });

  it("prints help, and refuses bad options and tokens with clear messages", async () => {
    const run = (args: string[]) =>
      runProcess(process.execPath, ["--import", "tsx", MAIN, "serve", ...args], { cwd: ROOT, timeoutMs: 60_000 });
    const help = await run(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--user NAME=TOKEN/);
    const bad = await run(["--bogus"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown option "--bogus"/);
    const badToken = await run(["--user", "dave=secret123", "--data", join(tmpdir(), "never-created-xet")]);
    assert.equal(badToken.code, 1);
    assert.match(badToken.stderr, /must start with "hf_"/);
  });

  it("xet-buckets-hub (the hub package's bin) is the same command under its own name", async () => {
    const run = (args: string[]) => runProcess(process.execPath, ["--import", "tsx", HUB_BIN, ...args], { cwd: ROOT, timeoutMs: 60_000 });
    const help = await run(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: xet-buckets-hub \[options\]/);
    assert.match(help.stdout, /--user NAME=TOKEN/);
    const bad = await run(["--port", "x"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^xet-buckets-hub: --port expects a number from 0 to 65535, got "x"\n\nUsage: xet-buckets-hub \[options\]/);
    const positional = await run(["serve"]);
    assert.equal(positional.code, 2);
    assert.match(positional.stderr, /unknown option "serve"/);
  });

  it("parses options", () => {
    const { options } = parseServeArgs([
      "--host=0.0.0.0",
      "--port",
      "8080",
      "--user",
      "a=hf_aaaaaaaa",
      "--user",
      "b=hf_bbbbbbbb",
      "--read-token",
      "a=hf_rrrrrrrr",
      "--org",
      "o=a,b",
      "--token-ttl",
      "40",
      "--data",
      "/tmp/x",
    ]);
    assert.equal(options.host, "0.0.0.0");
    assert.equal(options.port, 8080);
    assert.equal(options.casTokenTtlSeconds, 40);
    assert.equal(options.dataDir, "/tmp/x");
    assert.deepEqual(options.users, [
      { name: "a", token: "hf_aaaaaaaa", readTokens: ["hf_rrrrrrrr"], orgs: ["o"] },
      { name: "b", token: "hf_bbbbbbbb", orgs: ["o"] },
    ]);
    assert.throws(() => parseServeArgs(["--read-token", "zed=hf_zzzzzzzz"]), /no --user zed/);
    assert.throws(() => parseServeArgs(["--port", "70000"]), /--port/);
    // parseArgs tokens, checked with this command's messages.
    assert.throws(
      () => parseServeArgs(["--data"]),
      (e: unknown) => e instanceof XetBucketsError && e.code === "USAGE" && e.message === "--data needs a value",
    );
    assert.throws(() => parseServeArgs(["-hq"]), /unknown option "-hq"/);
    assert.throws(() => parseServeArgs(["--", "x"]), /unknown option "--"/);
    assert.equal(parseServeArgs(["--data", "-dir-"]).options.dataDir, "-dir-", "a value may start with a dash");
    assert.equal(parseServeArgs(["--quiet", "-h"]).help, true);
    assert.equal(parseServeArgs(["--quiet"]).options.log, false);
  });
});
