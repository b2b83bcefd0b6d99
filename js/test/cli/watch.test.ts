/**
 * `xet-buckets sync --watch`, as a spawned process against an in-process local hub.
 *
 * Up: a file written in three steps 1.2 s apart (settle 2.5 s) appears in the bucket once, whole: the bucket's
 * events feed, followed from before the watcher starts, shows one registration of it, at its final size. A file
 * that changes while it is being uploaded (the hub holds its first xorb until the test has appended to it) is
 * not registered; it goes again once it settles, again once and whole. With --delete a file removed locally is
 * deleted from the bucket. Down: a file another client uploads appears locally, byte-identical, within seconds;
 * updates, deletes (--delete) and a hub restart are followed. Ctrl-C exits 130 with no temporary file left.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { appendFile, mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { deleteFiles, downloadFile, listFiles, uploadFiles, watchBucket, type BucketFileChange } from "../../src/index.js";
import { CLI, cliEnv, requireBuiltCli } from "../helpers/clients.js";
import { seededBytes } from "../helpers/data.mjs";
import { postBucket, startTestHub, type TestHub } from "../helpers/hub.js";

/** The CLI running `sync --watch …`: its output lines as they come, and Ctrl-C. */
class Watcher {
  readonly out: string[] = [];
  readonly err: string[] = [];
  readonly #child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(hub: TestHub, home: string, args: string[]) {
    const env = cliEnv(home, { HF_ENDPOINT: hub.url, HF_TOKEN: hub.users.alice.token });
    this.#child = spawn(process.execPath, [CLI, "sync", ...args, "--watch"], { env, cwd: home, stdio: ["ignore", "pipe", "pipe"] });
    const lines = (into: string[]) => {
      let buf = "";
      return (d: Buffer) => {
        buf += d.toString();
        const parts = buf.split("\n");
        buf = parts.pop()!;
        into.push(...parts);
      };
    };
    this.#child.stdout!.on("data", lines(this.out));
    this.#child.stderr!.on("data", lines(this.err));
    this.exited = new Promise((resolve) => this.#child.on("close", resolve));
  }

