/**
 * Files of a bucket against the real local hub: listFiles (root, folders, recursive, pagination, the
 * prefix filter, awkward names), pathsInfo (batches of ≤ 1000), fileExists, fileDownloadInfo,
 * getBucketFileMetadata, deleteFile(s) (BatchError for failures), and server-side copies
 * (copyFile/copyFiles/copyFolder: same xetHash, mtime kept, no data transfer, clear errors for folders,
 * missing files and repository sources).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createBucket } from "../../src/api/buckets.js";
import {
  copyFile,
  copyFileIter,
  copyFiles,
  copyFolder,
  deleteFile,
  deleteFiles,
  fileDownloadInfo,
  fileExists,
  getBucketFileMetadata,
  listFiles,
  pathsInfo,
  type ListFileEntry,
} from "../../src/api/files.js";
import { xetHash } from "../../src/hash.js";
import { BatchError, BucketNotFoundError, EntryNotFoundError, InvalidArgumentError, RepoNotFoundError } from "../../src/errors.js";
import { seed, startTestHub, type TestHub, type Who } from "../helpers/hub.js";

let hub: TestHub;
let alice: Who;
const B = "alice/files";
const repo = `buckets/${B}` as const;
const MTIME = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

const FILES: Record<string, string> = {
  "top.txt": "top",
  "logs.json": "{}",
  "logs/a.log": "aaaa",
  "logs/deep/b.log": "bb",
  "dir with space/file #1?.txt": "odd name",
  "unicode/été.txt": "é",
};

before(async () => {
  hub = await startTestHub({ treePageSize: 2 });
  alice = { hubUrl: hub.url, accessToken: hub.users.alice.token };
  await seed(alice, B, FILES, { mtime: MTIME });
});
after(() => hub.close());

async function collect(it: AsyncIterable<ListFileEntry>): Promise<ListFileEntry[]> {
  const out = [];
  for await (const e of it) out.push(e);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

describe("listFiles", () => {
  it("lists the root: files and folders, across pages of 2", async () => {
    const entries = await collect(listFiles({ repo, ...alice }));
    assert.deepEqual(
      entries.map((e) => `${e.type}:${e.path}`),
      ["directory:dir with space", "directory:logs", "file:logs.json", "file:top.txt", "directory:unicode"].sort((a, b) =>
        a.slice(a.indexOf(":") + 1).localeCompare(b.slice(b.indexOf(":") + 1)),
      ),
    );
    const top = entries.find((e) => e.path === "top.txt")!;
    assert.equal(top.size, 3);
    assert.equal(top.xetHash, await xetHash(new TextEncoder().encode("top")));
    assert.equal(top.mtime, new Date(MTIME).toISOString());
    assert.match(top.uploadedAt ?? "", /Z$/);
    assert.ok(hub.count("GET", `/api/buckets/${B}/tree`) >= 3, "followed the Link pages");
  });

  it("lists a folder recursively without the lexical neighbours (logs.json is not in logs/)", async () => {
    const entries = await collect(listFiles({ repo, path: "logs", recursive: true, ...alice }));
    assert.deepEqual(
      entries.map((e) => e.path),
      ["logs/a.log", "logs/deep/b.log"],
    );
    assert.ok(entries.every((e) => e.type === "file"));
    const viaUri = await collect(listFiles({ repo: `hf://buckets/${B}/logs`, ...alice }));
    assert.deepEqual(
      viaUri.map((e) => `${e.type}:${e.path}`),
      ["file:logs/a.log", "directory:logs/deep"],
    );
  });

  it("handles paths that need percent-encoding (spaces, #, ?, non-ASCII)", async () => {
    const entries = await collect(listFiles({ repo, path: "dir with space", ...alice }));
    assert.deepEqual(
      entries.map((e) => e.path),
      ["dir with space/file #1?.txt"],
    );
    assert.equal(await fileExists({ repo, path: "dir with space/file #1?.txt", ...alice }), true);
    assert.equal(await fileExists({ repo, path: "unicode/été.txt", ...alice }), true);
    const info = await getBucketFileMetadata(B, "dir with space/file #1?.txt", alice);
    assert.equal(info.size, "odd name".length);
  });

  it("an aborted signal stops listings and metadata calls", async () => {
    const ctl = new AbortController();
    ctl.abort(new Error("stopped"));
    await assert.rejects(collect(listFiles({ repo, ...alice, abortSignal: ctl.signal })), /stopped/);
    await assert.rejects(pathsInfo({ repo, paths: ["top.txt"], ...alice, abortSignal: ctl.signal }), /stopped/);
    await assert.rejects(fileExists({ repo, path: "top.txt", ...alice, abortSignal: ctl.signal }), /stopped/);
  });

  it("accepts the deprecated credentials form", async () => {
    const entries = await collect(listFiles({ repo, path: "logs", hubUrl: hub.url, credentials: { accessToken: alice.accessToken } }));
    assert.equal(entries.length, 2);
  });

  it("recursive listing of the whole bucket returns every file once", async () => {
    const entries = await collect(listFiles({ repo, recursive: true, ...alice }));
    assert.deepEqual(
      entries.map((e) => e.path),
      Object.keys(FILES).sort((a, b) => a.localeCompare(b)),
    );
  });
});

describe("metadata", () => {
  it("pathsInfo omits unknown paths and folders, and sends at most 1000 paths per request", async () => {
    const before = hub.count("POST", `/api/buckets/${B}/paths-info`);
    const many = Array.from({ length: 1500 }, (_, i) => `missing/${i}`);
    const infos = await pathsInfo({ repo, paths: ["top.txt", "logs", ...many, "logs/a.log"], ...alice });
    assert.deepEqual(infos.map((i) => i.path).sort(), ["logs/a.log", "top.txt"]);
    assert.equal(hub.count("POST", `/api/buckets/${B}/paths-info`) - before, 2);
    const top = infos.find((i) => i.path === "top.txt")!;
    assert.equal(top.type, "file");
    assert.equal(top.mtime, new Date(MTIME).toISOString(), "mtime is kept (hub.js drops it)");
  });

  it("fileExists / fileDownloadInfo / getBucketFileMetadata", async () => {
    assert.equal(await fileExists({ repo, path: "top.txt", ...alice }), true);
    assert.equal(await fileExists({ repo, path: "nope.txt", ...alice }), false);
    assert.equal(await fileDownloadInfo({ repo, path: "nope.txt", ...alice }), null);
    const dl = (await fileDownloadInfo({ repo, path: "logs/a.log", ...alice }))!;
    assert.equal(dl.size, 4);
    assert.ok(dl.etag);
    assert.equal(dl.xet?.hash, await xetHash(new TextEncoder().encode("aaaa")));
    assert.equal(dl.xet?.refreshUrl.href, `${hub.url}/api/buckets/${B}/xet-read-token`);
    const meta = await getBucketFileMetadata(`hf://buckets/${B}`, "logs/a.log", alice);
    assert.equal(meta.xetHash, dl.xet?.hash);
    assert.equal(meta.size, 4);
    // A missing bucket is not a missing file: it throws instead of answering null/false... except fileExists (any 404).
    await assert.rejects(fileDownloadInfo({ repo: "buckets/alice/no-such-bucket", path: "a", ...alice }), BucketNotFoundError);
    assert.equal(await fileExists({ repo: "buckets/alice/no-such-bucket", path: "a", ...alice }), false);
    const err = await getBucketFileMetadata(B, "logs/missing.log", alice).catch((e) => e);
    assert.ok(err instanceof EntryNotFoundError);
    assert.equal(err.statusCode, 404);
  });
});

describe("deleteFile(s)", () => {
  it("deletes files; a missing path is reported as a BatchError after the others were applied", async () => {
    const D = "alice/deletes";
    await seed(alice, D, { "a.txt": "a", "b.txt": "b", "c/d.txt": "d" });
    await deleteFile({ repo: `buckets/${D}`, path: "a.txt", ...alice });
    assert.equal(await fileExists({ repo: `buckets/${D}`, path: "a.txt", ...alice }), false);
    const err = await deleteFiles({ repo: `buckets/${D}`, paths: ["b.txt", "not-there.txt"], ...alice }).catch((e) => e);
    assert.ok(err instanceof BatchError, String(err));
    assert.deepEqual(
      err.failures.map((f: { path: string }) => f.path),
      ["not-there.txt"],
    );
    assert.match(err.message, /not transactional/);
    assert.equal(await fileExists({ repo: `buckets/${D}`, path: "b.txt", ...alice }), false, "b.txt was deleted anyway");
    await deleteFiles({ repo: `buckets/${D}`, paths: [], ...alice });
    await assert.rejects(deleteFiles({ repo: `buckets/${D}`, paths: ["../x"], ...alice }), InvalidArgumentError);
  });
});

describe("server-side copies", () => {
  it("copyFile: same xetHash, source mtime kept, no xorb or shard upload", async () => {
    await createBucket("alice/copy-dst", { existOk: true, ...alice });
    const uploadsBefore = hub.count("POST", "/v1/xorbs") + hub.count("POST", "/v1/shards") + hub.count("POST", "/v2/shards");
    await copyFile({
      source: { repo: { type: "bucket", name: B }, path: "logs/a.log" },
      destination: { repo: "buckets/alice/copy-dst", path: "copied/a.log" },
      ...alice,
    });
    const [info] = await pathsInfo({ repo: "buckets/alice/copy-dst", paths: ["copied/a.log"], ...alice });
    assert.equal(info?.xetHash, await xetHash(new TextEncoder().encode("aaaa")));
    assert.equal(info?.size, 4);
    assert.equal(info?.mtime, new Date(MTIME).toISOString());
    assert.equal(hub.count("POST", "/v1/xorbs") + hub.count("POST", "/v1/shards") + hub.count("POST", "/v2/shards"), uploadsBefore);
    const events = [];
    for await (const e of copyFileIter({
      source: { repo, path: "top.txt" },
      destination: { repo: "buckets/alice/copy-dst", path: "top2.txt" },
      ...alice,
    }))
      events.push(e);
    assert.deepEqual(events, [], "no download events for bucket sources");
    assert.equal(await fileExists({ repo: "buckets/alice/copy-dst", path: "top2.txt", ...alice }), true);
  });

  it("copyFiles from several sources in one call; folders, missing files and missing repositories are refused clearly", async () => {
    await seed(alice, "alice/copy-src2", { "x.bin": "xx" });
    await copyFiles({
      destination: "buckets/alice/copy-dst",
      files: [
        { source: { repo, path: "top.txt" }, destinationPath: "multi/top.txt" },
        { source: { repo: "hf://buckets/alice/copy-src2", path: "x.bin" }, destinationPath: "multi/x.bin" },
      ],
      ...alice,
    });
    const got = await pathsInfo({ repo: "buckets/alice/copy-dst", paths: ["multi/top.txt", "multi/x.bin"], ...alice });
    assert.equal(got.length, 2);
    const folder = await copyFiles({
      destination: "buckets/alice/copy-dst",
      files: [{ source: { repo, path: "logs" }, destinationPath: "z" }],
      ...alice,
    }).catch((e) => e);
    assert.ok(folder instanceof InvalidArgumentError);
    assert.match(folder.message, /copyFolder/);
    const missing = await copyFiles({
      destination: "buckets/alice/copy-dst",
      files: [{ source: { repo, path: "nope" }, destinationPath: "z" }],
      ...alice,
    }).catch((e) => e);
    assert.ok(missing instanceof EntryNotFoundError);
    assert.match(missing.message, /source file not found/);
    // "ns/name" is a model, as in @huggingface/hub: a missing one is a RepoNotFoundError (repository
    // sources themselves are covered by js/test/api/repos.test.ts).
    const model = await copyFiles({
      destination: "buckets/alice/copy-dst",
      files: [{ source: { repo: "alice/some-model", path: "w.bin" }, destinationPath: "w" }],
      ...alice,
    }).catch((e) => e);
    assert.ok(model instanceof RepoNotFoundError, String(model));
  });

  it("copyFolder: relative paths under the destination prefix, recursive; empty source folder → EntryNotFoundError", async () => {
    await copyFolder({ source: { repo, path: "logs/" }, destination: { repo: "buckets/alice/copy-dst", path: "backup/" }, ...alice });
    const entries = await collect(listFiles({ repo: "buckets/alice/copy-dst", path: "backup", recursive: true, ...alice }));
    assert.deepEqual(
      entries.map((e) => e.path),
      ["backup/a.log", "backup/deep/b.log"],
    );
    // The whole bucket to the root of another.
    await createBucket("alice/mirror", { existOk: true, ...alice });
    await copyFolder({ source: { repo }, destination: { repo: "buckets/alice/mirror" }, ...alice });
    const all = await collect(listFiles({ repo: "buckets/alice/mirror", recursive: true, ...alice }));
    assert.equal(all.length, Object.keys(FILES).length);
    await assert.rejects(
      copyFolder({ source: { repo, path: "no-such-dir" }, destination: { repo: "buckets/alice/mirror" }, ...alice }),
      EntryNotFoundError,
    );
  });
});
