/**
 * `syncBucket(…, { watch: true })` through the API, against a local hub: the settle time, the delete guards
 * applied to each round (an emptied source deletes nothing unless `force`, `maxDelete`), the polling fallback
 * when the server serves no events feed, a damaged file that does not end the watch, abort, and invalid options.
 */
import assert from "node:assert/strict";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { InvalidArgumentError, listFiles, settleTime, syncBucket, uploadFiles, type SyncEvent } from "../../src/index.js";
import { xetHash } from "../../src/hash.js";
import { seededBytes } from "../helpers/data.mjs";
import { postBucket, startTestHub, type TestHub } from "../helpers/hub.js";
import { damageStoredXorbs } from "../helpers/hub-state.js";

let hub: TestHub;
let work: string;
before(async () => {
  hub = await startTestHub();
  work = await mkdtemp(join(tmpdir(), "xet-sync-watch-"));
});
after(async () => {
  await hub?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Runs a watching sync in the background: its events, and a stop that expects the abort. */
function watching(source: string, dest: string, options: Parameters<typeof syncBucket>[2] = {}, hubUrl = hub.url) {
  const events: SyncEvent[] = [];
  const ctl = new AbortController();
  const run = syncBucket(source, dest, {
    hubUrl,
    accessToken: hub.users.alice.token,
    watch: true,
    settle: 200,
    rescanInterval: 300,
    retry: { baseDelayMs: 50, maxDelayMs: 200 },
    ...options,
    abortSignal: ctl.signal,
    onEvent: (e) => events.push(e),
  });
  run.catch(() => undefined);
  return {
    events,
    transfers: () => events.flatMap((e) => (e.type === "transferred" ? [`${e.action} ${e.path}`] : [])),
    warnings: () => events.flatMap((e) => (e.type === "warning" ? [e.message] : [])),
    async until(pred: () => boolean, what: string, ms = 15_000) {
      const deadline = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}: ${JSON.stringify(events.filter((e) => e.type !== "upload")).slice(0, 3000)}`);
        await Promise.race([run, new Promise((r) => setTimeout(r, 25))]);
      }
    },
    async stop() {
      ctl.abort(new Error("stop"));
      await assert.rejects(run, /stop/, "a watch ends with the abort reason");
    },
  };
}

async function remoteFiles(bucket: string): Promise<string[]> {
  const out: string[] = [];
  for await (const f of listFiles({ repo: `buckets/${bucket}`, recursive: true, hubUrl: hub.url, accessToken: hub.users.alice.token }))
    out.push(f.path);
  return out.sort();
}

describe("syncBucket watch mode", () => {
  it("settle time: 2 s + 1 s per GiB by default, a base of the caller's, or a function", () => {
    assert.equal(settleTime(0), 2000);
    assert.equal(settleTime(2 ** 30), 3000);
    assert.equal(settleTime(10 * 2 ** 30), 12_000);
    assert.equal(settleTime(2 ** 29, 500), 1000);
    assert.equal(
      settleTime(123, (size) => size * 2),
      246,
    );
  });

  it("holds back the deletes of a round under the one-shot guards: an emptied source, maxDelete; force lifts the first", async () => {
    await postBucket(hub, "alice/guards", hub.users.alice.token);
    const src = join(work, "guards");
    await mkdir(src);
    for (const n of ["a", "b", "c"]) await writeFile(join(src, `${n}.txt`), n);
    const w = watching(src, "hf://buckets/alice/guards", { delete: true, maxDelete: 1 });
    await w.until(() => w.transfers().length === 3, "3 uploads");
    for (const n of ["a", "b", "c"]) await rm(join(src, `${n}.txt`));
    await w.until(() => w.warnings().some((m) => /3 deletes held back: the source .* is empty/.test(m)), "the empty-source guard");
    await writeFile(join(src, "d.txt"), "d");
    await w.until(() => w.warnings().some((m) => /3 deletes held back: more than maxDelete \(1\)/.test(m)), "the maxDelete guard");
    await w.until(() => w.transfers().includes("upload d.txt"), "d uploaded");
    await w.stop();
    assert.deepEqual(await remoteFiles("alice/guards"), ["a.txt", "b.txt", "c.txt", "d.txt"], "nothing deleted");

    await rm(join(src, "d.txt"));
    const forced = watching(src, "hf://buckets/alice/guards", { delete: true, force: true });
    await forced.until(() => forced.transfers().length === 4, "4 deletes");
    await forced.stop();
    assert.deepEqual(await remoteFiles("alice/guards"), []);
  });

  it("a local name that cannot be a bucket path is reported once and skipped; the others go", async () => {
    await postBucket(hub, "alice/names", hub.users.alice.token);
    const src = join(work, "names");
    await mkdir(src);
    await writeFile(join(src, "back\\slash.txt"), "x");
    await writeFile(join(src, "fine.txt"), "y");
    const w = watching(src, "hf://buckets/alice/names");
    await w.until(() => w.transfers().includes("upload fine.txt"), "fine.txt");
    await writeFile(join(src, "later.txt"), "z");
    await w.until(() => w.transfers().includes("upload later.txt"), "later.txt");
    await w.stop();
    assert.equal(w.warnings().filter((m) => m.includes("back\\slash.txt is not uploaded")).length, 1);
    assert.deepEqual(await remoteFiles("alice/names"), ["fine.txt", "later.txt"]);
  });

  it("bucket → local without an events feed: lists the bucket every rescanInterval instead", async () => {
    await postBucket(hub, "alice/nofeed", hub.users.alice.token);
    // A proxy in front of the hub that answers the events feed with a plain 404, as a server without it.
    const proxy: Server = createServer((req, res) => {
      if (req.url?.includes("/events")) {
        res.writeHead(404, { "Content-Type": "application/json" });
        res.end('{"error":"no such endpoint"}');
        return;
      }
      const target = new URL(hub.url);
      const fwd = httpRequest(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode!, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(fwd);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const dst = join(work, "nofeed");
      const w = watching("hf://buckets/alice/nofeed", dst, {}, proxyUrl);
      await w.until(() => w.events.some((e) => e.type === "watching"), "watching");
      const started = w.events.find((e) => e.type === "watching");
      assert.equal(started?.type === "watching" && started.how, "polling");
      assert.ok(w.warnings().some((m) => /does not serve the live events feed/.test(m)));
      await uploadFiles({
        repo: "buckets/alice/nofeed",
        files: [{ path: "x.txt", content: new TextEncoder().encode("polled\n") }],
        hubUrl: hub.url,
        accessToken: hub.users.alice.token,
      });
      await w.until(() => w.transfers().includes("download x.txt"), "the download");
      assert.equal(await readFile(join(dst, "x.txt"), "utf8"), "polled\n");
      await w.stop();
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });

  it("bucket → local: a file whose stored data is damaged is reported, the others are downloaded, the watch goes on", async () => {
    const opts = { hubUrl: hub.url, accessToken: hub.users.alice.token };
    await postBucket(hub, "alice/damaged-watch", hub.users.alice.token);
    const bad = seededBytes(500_000, 61);
    await uploadFiles({
      ...opts,
      repo: "buckets/alice/damaged-watch",
      files: [
        { path: "good.bin", content: seededBytes(200_000, 62) },
        { path: "bad.bin", content: bad },
      ],
    });
    const damage = damageStoredXorbs(hub.dataDir, await xetHash(bad));
    const dst = join(work, "damaged-watch");
    const w = watching("hf://buckets/alice/damaged-watch", dst);
    try {
      await w.until(() => w.transfers().includes("download good.bin"), "good.bin downloaded");
      await w.until(() => w.warnings().some((m) => m.startsWith("bad.bin is not downloaded: ")), "the damaged file reported");
      // Still watching: a new file arrives.
      await uploadFiles({ ...opts, repo: "buckets/alice/damaged-watch", files: [{ path: "later.txt", content: new Blob(["later"]) }] });
      await w.until(() => w.transfers().includes("download later.txt"), "later.txt downloaded");
      assert.equal(await readFile(join(dst, "later.txt"), "utf8"), "later");
    } finally {
      damage.repair();
      await w.stop();
    }
  });

  it("refuses watch with dryRun, plan or apply, and invalid settle or rescanInterval", async () => {
    const base = { hubUrl: hub.url, accessToken: hub.users.alice.token, watch: true };
    for (const extra of [{ dryRun: true }, { plan: join(work, "p.jsonl") }, { settle: -1 }, { rescanInterval: 0 }]) {
      await assert.rejects(
        syncBucket(work, "hf://buckets/alice/guards", { ...base, ...extra }),
        InvalidArgumentError,
        JSON.stringify(extra),
      );
    }
  });
});