  async waitFor(re: RegExp, where: "out" | "err" = "out", ms = 30_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this[where].find((l) => re.test(l));
      if (hit) return hit;
      if (Date.now() > deadline)
        throw new Error(`no line matching ${re} on std${where} in ${ms} ms:\n${this.out.join("\n")}\n---\n${this.err.join("\n")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Ctrl-C; resolves with the exit code. */
  async interrupt(): Promise<number | null> {
    this.#child.kill("SIGINT");
    return this.exited;
  }

  kill(): void {
    this.#child.kill("SIGKILL");
  }
}

/** Every change of the bucket, followed with our client from before the watcher starts. */
async function follow(hub: TestHub, bucket: string) {
  const changes: BucketFileChange[] = [];
  const ctl = new AbortController();
  const gen = watchBucket(bucket, {
    hubUrl: hub.url,
    accessToken: hub.users.alice.token,
    abortSignal: ctl.signal,
    retry: { baseDelayMs: 50 },
  });
  const first = await gen.next();
  assert.equal(first.value?.type, "ready");
  const running = (async () => {
    try {
      for await (const ev of gen) if (ev.type === "changes") changes.push(...ev.changes);
    } catch {
      // stopped
    }
  })();
  return {
    of: (path: string) => changes.filter((c) => c.path === path),
    stop: async () => {
      ctl.abort();
      await running;
    },
  };
}

async function noTempFiles(dir: string): Promise<void> {
  const all = (await readdir(dir, { recursive: true })).map(String);
  assert.deepEqual(
    all.filter((f) => f.endsWith(".xet-tmp")),
    [],
    "no temporary download file is left",
  );
}

async function until(pred: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let hub: TestHub;
let home: string;
/** Set by a test: the hub runs it when a xorb has been written, before the upload's answer (it holds the upload). */
let onXorb: (() => Promise<void>) | undefined;

before(async () => {
  requireBuiltCli();
  hub = await startTestHub({
    testHooks: {
      afterXorbTempWrite: async () => {
        const hook = onXorb;
        onXorb = undefined;
        await hook?.();
      },
    },
  });
  home = await mkdtemp(join(tmpdir(), "xet-cli-watch-"));
});
after(async () => {
  await hub?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe("sync --watch", () => {
  it("up: a file written in three steps appears once and whole; one changed while uploading is not registered until it settles", async () => {
    const opts = { hubUrl: hub.url, accessToken: hub.users.alice.token };
    await postBucket(hub, "alice/up", hub.users.alice.token);
    const src = join(home, "up");
    await mkdir(src);
    await writeFile(join(src, "old.txt"), "gone soon\n");
    const feed = await follow(hub, "alice/up");
    const w = new Watcher(hub, home, [src, "hf://buckets/alice/up/run", "--settle", "2.5", "--rescan", "1", "--delete"]);
    try {
      await w.waitFor(/^Watching .* -> hf:\/\/buckets\/alice\/up\/run \(uploading files once unchanged for 2\.5 s/, "err");
      await w.waitFor(/^uploaded old\.txt \(10 B\)$/);

      // Three steps 1.2 s apart, each gap shorter than the settle time: only the whole file may be registered.
      const ckpt = seededBytes(3 * 700_000, 7);
      const t0 = Date.now();
      const fh = await open(join(src, "ckpt.bin"), "w");
      for (let i = 0; i < 3; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 1200));
        await fh.write(ckpt.subarray(i * 700_000, (i + 1) * 700_000));
      }
      await fh.close();
      await w.waitFor(/^uploaded ckpt\.bin \(2\.1 MB\)$/);
      const took = Date.now() - t0;
      assert.ok(took >= 4900, `not uploaded before it had settled (${took} ms)`);
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(
        feed.of("run/ckpt.bin").map((c) => [c.op, c.size]),
        [["add", ckpt.length]],
        "one registration, at the final size",
      );
      const blob = await downloadFile({ repo: "buckets/alice/up", path: "run/ckpt.bin", ...opts });
      assert.ok(Buffer.from(await blob!.arrayBuffer()).equals(Buffer.from(ckpt)));

      // A file that changes while it is uploaded: the hub holds the first xorb of its upload until the test
      // has appended to it, so the watcher finds it changed once its data is stored.
      const part1 = seededBytes(2_000_000, 8);
      const part2 = seededBytes(500_000, 9);
      let appended = false;
      onXorb = async () => {
        await appendFile(join(src, "moving.bin"), part2);
        appended = true;
      };
      await writeFile(join(src, "moving.bin"), part1);
      await w.waitFor(/^moving\.bin changed while it was uploaded/, "err");
      assert.ok(appended);
      await w.waitFor(/^uploaded moving\.bin \(2\.5 MB\)$/);
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(
        feed.of("run/moving.bin").map((c) => [c.op, c.size]),
        [["add", part1.length + part2.length]],
        "the half-read version was never registered",
      );
      assert.equal(w.out.filter((l) => l.startsWith("uploaded moving.bin")).length, 1);

      // --delete: a file removed locally goes from the bucket once it stayed gone for the settle time.
      await rm(join(src, "old.txt"));
      await w.waitFor(/^deleted old\.txt$/);
      const left = [];
      for await (const f of listFiles({ repo: "buckets/alice/up", recursive: true, ...opts })) left.push(f.path);
      assert.deepEqual(left.sort(), ["run/ckpt.bin", "run/moving.bin"]);
      assert.deepEqual(
        feed.of("run/old.txt").map((c) => c.op),
        ["add", "delete"],
      );
      assert.equal(await w.interrupt(), 130);
      assert.match(w.err.join("\n"), /interrupted/);
    } finally {
      w.kill();
      await feed.stop();
    }
  });

  it("down: another client's upload appears locally, byte-identical, within seconds; updates, deletes and a hub restart are followed", async () => {
    const opts = { hubUrl: hub.url, accessToken: hub.users.alice.token };
    await postBucket(hub, "alice/down", hub.users.alice.token);
    await uploadFiles({
      repo: "buckets/alice/down",
      files: [{ path: "mirror/first.txt", content: new TextEncoder().encode("first\n") }],
      ...opts,
    });
    const dst = join(home, "down");
    const w = new Watcher(hub, home, ["hf://buckets/alice/down/mirror", dst, "--delete"]);
    try {
      await w.waitFor(/^downloaded first\.txt \(6 B\)$/);
      await w.waitFor(/^Watching hf:\/\/buckets\/alice\/down\/mirror -> .* \(following the bucket's live changes\)/, "err");

      const model = seededBytes(3_000_000, 11);
      const t0 = Date.now();
      await uploadFiles({ repo: "buckets/alice/down", files: [{ path: "mirror/sub/model.bin", content: model }], ...opts });
      const uploaded = Date.now();
      const target = join(dst, "sub", "model.bin");
      await until(async () => (await stat(target).catch(() => undefined))?.size === model.length, "the downloaded file", 10_000);
      const lag = Date.now() - uploaded;
      assert.ok(Buffer.from(await readFile(target)).equals(Buffer.from(model)), "byte-identical");
      assert.ok(lag < 5000, `appeared ${lag} ms after the upload (${Date.now() - t0} ms in all)`);
      await w.waitFor(/^downloaded sub\/model\.bin \(3\.0 MB\)$/);

      // An update, then the hub restarts: the watcher resumes by cursor.
      await uploadFiles({
        repo: "buckets/alice/down",
        files: [{ path: "mirror/first.txt", content: new TextEncoder().encode("second\n") }],
        ...opts,
      });
      await until(async () => (await readFile(join(dst, "first.txt"), "utf8")) === "second\n", "the update");
      await hub.restart();
      await uploadFiles({
        repo: "buckets/alice/down",
        files: [{ path: "mirror/after-restart.txt", content: new TextEncoder().encode("hi\n") }],
        ...opts,
      });
      await until(
        async () => (await readFile(join(dst, "after-restart.txt"), "utf8").catch(() => "")) === "hi\n",
        "a change after the restart",
      );
      await deleteFiles({ repo: "buckets/alice/down", paths: ["mirror/sub/model.bin"], ...opts });
      await w.waitFor(/^deleted sub\/model\.bin$/);
      assert.equal(await stat(target).catch(() => undefined), undefined);
      assert.equal(await stat(join(dst, "sub")).catch(() => undefined), undefined, "its emptied folder went too");

      // Ctrl-C while a large file downloads: nothing half-written.
      const big = seededBytes(48 << 20, 12);
      const before = hub.requests.length;
      await uploadFiles({ repo: "buckets/alice/down", files: [{ path: "mirror/big.bin", content: big }], ...opts });
      await until(() => hub.requests.slice(before).some((r) => /\/v[12]\/reconstructions\//.test(r.path)), "the download to start", 10_000);
      assert.equal(await w.interrupt(), 130);
      await noTempFiles(dst);
      const got = await readFile(join(dst, "big.bin")).catch(() => undefined);
      if (got) assert.ok(Buffer.from(got).equals(Buffer.from(big)), "if the file is there, it is whole");
    } finally {
      w.kill();
    }
  });

  it("refuses --watch with --dry-run, --plan or --apply, and --settle without --watch (exit 2)", async () => {
    const env = cliEnv(home, { HF_ENDPOINT: hub.url, HF_TOKEN: hub.users.alice.token });
    const run = (args: string[]) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const c = spawn(process.execPath, [CLI, "sync", ...args], { env, cwd: home });
        let err = "";
        c.stderr.on("data", (d: Buffer) => (err += d.toString()));
        c.on("close", (code) => resolve({ code, err }));
      });
    for (const [args, re] of [
      [[home, "hf://buckets/alice/up", "--watch", "--dry-run"], /--watch cannot be combined with --dry-run/],
      [[home, "hf://buckets/alice/up", "--settle", "3"], /--settle needs --watch/],
      [[home, "hf://buckets/alice/up", "--watch", "--settle", "soon"], /--settle expects a number of seconds/],
      [[home, "hf://buckets/alice/up", "--watch", "--rescan", "0"], /--rescan expects a number of seconds > 0/],
    ] as const) {
      const r = await run([...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
      assert.match(r.err, re);
    }
  });
});
