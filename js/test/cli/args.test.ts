/**
 * The CLI's building blocks, in process: the argument parser (long, short, bundles, repeatable,
 * negatable, `--`, `-`), where the token and endpoint come from, output formats, sizes and dates as hf
 * prints them, and the tree view.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseCommand, type CommandSpec } from "../../src/cli/args.js";
import { buildTree } from "../../src/cli/buckets.js";
import { outputMode, resolveEndpoint, resolveToken, tokenFiles } from "../../src/cli/common.js";
import { Output, formatDate, formatSize, printable } from "../../src/cli/output.js";
import { main, shortUsage } from "../../src/cli/run.js";
import { UsageError, type CommandIo } from "../../src/cli/util.js";

const spec: CommandSpec = {
  name: "t",
  usage: "Usage: xet-buckets t [OPTIONS] SRC [DST]",
  positionals: ["SRC", "DST?"],
  options: [
    { name: "recursive", short: "R", type: "boolean" },
    { name: "yes", short: "y", type: "boolean" },
    { name: "include", type: "string", multiple: true },
    { name: "delete", type: "boolean", negatable: true },
    { name: "plan", short: "p", type: "string" },
  ],
};

function io(): CommandIo & { out: string; err: string } {
  const o = {
    out: "",
    err: "",
    stdin: (async function* () {})(),
    stdout: { write: (s: string | Uint8Array) => ((o.out += typeof s === "string" ? s : Buffer.from(s).toString()), true) },
    stderr: { write: (s: string) => ((o.err += s), true) },
    env: {},
  };
  return o;
}

describe("argument parser", () => {
  it("long, short, bundles, =values, repeatable, negatable, -- and -", () => {
    const r = parseCommand(["-Ry", "--include", "*.a", "--include=*.b", "--no-delete", "-pplan.jsonl", "-", "--", "--not-an-option"], spec);
    assert.deepEqual(r.values, { recursive: true, yes: true, include: ["*.a", "*.b"], delete: false, plan: "plan.jsonl" });
    assert.deepEqual(r.positionals, ["-", "--not-an-option"]);
    assert.equal(parseCommand(["x", "--delete"], spec).values.delete, true);
    assert.equal(parseCommand(["x", "-p", "--weird-name"], spec).values.plan, "--weird-name", "a string option takes the next word as is");
  });

  it("mistakes are UsageErrors that say what was wrong", () => {
    const err = (argv: string[]) => {
      try {
        parseCommand(argv, spec);
      } catch (e) {
        assert.ok(e instanceof UsageError);
        assert.equal(e.usage, spec.usage);
        return e.message;
      }
      assert.fail(`no error for ${argv.join(" ")}`);
    };
    assert.equal(err([]), "missing argument SRC");
    assert.equal(err(["a", "b", "c"]), 'too many arguments: "c" (expected SRC [DST])');
    assert.equal(err(["a", "--recursve"]), "unknown option --recursve (did you mean --recursive?)");
    assert.equal(err(["a", "-Rx"]), "unknown option -x (in -Rx)");
    assert.equal(err(["a", "--plan"]), "--plan needs a value");
    assert.equal(err(["a", "--yes=no"]), "--yes takes no value, got --yes=no");
    assert.equal(err(["a", "--plan", "x", "--plan", "y"]), '--plan is given twice ("x" and "y")');
    assert.equal(err(["a", "--no-yes"]), "unknown option --no-yes");
  });
});

describe("token and endpoint", () => {
  it("--token > HF_TOKEN > $HF_TOKEN_PATH > $HF_HOME/token > ~/.cache/huggingface/token", async () => {
    const dir = await mkdtemp(join(tmpdir(), "xet-tok-"));
    try {
      await writeFile(join(dir, "t1"), " hf_from_path \n");
      assert.equal(resolveToken("hf_flag", { HF_TOKEN: "hf_env" }), "hf_flag");
      assert.equal(resolveToken(undefined, { HF_TOKEN: "hf_env", HF_TOKEN_PATH: join(dir, "t1") }), "hf_env");
      assert.equal(resolveToken(undefined, { HF_TOKEN_PATH: join(dir, "t1") }), "hf_from_path");
      assert.equal(
        resolveToken(undefined, { HF_TOKEN_PATH: join(dir, "missing"), HF_HOME: dir }),
        undefined,
        "only the first location counts",
      );
      assert.deepEqual(tokenFiles({ HF_HOME: "/h" }), ["/h/token"]);
      assert.deepEqual(tokenFiles({ HOME: "/home/u" }), ["/home/u/.cache/huggingface/token"]);
      assert.deepEqual(tokenFiles({ HOME: "/home/u", XDG_CACHE_HOME: "/c" }), ["/c/huggingface/token"]);
      assert.equal(resolveToken(undefined, { HOME: dir }), undefined, "anonymous without any token");
      assert.throws(() => resolveToken(" ", {}), /--token is empty/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("--endpoint > HF_ENDPOINT > huggingface.co; non-http URLs refused", () => {
    assert.equal(resolveEndpoint(undefined, {}), "https://huggingface.co");
    assert.equal(resolveEndpoint(undefined, { HF_ENDPOINT: "http://127.0.0.1:1234/" }), "http://127.0.0.1:1234");
    assert.equal(resolveEndpoint("http://a:1", { HF_ENDPOINT: "http://b:2" }), "http://a:1");
    assert.throws(() => resolveEndpoint("file:///x", {}), /--endpoint must be an http\(s\) URL/);
    assert.throws(() => resolveEndpoint(undefined, { HF_ENDPOINT: "nope" }), /HF_ENDPOINT must be/);
  });

  it("output formats: --json, -q, --format; conflicts refused", () => {
    assert.equal(outputMode({}), "human");
    assert.equal(outputMode({ format: "auto" }), "human");
    assert.equal(outputMode({ json: true }), "json");
    assert.equal(outputMode({ json: true, format: "json" }), "json");
    assert.equal(outputMode({ quiet: true }), "quiet");
    assert.equal(outputMode({ format: "agent" }), "agent");
    assert.throws(() => outputMode({ json: true, quiet: true }), /conflicting/);
  });
});

describe("output", () => {
  it("result and table in the four modes", () => {
    const render = (mode: "human" | "agent" | "json" | "quiet") => {
      const o = io();
      const out = new Output(mode, o);
      out.result("Done", { a: 1, b: "x", c: undefined });
      out.table(
        [
          { id: "n/a", private: true, size: 10 },
          { id: "n/bb", private: false, size: 200 },
        ],
        { idKey: "id" },
      );
      return o.out;
    };
    assert.equal(render("human"), "✓ Done\n  a: 1\n  b: x\nID   PRIVATE SIZE\n---- ------- ----\nn/a  ✔         10\nn/bb          200\n");
    assert.equal(render("agent"), "a=1 b=x\nid\tprivate\tsize\nn/a\ttrue\t10\nn/bb\tfalse\t200\n");
    assert.equal(render("json"), '{"a":1,"b":"x"}\n[{"id":"n/a","private":true,"size":10},{"id":"n/bb","private":false,"size":200}]\n');
    assert.equal(render("quiet"), "1\nn/a\nn/bb\n");
  });

  it("sizes and dates as hf prints them; control characters escaped", () => {
    assert.equal(formatSize(999), "999 B");
    assert.equal(formatSize(1000), "1.0 KB");
    assert.equal(formatSize(2_100_017), "2.1 MB");
    assert.equal(formatSize(5e15), "5.0 PB");
    assert.equal(formatSize(1234, false), "1234");
    assert.equal(formatDate("2026-11-27T09:43:02.060Z"), "2026-11-27 09:43:02");
    assert.equal(formatDate("2026-11-27T09:43:02.060Z", true), "Nov 27 09:43");
    assert.equal(formatDate(undefined), "");
    assert.equal(printable("a\nb\x1b[2Jc"), "a\\nb\\x1b[2Jc");
  });

  it("tree view with size and date columns", () => {
    const items = [
      { type: "directory" as const, path: "d", size: 0 },
      { type: "file" as const, path: "d/x.bin", size: 1000, mtime: "2026-01-01T00:00:00Z" },
      { type: "file" as const, path: "z.txt", size: 5, mtime: "2026-01-02T00:00:00Z" },
    ];
    const date = (e: { mtime?: string }) => formatDate(e.mtime);
    assert.deepEqual(buildTree(items, false, false, date), [
      "                           ├── d/",
      "1000  2026-01-01 00:00:00  │   └── x.bin",
      "   5  2026-01-02 00:00:00  └── z.txt",
    ]);
    assert.deepEqual(buildTree(items, true, true, date), ["├── d/", "│   └── x.bin", "└── z.txt"]);
  });
});

describe("dispatcher", () => {
  it("usage on no command (exit 2), help (exit 0), unknown commands, short usage lines", async () => {
    const a = io();
    assert.equal(await main([], a), 2);
    assert.match(a.err, /^Usage: xet-buckets <command>/);
    const b = io();
    assert.equal(await main(["help"], b), 0);
    assert.match(b.out, /Commands:/);
    const c = io();
    assert.equal(await main(["nope"], c), 2);
    assert.match(c.err, /unknown command "nope"/);
    assert.equal(
      shortUsage("Usage: xet-buckets rm [OPTIONS] A\n       xet-buckets remove [OPTIONS] A\n\n  Text"),
      "Usage: xet-buckets rm [OPTIONS] A\n       xet-buckets remove [OPTIONS] A",
    );
    const d = io();
    assert.equal(await main(["info", "a/b", "--format", "json", "--bogus"], d), 2);
    assert.deepEqual(JSON.parse(d.err), { error: { code: "USAGE", message: "unknown option --bogus" } });
  });
});
