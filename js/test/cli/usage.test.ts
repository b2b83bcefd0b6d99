/**
 * Every command of the built CLI: `--help` exits 0 with the command's usage; wrong arguments exit 2
 * with a message that says what was wrong, followed by the command's usage line, before any request
 * reaches the hub. Also the top-level usage, unknown commands, the `buckets` prefix and aliases.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestHub, type TestHub } from "../helpers/hub.js";
import { cliRunner, type CliRunner, requireBuiltCli } from "../helpers/clients.js";

let hub: TestHub;
let cli: CliRunner;
let dir: string;

before(async () => {
  requireBuiltCli();
  hub = await startTestHub();
  cli = await cliRunner(hub.url, hub.users.alice.token);
  dir = await mkdtemp(join(tmpdir(), "xet-cli-usage-"));
  await writeFile(join(dir, "f.txt"), "x");
  await mkdir(join(dir, "folder"));
});
after(async () => {
  await hub?.close();
  await cli?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs jobs with at most `n` in flight (CPU is scarce). */
async function limited<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const COMMANDS = ["create", "list", "ls", "info", "delete", "move", "settings", "cp", "remove", "rm", "sync", "hash", "serve"];
const CANONICAL: Record<string, string> = { ls: "list", remove: "remove", rm: "remove" };

describe("help", () => {
  it("every command has --help (exit 0, its usage on stdout)", async () => {
    await limited(COMMANDS, 3, async (c) => {
      const r = await cli([c, "--help"]);
      assert.equal(r.code, 0, `${c} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: xet-buckets (${CANONICAL[c] ?? c}|${c}) `), `${c} --help`);
      if (c !== "hash" && c !== "serve") assert.match(r.stdout, /--token TOKEN[\s\S]*--format FORMAT/, `${c} lists the common options`);
    });
    // -h is --help except for list, where it means --human-readable (as in hf).
    assert.match((await cli(["info", "-h"])).stdout, /^Usage: xet-buckets info/);
    const top = await cli(["--help"]);
    assert.equal(top.code, 0);
    for (const c of COMMANDS) assert.match(top.stdout, new RegExp(`\\b${c}\\b`), `top-level help mentions ${c}`);
    assert.match(
      (await cli(["buckets", "info", "--help"])).stdout,
      /^Usage: xet-buckets info/,
      "the hf-style `buckets` prefix is accepted",
    );
    assert.match((await cli(["--version"])).stdout, /^xet-buckets \d+\.\d+\.\d+/);
  });
});

