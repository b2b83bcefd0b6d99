/**
 * The built `xet-buckets` CLI end to end, as a spawned process against an in-process local hub
 * (HF_ENDPOINT / HF_TOKEN in the child's environment): create → cp up (file, "/" destination, stdin)
 * → ls (flat, -R, --tree, -h, -q, --json) → cp down (file, directory, stdout; bytes equal) → cp bucket
 * to bucket (file and folder rules) → rm (file, -R with filters, dry run, confirmation refused) → info
 * → settings → move → delete; sync (--dry-run JSONL, --plan / --apply, download, nothing to do,
 * guards); hash equal to the bucket's xetHash; token sources; progress lines on a terminal; serve.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CLI, cliEnv, type CliRunner, cliRunner, ok, requireBuiltCli } from "../helpers/clients.js";
import { startTestHub, type TestHub } from "../helpers/hub.js";
import { runProcess } from "../helpers/processes.js";
import { splitmix64 } from "../helpers/vectors.js";

let hub: TestHub;
let cli: CliRunner;
let work: string;
const data = splitmix64(2 * 1024 * 1024 + 17, 42);

before(async () => {
  requireBuiltCli();
  hub = await startTestHub();
  cli = await cliRunner(hub.url, hub.users.alice.token);
  work = await mkdtemp(join(tmpdir(), "xet-cli-work-"));
  await writeFile(join(work, "model.bin"), data);
  await writeFile(join(work, "notes.txt"), "some notes\n");
});
after(async () => {
  await hub?.close();
  await cli?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

const json = (s: string) => JSON.parse(s);

describe("bucket commands", () => {
  it("create (name alone, ns/name, hf://), --exist-ok, conflict → exit 1 with its code", async () => {
    const a = json(ok(await cli(["create", "life", "--json"]), "create"));
    assert.deepEqual(a, { uri: "hf://buckets/alice/life", url: `${hub.url}/buckets/alice/life` });
    const human = ok(await cli(["create", "alice/life2", "--private"]));
    assert.match(human, /^✓ Bucket created\n  uri: hf:\/\/buckets\/alice\/life2\n  url: /);
    assert.equal(ok(await cli(["create", "hf://buckets/alice/life3", "-q"])), "hf://buckets/alice/life3\n");
    const dup = await cli(["create", "alice/life"]);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists \(pass --exist-ok.*\[CONFLICT\]/);
    const dupJson = await cli(["create", "alice/life", "--json"]);
    assert.equal(dupJson.code, 1);
    assert.equal(json(dupJson.stderr).error.code, "CONFLICT");
    assert.equal(json(dupJson.stderr).error.statusCode, 409);
    ok(await cli(["create", "alice/life", "--exist-ok"]), "exist-ok");
  });

  it("list buckets (table, json, quiet, agent, --search), info, settings, move, delete", async () => {
    const table = ok(await cli(["list"]));
    assert.match(table, /^ID +PRIVATE +SIZE +TOTAL_FILES +CREATED_AT\n/);
    assert.match(table, /alice\/life2 +✔/);
    const listed = json(ok(await cli(["list", "alice", "--json"])));
    assert.ok(listed.some((b: { id: string }) => b.id === "alice/life"));
    assert.deepEqual(Object.keys(listed[0]).sort(), ["created_at", "id", "private", "size", "total_files"]);
    const ids = ok(await cli(["ls", "--search", "life2", "-q"]))
      .trim()
      .split("\n");
    assert.deepEqual(ids, ["alice/life2"]);
    assert.match(ok(await cli(["list", "--format", "agent"])), /^id\tprivate\tsize\ttotal_files\tcreated_at\n/);

    const info = json(ok(await cli(["info", "alice/life2", "--json"])));
    assert.equal(info.id, "alice/life2");
    assert.equal(info.private, true);
    assert.equal(info.total_files, 0);
    assert.match(ok(await cli(["info", "hf://buckets/alice/life2"])), /^\{\n  "id": "alice\/life2",/, "human info is indented JSON");
    assert.equal(ok(await cli(["info", "alice/life2", "-q"])), "alice/life2\n");

    assert.match(ok(await cli(["settings", "alice/life2", "--public"])), /✓ Bucket settings updated/);
    assert.equal(json(ok(await cli(["info", "alice/life2", "--json"]))).private, false);
    ok(await cli(["settings", "hf://buckets/alice/life2", "--private", "--json"]));
    assert.equal(json(ok(await cli(["info", "alice/life2", "--json"]))).private, true);

    assert.deepEqual(json(ok(await cli(["move", "alice/life3", "acme/moved", "--json"]))), { from_id: "alice/life3", to_id: "acme/moved" });
    assert.equal(json(ok(await cli(["info", "acme/moved", "--json"]))).id, "acme/moved");
    const gone = await cli(["info", "alice/life3", "--json"]);
    assert.equal(gone.code, 1);
    assert.equal(json(gone.stderr).error.code, "BUCKET_NOT_FOUND");

    // delete: refused without -y when stdin is not a terminal; then deleted; then --missing-ok.
    const refused = await cli(["delete", "acme/moved"]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /Refusing without confirmation.*-y\/--yes/);
    ok(await cli(["info", "acme/moved"]), "still there");
    assert.match(ok(await cli(["delete", "acme/moved", "-y"])), /✓ Bucket deleted\n  bucket_id: acme\/moved/);
    const missing = await cli(["delete", "acme/moved", "-y"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /BUCKET_NOT_FOUND/);
    ok(await cli(["delete", "acme/moved", "-y", "--missing-ok"]), "missing-ok");
  });
});

describe("files", () => {
  before(async () => {
    ok(await cli(["create", "alice/files"]));
    ok(await cli(["create", "alice/other"]));
  });

  it("cp up: file to a path, to a folder (trailing /), to the bucket root, from stdin; dedup shown", async () => {
    const up = json(ok(await cli(["cp", join(work, "model.bin"), "hf://buckets/alice/files/ckpt/", "--json"])));
    assert.deepEqual(up.dst, "hf://buckets/alice/files/ckpt/model.bin");
    assert.equal(up.size, data.length);
    assert.equal(up.new_bytes, data.length);
    // Same bytes again, elsewhere: nothing new is sent.
    const again = json(ok(await cli(["cp", "model.bin", "hf://buckets/alice/files/ckpt/copy.bin", "--json"], { cwd: work })));
    assert.equal(again.new_bytes, 0);
    assert.equal(again.deduplicated_bytes, data.length);
    assert.match(
      ok(await cli(["cp", join(work, "notes.txt"), "hf://buckets/alice/files"])),
      /dst: hf:\/\/buckets\/alice\/files\/notes.txt/,
    );
    const piped = json(ok(await cli(["cp", "-", "hf://buckets/alice/files/docs/from-stdin.txt", "--json"], { input: "piped text\n" })));
    assert.equal(piped.src, "stdin");
    assert.equal(piped.size, 11);
  });

  it("ls: flat with folder hint, -R, -h, --tree, -q, --json, a prefix, (empty)", async () => {
    const flat = await cli(["ls", "alice/files"]);
    assert.equal(flat.code, 0);
    assert.match(flat.stdout, /^ {12} {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}ckpt\/\n/m);
    assert.match(flat.stdout, /^ +11 {2}\d{4}-.* {2}notes.txt$/m);
    assert.match(flat.stderr, /Hint: Use -R to list files recursively/);
    assert.deepEqual(
      ok(await cli(["ls", "alice/files", "-R", "-q"]))
        .trim()
        .split("\n"),
      ["ckpt/copy.bin", "ckpt/model.bin", "docs/from-stdin.txt", "notes.txt"],
    );
    assert.deepEqual(
      ok(await cli(["ls", "alice/files", "-q"]))
        .trim()
        .split("\n"),
      ["ckpt/", "docs/", "notes.txt"],
    );
    assert.match(
      ok(await cli(["ls", "hf://buckets/alice/files/ckpt", "-h"])),
      / 2\.1 MB +[A-Z][a-z]{2} \d\d \d\d:\d\d {2}ckpt\/model.bin$/m,
    );
    const tree = ok(await cli(["ls", "alice/files", "-R", "--tree", "-q"]));
    assert.equal(
      tree,
      ["├── ckpt/", "│   ├── copy.bin", "│   └── model.bin", "├── docs/", "│   └── from-stdin.txt", "└── notes.txt", ""].join("\n"),
    );
    const entries = json(ok(await cli(["ls", "alice/files/ckpt", "--json"])));
    assert.equal(entries.length, 2);
    assert.deepEqual(Object.keys(entries[0]).sort(), ["mtime", "path", "size", "type", "uploaded_at", "xet_hash"]);
    assert.equal(entries[0].size, data.length);
    assert.equal(entries[0].xet_hash, entries[1].xet_hash, "same content, same xetHash");
    assert.equal(ok(await cli(["ls", "alice/files/nothing-here"])), "(empty)\n");
    assert.equal(ok(await cli(["ls", "alice/files/nothing-here", "--json"])), "[]\n");
  });

  it("hash prints the same xetHash the bucket lists", async () => {
    const entries = json(ok(await cli(["ls", "alice/files/ckpt", "--json"])));
    const out = ok(await cli(["hash", join(work, "model.bin")]));
    assert.equal(out, `${entries[0].xet_hash}  ${join(work, "model.bin")}\n`);
    const viaStdin = json(ok(await cli(["hash", "--json", "-"], { input: data })));
    assert.equal(viaStdin.xetHash, entries[0].xet_hash);
    // Several files (hashed together on the workers), stdin between them, in argument order; a missing
    // file is reported on stderr, the others still print, the exit code is 1.
    await writeFile(join(work, "a.txt"), "a");
    const mixed = await cli(["hash", join(work, "a.txt"), "-", join(work, "model.bin")], { input: data });
    assert.equal(
      ok(mixed),
      [
        `49a7fffaf5f34109d4a191757f3e541e26437dcd1e0e83153454a503757856be  ${join(work, "a.txt")}`,
        `${entries[0].xet_hash}  -`,
        `${entries[0].xet_hash}  ${join(work, "model.bin")}`,
      ].join("\n") + "\n",
    );
    const withMissing = await cli(["hash", join(work, "a.txt"), join(work, "missing.bin"), join(work, "model.bin")]);
    assert.equal(withMissing.code, 1);
    assert.match(withMissing.stderr, /missing\.bin/);
    assert.equal(
      withMissing.stdout,
      `49a7fffaf5f34109d4a191757f3e541e26437dcd1e0e83153454a503757856be  ${join(work, "a.txt")}\n${entries[0].xet_hash}  ${join(work, "model.bin")}\n`,
    );
  });

  it("cp down: to a file, into a directory, to the cwd, to stdout (bytes equal); missing → exit 1", async () => {
    const out = join(work, "down");
    await mkdir(out);
    ok(await cli(["cp", "hf://buckets/alice/files/ckpt/model.bin", join(out, "m.bin")]));
    assert.deepEqual(new Uint8Array(await readFile(join(out, "m.bin"))), data);
    const into = json(ok(await cli(["cp", "hf://buckets/alice/files/ckpt/model.bin", join(out, "sub") + "/", "--json"])));
    assert.equal(into.dst, join(out, "sub", "model.bin"));
    assert.deepEqual(new Uint8Array(await readFile(join(out, "sub", "model.bin"))), data);
    ok(await cli(["cp", "hf://buckets/alice/files/notes.txt"], { cwd: out }));
    assert.equal(await readFile(join(out, "notes.txt"), "utf8"), "some notes\n");
    const text = ok(await cli(["cp", "hf://buckets/alice/files/docs/from-stdin.txt", "-"]));
    assert.equal(text, "piped text\n");
    const bytes = await spawnBytes(
      [CLI, "cp", "hf://buckets/alice/files/ckpt/model.bin", "-"],
      cliEnv(cli.home, { HF_ENDPOINT: hub.url, HF_TOKEN: hub.users.alice.token }),
    );
    assert.deepEqual(bytes, data, "stdout carries the exact bytes");
    const missing = await cli(["cp", "hf://buckets/alice/files/nope.bin", join(out, "nope.bin")]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.bin.*\[ENTRY_NOT_FOUND\]/);
    assert.equal(existsSync(join(out, "nope.bin")), false);
  });

  it("cp bucket → bucket: a file, a folder nested (cp -r) or merged (trailing /), server-side", async () => {
    const before = hub.count("POST", "/v1/xorbs");
    ok(await cli(["cp", "hf://buckets/alice/files/notes.txt", "hf://buckets/alice/other/"]));
    ok(await cli(["cp", "hf://buckets/alice/files/ckpt", "hf://buckets/alice/other/backup/"]));
    ok(await cli(["cp", "hf://buckets/alice/files/ckpt", "hf://buckets/alice/other/backup"]));
    ok(await cli(["cp", "hf://buckets/alice/files/ckpt/", "hf://buckets/alice/other/backup"]));
    const copied = json(
      ok(await cli(["cp", "hf://buckets/alice/files/docs/from-stdin.txt", "hf://buckets/alice/other/renamed.txt", "--json"])),
    );
    assert.equal(copied.files, 1);
    assert.equal(hub.count("POST", "/v1/xorbs"), before, "no data uploaded for server-side copies");
    assert.deepEqual(
      ok(await cli(["ls", "alice/other", "-R", "-q"]))
        .trim()
        .split("\n"),
      ["backup/ckpt/copy.bin", "backup/ckpt/model.bin", "backup/copy.bin", "backup/model.bin", "notes.txt", "renamed.txt"],
    );
    assert.equal(ok(await cli(["cp", "hf://buckets/alice/other/renamed.txt", "-"])), "piped text\n");
    const none = await cli(["cp", "hf://buckets/alice/files/absent/", "hf://buckets/alice/other/"]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /ENTRY_NOT_FOUND/);
  });

  it("rm: one file, -R with --include/--exclude and --dry-run, confirmation refused without a terminal", async () => {
    const dry = ok(await cli(["rm", "alice/other", "-R", "--include", "*.bin", "--exclude", "backup/ckpt/*", "--dry-run"]));
    assert.equal(
      dry,
      "delete: hf://buckets/alice/other/backup/copy.bin\ndelete: hf://buckets/alice/other/backup/model.bin\n(dry run) 2 file(s) totaling 4.2 MB would be removed.\n",
    );
    const refused = await cli(["rm", "alice/other", "-R", "--include", "*.bin"]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /Refusing without confirmation/);
    assert.equal(
      ok(await cli(["ls", "alice/other", "-R", "-q"]))
        .trim()
        .split("\n").length,
      6,
      "nothing removed",
    );
    const removed = json(ok(await cli(["rm", "alice/other", "-R", "--include", "*.bin", "--exclude", "backup/ckpt/*", "-y", "--json"])));
    assert.deepEqual(removed, { bucket_id: "alice/other", files_deleted: 2, size: 2 * data.length });
    assert.match(ok(await cli(["rm", "hf://buckets/alice/other/renamed.txt", "-y"])), /✓ File removed/);
    ok(await cli(["rm", "alice/other/backup/", "-R", "-y"]));
    assert.deepEqual(
      ok(await cli(["ls", "alice/other", "-R", "-q"]))
        .trim()
        .split("\n"),
      ["notes.txt"],
    );
    const missing = await cli(["rm", "alice/other/nope.txt", "-y"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.txt: /);
    assert.equal(ok(await cli(["rm", "alice/other/zzz", "-R", "-y"])), "No files to remove.\n");
  });
});

describe("sync", () => {
  let src: string;
  before(async () => {
    ok(await cli(["create", "alice/sync"]));
    src = join(work, "ckpts");
    await mkdir(join(src, "step1"), { recursive: true });
    await writeFile(join(src, "step1", "weights.bin"), data.subarray(0, 300_000));
    await writeFile(join(src, "config.json"), '{"a": 1}\n');
    await writeFile(join(src, "tmp.log"), "log\n");
  });

  it("--dry-run prints the JSONL plan; --plan saves it and --apply executes it; a second run has nothing to do", async () => {
    const dry = ok(await cli(["sync", src, "hf://buckets/alice/sync/run", "--dry-run", "--exclude", "*.log"]));
    const lines = dry.trim().split("\n").map(json);
    assert.equal(lines[0].type, "header");
    assert.deepEqual(lines[0].summary, { uploads: 2, downloads: 0, deletes: 0, skips: 0, total_size: 300_000 + 9 });
    assert.deepEqual(
      lines.slice(1).map((l: { path: string; action: string }) => `${l.action} ${l.path}`),
      ["upload config.json", "upload step1/weights.bin"],
    );
    assert.equal(ok(await cli(["ls", "alice/sync", "-R", "-q"])), "", "dry run uploads nothing");

    const planFile = join(work, "plan.jsonl");
    const planned = await cli(["sync", src, "hf://buckets/alice/sync/run", "--plan", planFile, "--exclude", "*.log"]);
    assert.equal(planned.code, 0, planned.stderr);
    assert.match(planned.stdout, /Uploads: 2\n[\s\S]*Plan saved to: /);
    assert.match(planned.stderr, /--apply/);
    assert.equal(json((await readFile(planFile, "utf8")).split("\n")[0]!).type, "header");
    const applied = ok(await cli(["sync", "--apply", planFile]));
    assert.match(applied, /Executing plan\.\.\.\n[\s\S]*Sync completed\./);
    assert.deepEqual(
      ok(await cli(["ls", "alice/sync", "-R", "-q"]))
        .trim()
        .split("\n"),
      ["run/config.json", "run/step1/weights.bin"],
    );

    const again = ok(await cli(["sync", src, "hf://buckets/alice/sync/run", "--exclude", "*.log"]));
    assert.match(again, /Skips: 2\nNothing to sync\./);
    const verbose = ok(await cli(["sync", src, "hf://buckets/alice/sync/run", "-v"]));
    assert.match(verbose, /Uploading: tmp\.log \(new file\)/);
    assert.match(verbose, /Skipping: config\.json \(identical\)/);
  });

  it("comparison and filter options reach the plan: --existing, --ignore-existing, --ignore-times, --ignore-sizes, --filter-from", async () => {
    const dir = join(work, "opts");
    await mkdir(dir);
    await writeFile(join(dir, "keep.txt"), "aaaa");
    await writeFile(join(dir, "skip.log"), "l");
    ok(await cli(["sync", dir, "hf://buckets/alice/sync/opts"]));
    await writeFile(join(dir, "keep.txt"), "bbbbbbbb");
    const old = new Date(Date.now() - 3600_000);
    await utimes(join(dir, "keep.txt"), old, old); // changed size, older than the bucket's copy
    await writeFile(join(dir, "new.txt"), "n");
    const plan = async (...extra: string[]) => {
      const lines = ok(await cli(["sync", dir, "hf://buckets/alice/sync/opts", "--dry-run", ...extra]))
        .trim()
        .split("\n")
        .slice(1)
        .map(json);
      return lines.map((l: { action: string; path: string; reason: string }) => `${l.action} ${l.path}: ${l.reason}`);
    };
    assert.deepEqual(await plan(), ["upload keep.txt: size differs", "upload new.txt: new file", "skip skip.log: identical"]);
    assert.deepEqual(await plan("--existing"), [
      "upload keep.txt: size differs",
      "skip new.txt: new file (--existing)",
      "skip skip.log: identical",
    ]);
    assert.deepEqual(await plan("--ignore-existing"), [
      "skip keep.txt: exists on receiver (--ignore-existing)",
      "upload new.txt: new file",
      "skip skip.log: exists on receiver (--ignore-existing)",
    ]);
    assert.deepEqual((await plan("--ignore-sizes"))[0], "skip keep.txt: remote newer");
    assert.deepEqual((await plan("--ignore-times"))[0], "upload keep.txt: size differs");
    await writeFile(join(work, "filters.txt"), "# only text files but new ones\n- new.txt\n+ *.txt\n- *\n");
    assert.deepEqual(await plan("--filter-from", join(work, "filters.txt")), ["upload keep.txt: size differs"]);
    assert.deepEqual(await plan("--include", "*.log"), ["skip skip.log: identical"]);
  });

  it("downloads into a directory (bytes equal), --json summary, --delete guarded by --max-delete", async () => {
    const dst = join(work, "restored");
    const r = json(ok(await cli(["sync", "hf://buckets/alice/sync/run", dst, "--json"])));
    assert.equal(r.executed, true);
    assert.equal(r.downloaded, 3);
    assert.deepEqual(new Uint8Array(await readFile(join(dst, "step1", "weights.bin"))), data.subarray(0, 300_000));
    assert.equal(await readFile(join(dst, "config.json"), "utf8"), '{"a": 1}\n');
    assert.match(ok(await cli(["sync", "hf://buckets/alice/sync/run", dst])), /Nothing to sync\./);

    await rm(join(src, "tmp.log"));
    const capped = await cli(["sync", src, "hf://buckets/alice/sync/run", "--delete", "--max-delete", "0"]);
    assert.equal(capped.code, 1);
    assert.match(capped.stderr, /maxDelete|max-delete|SYNC_REFUSED/);
    assert.equal(
      ok(await cli(["ls", "alice/sync/run", "-R", "-q"]))
        .trim()
        .split("\n").length,
      3,
      "nothing deleted",
    );
    const del = json(ok(await cli(["sync", src, "hf://buckets/alice/sync/run", "--delete", "--json"])));
    assert.equal(del.deleted, 1);
    assert.deepEqual(
      ok(await cli(["ls", "alice/sync/run", "-R", "-q"]))
        .trim()
        .split("\n"),
      ["run/config.json", "run/step1/weights.bin"],
    );
  });
});

describe("environment", () => {
  it("token: --token beats HF_TOKEN beats the token file ($HF_TOKEN_PATH, $HF_HOME/token, ~/.cache/huggingface/token)", async () => {
    ok(await cli(["create", "alice/secret", "--private"]));
    const bob = hub.users.bob.token;
    const alice = hub.users.alice.token;
    assert.equal((await cli(["info", "alice/secret"], { token: bob })).code, 1, "bob cannot see it");
    assert.equal((await cli(["info", "alice/secret"], { token: null })).code, 1, "anonymous cannot see it");
    ok(await cli(["info", "alice/secret", "--token", alice], { token: bob }), "--token wins");
    assert.equal((await cli(["info", "alice/secret", "--token", bob], { token: alice })).code, 1, "--token wins over HF_TOKEN");

    const dir = await mkdtemp(join(tmpdir(), "xet-cli-tok-"));
    try {
      await mkdir(join(cli.home, ".cache", "huggingface"), { recursive: true });
      await writeFile(join(cli.home, ".cache", "huggingface", "token"), `${alice}\n`);
      ok(await cli(["info", "alice/secret"], { token: null }), "~/.cache/huggingface/token");
      await writeFile(join(dir, "token"), bob);
      assert.equal(
        (await cli(["info", "alice/secret"], { token: null, env: { HF_HOME: dir } })).code,
        1,
        "HF_HOME/token replaces the default location",
      );
      await writeFile(join(dir, "alice-token"), alice);
      ok(
        await cli(["info", "alice/secret"], { token: null, env: { HF_HOME: dir, HF_TOKEN_PATH: join(dir, "alice-token") } }),
        "HF_TOKEN_PATH first",
      );
      assert.equal((await cli(["info", "alice/secret"], { token: bob })).code, 1, "HF_TOKEN beats the token file");
    } finally {
      await rm(join(cli.home, ".cache"), { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("endpoint: --endpoint overrides HF_ENDPOINT", async () => {
    ok(await cli(["info", "alice/files", "--endpoint", hub.url], { env: { HF_ENDPOINT: "http://127.0.0.1:9" } }));
    const unreachable = await cli(["info", "alice/files", "--json"], { env: { HF_ENDPOINT: "http://127.0.0.1:9" } });
    assert.equal(unreachable.code, 1);
    assert.equal(json(unreachable.stderr).error.code, "NETWORK");
  });

  it(
    "progress on a terminal: bytes, rate, deduplicated and sent (and none when piped)",
    { skip: !existsSync("/usr/bin/script") && "needs script(1)" },
    async () => {
      const cmd = [process.execPath, CLI, "cp", join(work, "model.bin"), "hf://buckets/alice/files/tty/model.bin"]
        .map((a) => `'${a}'`)
        .join(" ");
      const r = await runProcess("/usr/bin/script", ["-qfec", cmd, "/dev/null"], {
        env: cliEnv(cli.home, { HF_ENDPOINT: hub.url, HF_TOKEN: hub.users.alice.token, TERM: "xterm" }),
      });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      // eslint-disable-next-line no-control-regex -- the progress line's ANSI escape
      assert.match(r.stdout, /\r\x1b\[KUploading/);
      assert.match(r.stdout, /Uploaded 2\.1 MB: 0 B new, 2\.1 MB deduplicated, 0 B sent/);
      const piped = ok(await cli(["cp", join(work, "model.bin"), "hf://buckets/alice/files/tty/model2.bin"]));
      // eslint-disable-next-line no-control-regex -- no ANSI escape when piped
      assert.doesNotMatch(piped, /\x1b\[K/);
    },
  );
});

describe("interrupts", () => {
  it("SIGINT during an upload from stdin: exit 130, nothing registered", async () => {
    const child = spawn(process.execPath, [CLI, "cp", "-", "hf://buckets/alice/files/interrupted.bin"], {
      env: cliEnv(cli.home, { HF_ENDPOINT: hub.url, HF_TOKEN: hub.users.alice.token }),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.on("error", () => undefined);
    let n = 0;
    const feed = setInterval(() => {
      if (!child.stdin.destroyed) child.stdin.write(splitmix64(256 * 1024, ++n));
    }, 20);
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const started = Date.now();
      const code = await new Promise<number | null>((resolve) => {
        child.on("exit", (c) => resolve(c));
        child.kill("SIGINT");
      });
      assert.equal(code, 130, stderr);
      assert.match(stderr, /interrupted/);
      assert.ok(Date.now() - started < 2500, "the abort stops the upload at once");
    } finally {
      clearInterval(feed);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    assert.doesNotMatch(ok(await cli(["ls", "alice/files", "-q"])), /interrupted\.bin/);
  });
});

describe("confirmation on a terminal", () => {
  it(
    "delete asks [y/N]: 'n' keeps the bucket (exit 1), 'y' deletes it",
    { skip: !existsSync("/usr/bin/script") && "needs script(1)" },
    async () => {
      ok(await cli(["create", "alice/ask"]));
      const ask = (answer: string) =>
        runProcess("/usr/bin/script", ["-qfec", `'${process.execPath}' '${CLI}' delete alice/ask`, "/dev/null"], {
          env: cliEnv(cli.home, { HF_ENDPOINT: hub.url, HF_TOKEN: hub.users.alice.token, TERM: "xterm" }),
          input: answer,
        });
      const no = await ask("n\n");
      assert.equal(no.code, 1, no.stdout);
      assert.match(no.stdout, /Are you sure you want to delete bucket 'alice\/ask'\? \[y\/N\]: [\s\S]*Aborted\./);
      ok(await cli(["info", "alice/ask"]), "kept");
      const yes = await ask("y\n");
      assert.equal(yes.code, 0, yes.stdout);
      assert.match(yes.stdout, /Bucket deleted/);
      assert.equal((await cli(["info", "alice/ask"])).code, 1, "deleted");
    },
  );
});

describe("serve", () => {
  it("prints `listening on http://127.0.0.1:PORT`, serves the other commands, stops on SIGTERM", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "xet-cli-serve-"));
    const token = "hf_serve_user_0123456789";
    const child = spawn(process.execPath, [CLI, "serve", "--port", "0", "--data", dataDir, "--user", `carol=${token}`, "--quiet"], {
      env: cliEnv(cli.home),
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${out}`)));
        setTimeout(() => reject(new Error(`no ready line: ${out}`)), 20_000);
      });
      const c = await cliRunner(url, token);
      try {
        ok(await c(["create", "carol/b"]));
        assert.equal(json(ok(await c(["info", "carol/b", "--json"]))).id, "carol/b");
      } finally {
        await c.cleanup();
      }
      const code = await new Promise<number | null>((resolve) => {
        child.on("exit", (c2) => resolve(c2));
        child.kill("SIGTERM");
      });
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/** Runs node with args, returning stdout as bytes. */
function spawnBytes(args: string[], env: Record<string, string>): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => chunks.push(d));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(new Uint8Array(Buffer.concat(chunks))) : reject(new Error(`exit ${code}: ${err}`))));
  });
}
