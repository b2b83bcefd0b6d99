/**
 * BucketFileSystem against the real local hub: writeFile (bytes, text, Blob, mtime), ls (folders,
 * files, recursive, names), find, glob (`*`, `?`, `[…]`, `**`), stat / exists / isFile / isDir, readFile
 * (whole, ranges), createReadStream (inclusive ranges equal the source slice and fetch only part of the
 * file), open, rm (file, folder, recursive, missing), cp / mv with hf's copy rules, du; and the pure
 * glob translation.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BucketFileSystem, createBucketFs, parseBucketPath } from "../../src/fs/index.js";
import { globToRegExp, splitGlobBase } from "../../src/fs/glob.js";
import { createBucket } from "../../src/api/buckets.js";
import { BucketNotFoundError, EntryNotFoundError, XetBucketsError } from "../../src/errors.js";
import { startTestHub, type TestHub } from "../helpers/hub.js";
import { splitmix64 } from "../helpers/vectors.js";

let hub: TestHub;
let fs: BucketFileSystem;
const B = "hf://buckets/alice/fs";
const big = splitmix64(3 * 1024 * 1024 + 123, 7);
const casBytes: { n: number } = { n: 0 };

/** A fetch that counts the response bytes of CAS range fetches (the xorb data). */
const countingFetch: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  if (new URL(url).pathname.includes("/fetch/")) {
    const body = new Uint8Array(await res.arrayBuffer());
    casBytes.n += body.length;
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  }
  return res;
};

before(async () => {
  hub = await startTestHub();
  const opts = { hubUrl: hub.url, accessToken: hub.users.alice.token };
  await createBucket("alice/fs", opts);
  await createBucket("alice/fs2", opts);
  fs = createBucketFs({ ...opts, fetch: countingFetch });
  await fs.writeFile(`${B}/data/a.bin`, big, { mtime: new Date("2026-01-02T03:04:05.000Z") });
  await fs.writeFile(`buckets/alice/fs/data/b.bin`, new Uint8Array([1, 2, 3]));
  await fs.writeFile(`alice/fs/data/deep/c.txt`, "hello text");
  await fs.writeFile(`${B}/top.txt`, new Blob(["top"]));
  await fs.writeFile(`${B}/dota/x.bin`, new Uint8Array(10));
});
after(() => hub.close());

describe("glob translation", () => {
  it("* stays in a segment, ** crosses folders (zero or more), ?, sets", () => {
    const m = (p: string, s: string) => globToRegExp(p).test(s);
    assert.ok(m("*.bin", "a.bin"));
    assert.ok(!m("*.bin", "d/a.bin"));
    assert.ok(m("**/*.bin", "a.bin"));
    assert.ok(m("**/*.bin", "d/e/a.bin"));
    assert.ok(m("d/**", "d/e/a.bin"));
    assert.ok(!m("d/**", "d"));
    assert.ok(m("d/**/a.bin", "d/a.bin"));
    assert.ok(m("d?ta/[ab].bin", "data/a.bin"));
    assert.ok(!m("d?ta/[!ab].bin", "data/a.bin"));
    assert.ok(m("d?ta/[!ab].bin", "dota/x.bin"));
    assert.ok(m("a.b", "a.b") && !m("a.b", "axb"), "dots are literal");
    assert.deepEqual(splitGlobBase("data/deep/*.txt"), ["data/deep", "*.txt"]);
    assert.deepEqual(splitGlobBase("**"), ["", "**"]);
  });

  it("parses the three path forms and refuses others", () => {
    for (const p of ["hf://buckets/alice/fs/x/y", "buckets/alice/fs/x/y", "alice/fs/x/y"]) {
      const r = parseBucketPath(p);
      assert.equal(r.bucket.id, "alice/fs");
      assert.equal(r.path, "x/y");
    }
    assert.equal(parseBucketPath("alice/fs/dir/").trailingSlash, true);
    assert.throws(() => parseBucketPath("hf://datasets/alice/d"), /bucket/);
    assert.throws(() => parseBucketPath("https://example.com/x"), /not a bucket path/);
    assert.throws(() => parseBucketPath("alice"), /bucket/);
  });
});