describe("usage errors: exit 2, what was wrong, the usage line, no request sent", () => {
  const cases: [string[], RegExp, string?][] = [
    [[], /Usage: xet-buckets <command>/],
    [["frobnicate"], /unknown command "frobnicate"/],
    [["create"], /missing argument BUCKET_ID/],
    [["create", "a/b", "c"], /too many arguments: "c"/],
    [["create", "alice/b", "--bogus"], /unknown option --bogus/],
    [["create", "alice/b", "--privat"], /unknown option --privat \(did you mean --private\?\)/],
    [["create", "alice/b", "--region", "mars"], /--region must be one of us, eu, got "mars"/],
    [["create", "alice/b", "--region"], /--region needs a value/],
    [["create", "alice/b/sub"], /cannot specify a path/],
    [["create", "alice/-bad-"], /invalid bucket name/],
    [["create", "alice/b", "--private=yes"], /--private takes no value/],
    [["list", "--tree"], /cannot use --tree when listing buckets/],
    [["list", "alice", "-R"], /cannot use --recursive when listing buckets/],
    [["list", "alice/b", "--search", "x"], /cannot use --search when listing files/],
    [["list", "alice/b", "--tree", "--json"], /cannot use --tree with --format json/],
    [["list", "--format", "xml"], /--format must be one of auto, human, agent, json, quiet/],
    [["list", "-q", "--format", "human"], /conflicting output formats/],
    [["ls", "a", "b"], /too many arguments/],
    [["info"], /missing argument BUCKET_ID/],
    [["info", "justaname"], /invalid bucket ID "justaname"/],
    [["info", "hf://datasets/alice/d"], /not a bucket/],
    [["info", "alice/b", "--token", ""], /--token is empty/],
    [["delete"], /missing argument BUCKET_ID/],
    [["delete", "alice/b/path", "-y"], /cannot specify a path/],
    [["delete", "alice/b", "--yes=1"], /--yes takes no value/],
    [["move", "alice/a"], /missing argument TO_ID/],
    [["move", "alice/a", "alice/a"], /same bucket/],
    [["move", "alice/a/x", "alice/b"], /cannot specify a path/],
    [["settings", "alice/b"], /exactly one of --private or --public/],
    [["settings", "alice/b", "--private", "--public"], /exactly one of --private or --public/],
    [["settings"], /missing argument BUCKET_ID/],
    [["cp"], /missing argument SRC/],
    [["cp", "a", "b", "c"], /too many arguments/],
    [["cp", "FILE"], /missing destination/],
    [["cp", "FILE", "other.txt"], /one of SRC or DST must be a bucket URI/],
    [["cp", "FOLDER", "hf://buckets/alice/b/x"], /source must be a file, not a directory/],
    [["cp", "MISSING", "hf://buckets/alice/b/x"], /source file not found/],
    [["cp", "-", "hf://buckets/alice/b/dir/"], /stdin upload requires a full destination path/],
    [["cp", "hf://buckets/alice/b/dir/", "out"], /source path must include a file name/],
    [["cp", "hf://buckets/alice/b", "out"], /source path must include a file name/],
    [["cp", "hf://alice/model/x", "out"], /downloading from a repository/],
    [["cp", "hf://buckets/alice/b/x", "hf://models/alice/m@v1/x"], /takes no @revision/],
    [["cp", "hf://buckets/alice/b/x", "hf://buckets/alice/c/x", "-m", "msg"], /apply to a repository destination only/],
    [["rm"], /missing argument ARGUMENT/],
    [["rm", "alice/b"], /no file path specified/],
    [["rm", "alice/b/x", "--include", "*.tmp"], /--include and --exclude require --recursive/],
    [["remove", "alice/b/dir/"], /is a folder path: add --recursive/],
    [["rm", "alice/b/x", "--include"], /--include needs a value/],
    [["sync"], /SOURCE and DEST are both required/],
    [["sync", "DIR"], /SOURCE and DEST are both required/],
    [["sync", "DIR", "DIR2"], /one of SOURCE or DEST must be a bucket path/],
    [["sync", "hf://buckets/alice/a", "hf://buckets/alice/b"], /remote to remote sync is not supported/],
    [["sync", "DIR", "hf://buckets/alice/b", "--ignore-times", "--ignore-sizes"], /both --ignore-times and --ignore-sizes/],
    [["sync", "DIR", "hf://buckets/alice/b", "--existing", "--ignore-existing"], /both --existing and --ignore-existing/],
    [["sync", "DIR", "hf://buckets/alice/b", "--dry-run", "--plan", "p.jsonl"], /both --dry-run and --plan/],
    [["sync", "--apply", "p.jsonl", "DIR", "hf://buckets/alice/b"], /do not give SOURCE or DEST/],
    [["sync", "--apply", "p.jsonl", "--delete"], /--apply cannot be combined with --delete/],
    [["sync", "DIR", "hf://buckets/alice/b", "--max-delete", "many"], /--max-delete expects a whole number/],
    [["sync", "DIR", "hf://buckets/alice/b", "--plan"], /--plan needs a value/],
    [["sync", "DIR", "hf://buckets/alice/b", "--no-dry-run"], /unknown option --no-dry-run/],
    [["sync", "DIR", "hf://models/alice/b"], /not a bucket path/],
    [["hash"], /at least one FILE/],
    [["hash", "--bogus"], /Unknown option|unknown option/],
    [["serve", "--port", "x"], /--port expects a number/],
    [["serve", "--bogus"], /unknown option/],
  ];

  it(`${cases.length} cases`, async () => {
    const requests = hub.requests.length;
    const subst = (a: string) =>
      a === "FILE"
        ? join(dir, "f.txt")
        : a === "FOLDER"
          ? join(dir, "folder")
          : a === "MISSING"
            ? join(dir, "missing")
            : a === "DIR"
              ? dir
              : a === "DIR2"
                ? join(dir, "folder")
                : a;
    await limited(cases, 3, async ([args, message]) => {
      const r = await cli(args.map(subst));
      const shown = `xet-buckets ${args.join(" ")}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
      assert.equal(r.code, 2, shown);
      assert.match(r.stderr, message, shown);
      if (args.includes("--json")) assert.equal(JSON.parse(r.stderr).error.code, "USAGE", shown);
      else assert.match(r.stderr, /Usage: xet-buckets/, `${shown}\n(the usage line is shown)`);
      assert.equal(r.stdout, "", `${shown}\n(nothing on stdout)`);
    });
    assert.equal(hub.requests.length, requests, "no usage error sent a request");
  });

  it("with --json, usage errors are a JSON object on stderr", async () => {
    const r = await cli(["info", "--json"]);
    assert.equal(r.code, 2);
    assert.deepEqual(JSON.parse(r.stderr), { error: { code: "USAGE", message: "missing argument BUCKET_ID" } });
  });

  it("a bad HF_ENDPOINT is a usage error", async () => {
    const r = await cli(["info", "alice/b"], { env: { HF_ENDPOINT: "ftp://example" } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /HF_ENDPOINT must be an http\(s\) URL/);
  });
});
