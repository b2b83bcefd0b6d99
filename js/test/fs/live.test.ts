/**
 * BucketFileSystem's `walk` and `maxDepth` (find, glob, walk), checked against huggingface_hub 2.4's
 * HfFileSystem on the same bucket; and `liveFollow`: listings served from a cache that the bucket's events
 * feed keeps fresh (another client's upload and delete show up without the Hub being listed again), this
 * file system's own writes visible at once, a deleted bucket never served from the cache, and `close()`.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BucketFileSystem } from "../../src/fs/index.js";
import { createBucket, deleteBucket, deleteFiles, uploadFiles } from "../../src/index.js";
import { BucketNotFoundError, InvalidArgumentError } from "../../src/errors.js";
import { hasPythonClients, runPython } from "../helpers/clients.js";
import { startTestHub, type TestHub } from "../helpers/hub.js";

let hub: TestHub;
let opts: { hubUrl: string; accessToken: string };
const B = "buckets/alice/tree";
const FILES = ["a.txt", "d/b.txt", "d/e/c.txt", "d/e/f/g.txt", "x/y.txt", "x/z.bin"];

before(async () => {
  hub = await startTestHub();
  opts = { hubUrl: hub.url, accessToken: hub.users.alice.token };
  await createBucket("alice/tree", opts);
  await uploadFiles({ repo: B, files: FILES.map((path) => ({ path, content: new TextEncoder().encode(path) })), ...opts });
});
after(() => hub.close());

async function collect<T>(gen: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

describe("walk and maxDepth", () => {
  it("walk yields [folder, subfolders, files] top-down, bottom-up, pruned, bounded, with entries", async () => {
    const fs = new BucketFileSystem(opts);
    assert.deepEqual(await collect(fs.walk(B)), [
      [B, ["d", "x"], ["a.txt"]],
      [`${B}/d`, ["e"], ["b.txt"]],
      [`${B}/d/e`, ["f"], ["c.txt"]],
      [`${B}/d/e/f`, [], ["g.txt"]],
      [`${B}/x`, [], ["y.txt", "z.bin"]],
    ]);
    assert.deepEqual(
      (await collect(fs.walk(B, { topdown: false }))).map(([d]) => d),
      [`${B}/d/e/f`, `${B}/d/e`, `${B}/d`, `${B}/x`, B],
    );
    assert.deepEqual(
      (await collect(fs.walk(`hf://${B}/d`, { maxDepth: 2 }))).map(([d]) => d),
      [`${B}/d`, `${B}/d/e`],
    );
    const pruned: string[] = [];
    for await (const [folder, dirs] of fs.walk(B)) {
      pruned.push(folder);
      if (folder === B) dirs.splice(dirs.indexOf("d"), 1); // top-down: skip d
    }
    assert.deepEqual(pruned, [B, `${B}/x`]);
    const [first] = await collect(fs.walk(B, { detail: true }));
    assert.deepEqual(
      first![1].map((e) => [e.type, e.name]),
      [
        ["directory", `${B}/d`],
        ["directory", `${B}/x`],
      ],
    );
    assert.equal(first![2][0]!.size, "a.txt".length);
    assert.deepEqual(await collect(fs.walk(`${B}/a.txt`)), [[`${B}/a.txt`, [], [""]]], "a file: fsspec's rule");
    assert.deepEqual(await collect(fs.walk(`${B}/nothing`)), []);
    await assert.rejects(collect(fs.walk("buckets/alice/missing")), BucketNotFoundError);
    await assert.rejects(collect(fs.walk(B, { maxDepth: 0 })), InvalidArgumentError);
  });

  it("find and glob take maxDepth (levels below the path; for glob, levels ** may cross)", async () => {
    const fs = new BucketFileSystem(opts);
    assert.deepEqual(await fs.find(B, { maxDepth: 1, detail: false }), [`${B}/a.txt`]);
    assert.deepEqual(await fs.find(B, { maxDepth: 2, detail: false }), [`${B}/a.txt`, `${B}/d/b.txt`, `${B}/x/y.txt`, `${B}/x/z.bin`]);
    assert.deepEqual(await fs.find(B, { maxDepth: 1, withDirs: true, detail: false }), [`${B}/a.txt`, `${B}/d`, `${B}/x`]);
    assert.deepEqual(await fs.glob(`${B}/**/*.txt`, { maxDepth: 1 }), [`${B}/a.txt`]);
    assert.deepEqual(await fs.glob(`${B}/**/*.txt`, { maxDepth: 2 }), [`${B}/a.txt`, `${B}/d/b.txt`, `${B}/x/y.txt`]);
    assert.deepEqual(await fs.glob(`${B}/d/**/*.txt`, { maxDepth: 2 }), [`${B}/d/b.txt`, `${B}/d/e/c.txt`]);
    assert.deepEqual(await fs.glob(`${B}/*/*.txt`, { maxDepth: 1 }), [`${B}/d/b.txt`, `${B}/x/y.txt`], "no ** : maxDepth changes nothing");
    await assert.rejects(fs.find(B, { maxDepth: 0 }), InvalidArgumentError);
    await assert.rejects(fs.glob(`${B}/**`, { maxDepth: 1.5 }), InvalidArgumentError);
  });

  it(
    "agrees with huggingface_hub's HfFileSystem on walk, find and glob with maxdepth",
    { skip: !hasPythonClients() && "no venv" },
    async () => {
      const code = `
import json
from huggingface_hub import HfFileSystem
fs = HfFileSystem()
B = "${B}"
out = {
  "walk": [[r, sorted(d), sorted(f)] for r, d, f in fs.walk(B)],
  "walk2": [[r, sorted(d), sorted(f)] for r, d, f in fs.walk(B + "/d", maxdepth=2)],
  "find1": fs.find(B, maxdepth=1),
  "find2": fs.find(B, maxdepth=2),
  "glob1": fs.glob(B + "/**/*.txt", maxdepth=1),
  "glob2": fs.glob(B + "/**/*.txt", maxdepth=2),
  "globd": fs.glob(B + "/d/**/*.txt", maxdepth=2),
  "glob": fs.glob(B + "/**/*.txt"),
}
print(json.dumps(out))
`;
      const r = await runPython(hub.url, hub.users.alice.token, ["-c", code]);
      assert.equal(r.code, 0, r.stderr);
      const py = JSON.parse(r.stdout.trim().split("\n").pop()!);
      const fs = new BucketFileSystem(opts);
      assert.deepEqual(await collect(fs.walk(B)), py.walk);
      assert.deepEqual(await collect(fs.walk(`${B}/d`, { maxDepth: 2 })), py.walk2);
      assert.deepEqual(await fs.find(B, { maxDepth: 1, detail: false }), py.find1);
      assert.deepEqual(await fs.find(B, { maxDepth: 2, detail: false }), py.find2);
      assert.deepEqual(await fs.glob(`${B}/**/*.txt`, { maxDepth: 1 }), py.glob1);
      assert.deepEqual(await fs.glob(`${B}/**/*.txt`, { maxDepth: 2 }), py.glob2);
      assert.deepEqual(await fs.glob(`${B}/d/**/*.txt`, { maxDepth: 2 }), py.globd);
      assert.deepEqual(await fs.glob(`${B}/**/*.txt`), py.glob);
    },
  );
});

describe("liveFollow", () => {
  const trees = () => hub.requests.filter((r) => r.path.startsWith("/api/buckets/alice/live/tree")).length;
  async function until(pred: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await pred())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("serves listings from a cache the events feed keeps fresh; own writes show at once; close() stops it", async () => {
    await createBucket("alice/live", opts);
    await uploadFiles({ repo: "buckets/alice/live", files: [{ path: "m/one.txt", content: new TextEncoder().encode("1") }], ...opts });
    const fs = new BucketFileSystem({ ...opts, liveFollow: true });
    try {
      await fs.ls("buckets/alice/live"); // starts the bucket's feed
      await until(() => fs.isLive("buckets/alice/live"), "the feed to be live");
      assert.deepEqual(await fs.find("buckets/alice/live", { detail: false }), ["buckets/alice/live/m/one.txt"]);
      await fs.ls("buckets/alice/live/m");
      const listed = trees();
      assert.deepEqual(await fs.find("buckets/alice/live", { detail: false }), ["buckets/alice/live/m/one.txt"]);
      assert.deepEqual(await fs.ls("buckets/alice/live/m", { detail: false }), ["buckets/alice/live/m/one.txt"]);
      assert.equal((await fs.stat("buckets/alice/live/m")).type, "directory");
      assert.equal(trees(), listed, "served from the cache");

      // Another client writes: the feed brings it in, the Hub is not listed again.
      await uploadFiles({ repo: "buckets/alice/live", files: [{ path: "m/two.txt", content: new TextEncoder().encode("22") }], ...opts });
      await until(async () => (await fs.ls("buckets/alice/live/m", { detail: false })).length === 2, "m/two.txt in the listing");
      assert.deepEqual(await fs.glob("buckets/alice/live/**/*.txt"), ["buckets/alice/live/m/one.txt", "buckets/alice/live/m/two.txt"]);
      assert.equal((await fs.stat("buckets/alice/live/m/two.txt")).size, 2);
      await uploadFiles({
        repo: "buckets/alice/live",
        files: [{ path: "n/three.txt", content: new TextEncoder().encode("333") }],
        ...opts,
      });
      await until(
        async () => (await fs.ls("buckets/alice/live", { detail: false })).includes("buckets/alice/live/n"),
        "the new folder at the root",
      );
      await deleteFiles({ repo: "buckets/alice/live", paths: ["m/one.txt"], ...opts });
      await until(async () => !(await fs.exists("buckets/alice/live/m/one.txt")), "the delete");
      assert.equal(trees(), listed, "all from the feed");

      // Its own writes are visible at once.
      await fs.writeFile("buckets/alice/live/m/mine.txt", "mine");
      assert.ok((await fs.ls("buckets/alice/live/m", { detail: false })).includes("buckets/alice/live/m/mine.txt"));
      await fs.rm("buckets/alice/live/m/mine.txt");
      assert.ok(!(await fs.ls("buckets/alice/live/m", { detail: false })).includes("buckets/alice/live/m/mine.txt"));

      fs.close();
      assert.equal(fs.isLive("buckets/alice/live"), false);
      const before = trees();
      await fs.ls("buckets/alice/live/m");
      assert.equal(trees(), before + 1, "closed: every call asks the Hub again");
    } finally {
      fs.close();
    }
  });

  it("a deleted bucket is never served from the cache", async () => {
    await createBucket("alice/brief", opts);
    await uploadFiles({ repo: "buckets/alice/brief", files: [{ path: "f.txt", content: new TextEncoder().encode("f") }], ...opts });
    const fs = new BucketFileSystem({ ...opts, liveFollow: true });
    try {
      await fs.ls("buckets/alice/brief");
      await until(() => fs.isLive("buckets/alice/brief"), "live");
      await fs.ls("buckets/alice/brief");
      await deleteBucket("alice/brief", opts);
      await until(() => !fs.isLive("buckets/alice/brief"), "the reset");
      await assert.rejects(fs.ls("buckets/alice/brief"), BucketNotFoundError);
    } finally {
      fs.close();
    }
  });
});