describe("listing", () => {
  it("ls: direct children (folders and files), a folder, a file, recursive, names", async () => {
    const root = await fs.ls(B);
    assert.deepEqual(
      root.map((e) => [e.name, e.type]),
      [
        ["buckets/alice/fs/data", "directory"],
        ["buckets/alice/fs/dota", "directory"],
        ["buckets/alice/fs/top.txt", "file"],
      ],
    );
    assert.deepEqual(await fs.ls(`${B}/data`, { detail: false }), [
      "buckets/alice/fs/data/a.bin",
      "buckets/alice/fs/data/b.bin",
      "buckets/alice/fs/data/deep",
    ]);
    const file = await fs.ls(`${B}/data/a.bin`);
    assert.equal(file.length, 1);
    assert.equal(file[0]!.size, big.length);
    assert.match(file[0]!.xetHash!, /^[0-9a-f]{64}$/);
    const rec = await fs.ls(`${B}/data`, { recursive: true, detail: false });
    assert.deepEqual(rec, [
      "buckets/alice/fs/data/a.bin",
      "buckets/alice/fs/data/b.bin",
      "buckets/alice/fs/data/deep",
      "buckets/alice/fs/data/deep/c.txt",
    ]);
    await assert.rejects(fs.ls(`${B}/nothing/here`), EntryNotFoundError);
    await assert.rejects(fs.ls("alice/no-such-bucket"), BucketNotFoundError);
    assert.deepEqual(await fs.ls("alice/fs2"), [], "an empty bucket lists as []");
  });

  it("find: every file below a path (optionally with folders)", async () => {
    assert.deepEqual(await fs.find(B, { detail: false }), [
      "buckets/alice/fs/data/a.bin",
      "buckets/alice/fs/data/b.bin",
      "buckets/alice/fs/data/deep/c.txt",
      "buckets/alice/fs/dota/x.bin",
      "buckets/alice/fs/top.txt",
    ]);
    const withDirs = await fs.find(`${B}/data`, { withDirs: true, detail: false });
    assert.ok(withDirs.includes("buckets/alice/fs/data/deep"));
    assert.ok(!withDirs.includes("buckets/alice/fs/data"), "the folder itself is not below itself");
  });

  it("glob: *, ?, sets, ** (zero or more folders), no magic", async () => {
    assert.deepEqual(await fs.glob(`${B}/**/*.bin`), [
      "buckets/alice/fs/data/a.bin",
      "buckets/alice/fs/data/b.bin",
      "buckets/alice/fs/dota/x.bin",
    ]);
    assert.deepEqual(await fs.glob(`${B}/*.txt`), ["buckets/alice/fs/top.txt"], "* does not cross folders");
    assert.deepEqual(
      await fs.glob(`${B}/**/*.txt`),
      ["buckets/alice/fs/data/deep/c.txt", "buckets/alice/fs/top.txt"],
      "** matches zero folders too",
    );
    assert.deepEqual(await fs.glob(`${B}/d?ta/*`), [
      "buckets/alice/fs/data/a.bin",
      "buckets/alice/fs/data/b.bin",
      "buckets/alice/fs/data/deep",
      "buckets/alice/fs/dota/x.bin",
    ]);
    assert.deepEqual(await fs.glob(`${B}/data/[a]*`), ["buckets/alice/fs/data/a.bin"]);
    assert.deepEqual(await fs.glob(`${B}/data/**`), [
      "buckets/alice/fs/data/a.bin",
      "buckets/alice/fs/data/b.bin",
      "buckets/alice/fs/data/deep",
      "buckets/alice/fs/data/deep/c.txt",
    ]);
    assert.deepEqual(await fs.glob(`${B}/top.txt`), ["buckets/alice/fs/top.txt"]);
    assert.deepEqual(await fs.glob(`${B}/missing.txt`), []);
    const detail = await fs.glob(`${B}/data/*.bin`, { detail: true });
    assert.deepEqual(
      detail.map((e) => e.size),
      [big.length, 3],
    );
  });

  it("stat, exists, isFile, isDir, du", async () => {
    const s = await fs.stat(`${B}/data/a.bin`);
    assert.equal(s.type, "file");
    assert.equal(s.size, big.length);
    assert.equal(s.mtimeMs, Date.parse("2026-01-02T03:04:05.000Z"), "the mtime given to writeFile");
    assert.equal((await fs.stat(`${B}/data`)).type, "directory");
    assert.equal((await fs.stat(`${B}/data/deep/`)).type, "directory");
    const root = await fs.stat(B);
    assert.equal(root.type, "directory");
    assert.equal(root.size, big.length + 3 + 10 + 3 + 10, "the root's size is the bucket's");
    await assert.rejects(fs.stat(`${B}/dat`), EntryNotFoundError, "a prefix of a folder name is not a folder");
    assert.equal(await fs.exists(`${B}/data/b.bin`), true);
    assert.equal(await fs.exists(`${B}/data/zzz`), false);
    assert.equal(await fs.exists("alice/no-such-bucket/x"), false);
    assert.equal(await fs.isFile(`${B}/data/b.bin`), true);
    assert.equal(await fs.isFile(`${B}/data`), false);
    assert.equal(await fs.isDir(`${B}/data`), true);
    assert.equal(await fs.du(`${B}/data`), big.length + 3 + 10);
    assert.equal(await fs.du(`${B}/data/b.bin`), 3);
  });
});

describe("reading", () => {
  it("readFile: whole file, ranges (end exclusive, negative from the end), text", async () => {
    assert.deepEqual(await fs.readFile(`${B}/data/a.bin`), big);
    assert.deepEqual(await fs.readFile(`${B}/data/a.bin`, { start: 1000, end: 5000 }), big.subarray(1000, 5000));
    assert.deepEqual(await fs.readFile(`${B}/data/a.bin`, { start: -10 }), big.subarray(big.length - 10));
    assert.equal(await fs.readText(`${B}/data/deep/c.txt`), "hello text");
    await assert.rejects(fs.readFile(`${B}/data/nope.bin`), EntryNotFoundError);
    const err = await fs.readFile(`${B}/data`).catch((e) => e);
    assert.ok(err instanceof XetBucketsError && err.code === "IS_A_DIRECTORY", String(err));
  });

  it("createReadStream: inclusive ranges equal the source slice and fetch only part of the file", async () => {
    const read = async (s: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(s).arrayBuffer());
    casBytes.n = 0;
    assert.deepEqual(await read(fs.createReadStream(`${B}/data/a.bin`)), big);
    assert.ok(casBytes.n >= big.length, `a whole read fetches the whole file (${casBytes.n} bytes)`);
    const ranges: [number, number][] = [
      [0, 0],
      [0, 65535],
      [65536, 200_000],
      [1_000_000, 1_000_999],
      [big.length - 1000, big.length - 1],
      [big.length - 1, big.length + 50],
    ];
    for (const [start, end] of ranges) {
      casBytes.n = 0;
      const got = await read(fs.createReadStream(`${B}/data/a.bin`, { start, end }));
      assert.deepEqual(got, big.subarray(start, end + 1), `bytes ${start}-${end}`);
      if (end - start < 100_000) assert.ok(casBytes.n < big.length / 4, `range ${start}-${end} fetched ${casBytes.n} bytes of xorb data`);
    }
    const s = fs.createReadStream(`${B}/missing.bin`);
    await assert.rejects(read(s), EntryNotFoundError);
    assert.throws(() => fs.createReadStream(`${B}/data/a.bin`, { start: 10, end: 5 }), /end/);
  });

  it("open: a lazy blob with slice()", async () => {
    const blob = await fs.open(`${B}/data/a.bin`);
    assert.equal(blob.size, big.length);
    assert.deepEqual(new Uint8Array(await blob.slice(10, 20).arrayBuffer()), big.subarray(10, 20));
  });
});

describe("writing and removing", () => {
  it("writeFile replaces a file and reports dedup; rm file, folder (recursive only), missing", async () => {
    const again = await fs.writeFile(`${B}/copy/a.bin`, big);
    assert.equal(again.newBytes, 0, "the same content is fully deduplicated");
    assert.equal(again.dedupLocalBytes + again.dedupGlobalBytes, big.length);
    await fs.writeFile(`${B}/copy/a.bin`, "short now");
    assert.equal(await fs.readText(`${B}/copy/a.bin`), "short now");
    await assert.rejects(fs.writeFile(`${B}/copy/`, "x"), /file path/);

    await fs.writeFile(`${B}/tmp/one`, "1");
    await fs.writeFile(`${B}/tmp/sub/two`, "2");
    const err = await fs.rm(`${B}/tmp`).catch((e) => e);
    assert.equal(err?.code, "IS_A_DIRECTORY");
    assert.equal(await fs.exists(`${B}/tmp/one`), true, "nothing removed");
    assert.deepEqual(await fs.rm(`${B}/tmp/one`), ["buckets/alice/fs/tmp/one"]);
    assert.deepEqual(await fs.rm(`${B}/tmp`, { recursive: true }), ["buckets/alice/fs/tmp/sub/two"]);
    assert.equal(await fs.exists(`${B}/tmp`), false, "the folder is gone with its last file");
    await assert.rejects(fs.rm(`${B}/tmp/one`), EntryNotFoundError);
    await assert.rejects(fs.rm(`${B}/tmp`, { recursive: true }), EntryNotFoundError);
    await fs.rm(`${B}/copy/a.bin`);
  });

  it("cp and mv: hf's copy rules, server-side, mtime kept", async () => {
    const D = "hf://buckets/alice/fs2";
    // A file into a bucket root, then to an explicit name, then into a folder ("/").
    await fs.cp(`${B}/data/a.bin`, D);
    await fs.cp(`${B}/data/b.bin`, `${D}/renamed.bin`);
    await fs.cp(`${B}/top.txt`, `${D}/inbox/`);
    // A folder without "/" into an existing folder nests it; with "/" merges its contents.
    await fs.cp(`${B}/data/deep`, `${D}/inbox`);
    await fs.cp(`${B}/data/deep/`, `${D}/inbox`);
    // A folder to a new path: renamed.
    const copied = await fs.cp(`${B}/dota`, `${D}/new-place`);
    assert.deepEqual(copied, [{ from: "buckets/alice/fs/dota/x.bin", to: "buckets/alice/fs2/new-place/x.bin", size: 10 }]);
    assert.deepEqual(await fs.find(D, { detail: false }), [
      "buckets/alice/fs2/a.bin",
      "buckets/alice/fs2/inbox/c.txt",
      "buckets/alice/fs2/inbox/deep/c.txt",
      "buckets/alice/fs2/inbox/top.txt",
      "buckets/alice/fs2/new-place/x.bin",
      "buckets/alice/fs2/renamed.bin",
    ]);
    assert.deepEqual(await fs.readFile(`${D}/a.bin`), big);
    assert.equal((await fs.stat(`${D}/a.bin`)).mtimeMs, Date.parse("2026-01-02T03:04:05.000Z"));
    await assert.rejects(fs.cp(`${B}/nothing`, D), EntryNotFoundError);

    await fs.mv(`${D}/inbox`, `${D}/moved`);
    assert.equal(await fs.exists(`${D}/inbox`), false);
    assert.deepEqual(await fs.find(`${D}/moved`, { detail: false }), [
      "buckets/alice/fs2/moved/c.txt",
      "buckets/alice/fs2/moved/deep/c.txt",
      "buckets/alice/fs2/moved/top.txt",
    ]);
  });
});
