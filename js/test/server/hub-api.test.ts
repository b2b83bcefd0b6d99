/**
 * Hub API conformance of the local hub over real HTTP (plain fetch): buckets, tree, paths-info, batch,
 * tokens, resolve, auth matrix, CORS, pagination, and malformed inputs (4xx, store unchanged).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { batch, call, casToken, postBucket, startTestHub, TEST_USERS, type TestHub } from "../helpers/hub.js";
import { uploadWithCore } from "../helpers/cas.js";
import { snapshot } from "../helpers/hub-state.js";

const { alice, bob } = TEST_USERS;
const ZERO = "0".repeat(64);
const ISO_Z = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

let hub: TestHub;
before(async () => {
  hub = await startTestHub({ treePageSize: 3, bucketPageSize: 2 });
});
after(async () => {
  await hub?.close();
});

/** Follows `Link: <…>; rel="next"` (absolute URLs, JS client's pattern) and returns every entry. */
async function allPages(path: string, token?: string): Promise<{ items: any[]; pages: number }> {
  const items: any[] = [];
  let url: string | undefined = `${hub.url}${path}`;
  let pages = 0;
  while (url) {
    const res = await call(hub, "GET", url, { token });
    assert.equal(res.status, 200, res.text);
    assert.ok(Array.isArray(res.json));
    items.push(...res.json);
    pages++;
    const link = res.headers.get("link");
    const m = link ? /<(https?:[/][/][^>]+)>;\s+rel="([^"]+)"/.exec(link) : null;
    if (m) assert.ok(m[1]!.startsWith(hub.url), `absolute next link on the client's origin: ${m[1]}`);
    url = m?.[2] === "next" ? m[1] : undefined;
    assert.ok(pages < 100, "pagination does not end");
  }
  return { items, pages };
}

describe("buckets", () => {
  it("creates a bucket and answers url + id; a second create is a 409 carrying url", async () => {
    const res = await postBucket(hub, "alice/first", alice.token);
    assert.deepEqual(res.json, { url: `${hub.url}/buckets/alice/first`, name: "alice/first", id: "alice/first" });
    const again = await call(hub, "POST", "/api/buckets/alice/first", { token: alice.token, body: {} });
    assert.equal(again.status, 409);
    assert.equal(again.json.url, `${hub.url}/buckets/alice/first`);
    assert.equal(typeof again.json.error, "string");
  });

  it("resolves the namespace me to the token's user and URLs follow the Host the client used", async () => {
    const viaLocalhost = { url: hub.url.replace("127.0.0.1", "localhost") };
    const res = await call(viaLocalhost, "POST", "/api/buckets/me/mine", {
      token: alice.token,
      body: { visibility: "private", region: "eu" },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.id, "alice/mine");
    assert.equal(res.json.url, `${viaLocalhost.url}/buckets/alice/mine`);
  });

  it("enforces who may create where", async () => {
    assert.equal((await call(hub, "POST", "/api/buckets/bob/x", { token: alice.token, body: {} })).status, 403);
    assert.equal((await call(hub, "POST", "/api/buckets/alice/x", { token: alice.readToken, body: {} })).status, 403);
    assert.equal((await call(hub, "POST", "/api/buckets/alice/x", { body: {} })).status, 401);
    assert.equal((await call(hub, "POST", "/api/buckets/me/x", { body: {} })).status, 401);
    const bad = await call(hub, "POST", "/api/buckets/alice/x", { token: "hf_not_a_known_token", body: {} });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get("x-error-message"), "Invalid credentials in Authorization header");
    assert.equal((await call(hub, "POST", "/api/buckets/acme/shared", { token: alice.token, body: {} })).status, 200, "org member");
    assert.equal((await call(hub, "POST", "/api/buckets/acme/shared2", { token: bob.token, body: {} })).status, 403, "not a member");
  });

  it("validates names and options", async () => {
    for (const [path, body] of [
      ["/api/buckets/alice/bad..name", {}],
      ["/api/buckets/alice/-x", {}],
      ["/api/buckets/alice/ok", { visibility: "secret" }],
      ["/api/buckets/alice/ok", { region: "mars" }],
      ["/api/buckets/alice/ok", { private: "yes" }],
    ] as const) {
      const res = await call(hub, "POST", path, { token: alice.token, body });
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}: ${res.text}`);
      assert.ok(res.json.error);
    }
    const notJson = await call(hub, "POST", "/api/buckets/alice/ok", {
      token: alice.token,
      body: "{nope",
      headers: { "Content-Type": "application/json" },
    });
    assert.equal(notJson.status, 400);
    assert.equal((await call(hub, "GET", "/api/buckets/alice/ok", { token: alice.token })).status, 404, "nothing was created");
  });

  it("answers info with the fields the clients require, 404 RepoNotFound otherwise (401 to anonymous callers)", async () => {
    const info = await call(hub, "GET", "/api/buckets/alice/first?expand[]=likes", { token: alice.token });
    assert.equal(info.status, 200);
    assert.equal(info.json.id, "alice/first");
    assert.equal(info.json.private, false);
    assert.equal(info.json.size, 0);
    assert.equal(info.json.totalFiles, 0);
    assert.match(info.json.createdAt, ISO_Z);
    assert.match(info.json.updatedAt, ISO_Z);
    const missing = await call(hub, "GET", "/api/buckets/alice/nope", { token: bob.token });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("x-error-code"), "RepoNotFound");
    assert.ok(missing.json.error);
    const anonymous = await call(hub, "GET", "/api/buckets/alice/nope");
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get("x-error-code"), null);
    assert.equal(anonymous.headers.get("x-error-message"), "Invalid username or password.");
  });

  it("hides private buckets from anonymous callers (401) and other users (404), not from the owner's read token", async () => {
    assert.equal((await call(hub, "GET", "/api/buckets/alice/mine")).status, 401);
    assert.equal((await call(hub, "GET", "/api/buckets/alice/mine", { token: bob.token })).status, 404);
    const own = await call(hub, "GET", "/api/buckets/alice/mine", { token: alice.readToken });
    assert.equal(own.status, 200);
    assert.equal(own.json.private, true);
    assert.equal(own.json.region, "eu");
  });

  it("lists buckets with search and absolute Link pagination; private ones only for members", async () => {
    for (const n of ["list-a", "list-b", "list-c", "other"]) await postBucket(hub, `bob/${n}`, bob.token);
    await postBucket(hub, "bob/list-private", bob.token, { private: true });
    const mine = await allPages("/api/buckets/me?search=LIST", bob.token);
    assert.deepEqual(
      mine.items.map((b) => b.id),
      ["bob/list-a", "bob/list-b", "bob/list-c", "bob/list-private"],
    );
    assert.equal(mine.pages, 2);
    const anon = await allPages("/api/buckets/bob");
    assert.deepEqual(
      anon.items.map((b) => b.id),
      ["bob/list-a", "bob/list-b", "bob/list-c", "bob/other"],
    );
    for (const b of anon.items) assert.equal(typeof b.totalFiles, "number");
  });

  it("changes visibility with settings (write token only)", async () => {
    await postBucket(hub, "bob/vis", bob.token);
    assert.equal((await call(hub, "PUT", "/api/buckets/bob/vis/settings", { token: bob.readToken, body: { private: true } })).status, 403);
    assert.equal((await call(hub, "PUT", "/api/buckets/bob/vis/settings", { token: alice.token, body: { private: true } })).status, 403);
    assert.equal((await call(hub, "PUT", "/api/buckets/bob/vis/settings", { token: bob.token, body: {} })).status, 400);
    assert.equal((await call(hub, "PUT", "/api/buckets/bob/vis/settings", { token: bob.token, body: { private: true } })).status, 200);
    assert.equal((await call(hub, "GET", "/api/buckets/bob/vis", { token: alice.token })).status, 404);
    assert.equal((await call(hub, "PUT", "/api/buckets/bob/vis/settings", { token: bob.token, body: { private: false } })).status, 200);
    assert.equal((await call(hub, "GET", "/api/buckets/bob/vis")).status, 200);
  });

  it("moves a bucket with its files; the old id is gone; moving onto an existing id is a 409", async () => {
    await postBucket(hub, "alice/old-name", alice.token);
    assert.equal((await batch(hub, "alice/old-name", alice.token, [{ type: "addFile", path: "keep.txt", xetHash: ZERO }])).status, 200);
    const move = (body: unknown, token = alice.token) => call(hub, "POST", "/api/repos/move", { token, body });
    assert.equal((await move({ fromRepo: "alice/old-name", toRepo: "acme/new-name", type: "model" })).status, 400);
    assert.equal((await move({ fromRepo: "alice/old-name", toRepo: "bob/new-name", type: "bucket" })).status, 403);
    assert.equal((await move({ fromRepo: "alice/old-name", toRepo: "alice/first", type: "bucket" })).status, 409);
    assert.equal((await move({ fromRepo: "alice/old-name", toRepo: "acme/new-name", type: "bucket" })).status, 200);
    assert.equal((await call(hub, "GET", "/api/buckets/alice/old-name", { token: alice.token })).status, 404);
    const tree = await call(hub, "GET", "/api/buckets/acme/new-name/tree");
    assert.deepEqual(
      tree.json.map((e: any) => e.path),
      ["keep.txt"],
    );
  });

  it("deletes buckets (write access), then 404", async () => {
    await postBucket(hub, "alice/doomed", alice.token);
    assert.equal(
      (await call(hub, "DELETE", "/api/buckets/alice/doomed", { token: bob.token })).status,
      403,
      "public: visible but not bob's",
    );
    assert.equal((await call(hub, "DELETE", "/api/buckets/alice/doomed", { token: alice.readToken })).status, 403);
    const del = await call(hub, "DELETE", "/api/buckets/alice/doomed", {
      token: alice.token,
      headers: { "Content-Type": "application/json" },
    });
    assert.equal(del.status, 200);
    const again = await call(hub, "DELETE", "/api/buckets/alice/doomed", { token: alice.token });
    assert.equal(again.status, 404);
    assert.equal(again.headers.get("x-error-code"), "RepoNotFound");
  });
});

describe("tree and paths-info", () => {
  const paths = ["a.txt", "logs.json", "logs/x.log", "sub/b.txt", "sub/d.txt", "sub/deeper/c.txt", "sub/deeper/e/f.txt", "z/only/deep.bin"];
  before(async () => {
    await postBucket(hub, "alice/tree", alice.token);
    const res = await batch(
      hub,
      "alice/tree",
      alice.token,
      paths.map((p, i) => ({ type: "addFile", path: p, xetHash: ZERO, mtime: 1_795_772_582_008 + i })),
    );
    assert.equal(res.status, 200, res.text);
  });

  const list = async (suffix: string) => (await allPages(`/api/buckets/alice/tree/tree${suffix}`)).items;

  it("recursive listing: every file at or below the prefix, files only, full paths, all pages", async () => {
    const all = await list("?recursive=true&expand=false");
    assert.deepEqual(
      all.map((e) => e.path),
      paths,
    );
    assert.ok(all.every((e) => e.type === "file" && e.size === 0 && e.xetHash === ZERO));
    assert.equal(all[0].mtime, "2026-11-27T09:43:02.008Z");
    assert.match(all[0].uploadedAt, ISO_Z);
    assert.deepEqual(
      (await list("/sub?recursive=true")).map((e) => e.path),
      ["sub/b.txt", "sub/d.txt", "sub/deeper/c.txt", "sub/deeper/e/f.txt"],
    );
  });

  it("without recursive, lists every file below the prefix (the Hub's default, huggingface_hub's tests)", async () => {
    assert.deepEqual(
      (await list("")).map((e) => `${e.type}:${e.path}`),
      paths.map((p) => `file:${p}`),
    );
    assert.deepEqual(
      (await list("/sub")).map((e) => e.path),
      ["sub/b.txt", "sub/d.txt", "sub/deeper/c.txt", "sub/deeper/e/f.txt"],
    );
  });

  it("recursive=false: direct children, one directory entry per sub-folder, across pages", async () => {
    const root = await list("?recursive=false");
    assert.deepEqual(root.map((e) => `${e.type}:${e.path}`).sort(), [
      "directory:logs",
      "directory:sub",
      "directory:z",
      "file:a.txt",
      "file:logs.json",
    ]);
    const dir = root.find((e) => e.path === "sub");
    assert.match(dir.uploadedAt, ISO_Z);
    const sub = await list("/sub?recursive=false");
    assert.deepEqual(sub.map((e) => `${e.type}:${e.path}`).sort(), ["directory:sub/deeper", "file:sub/b.txt", "file:sub/d.txt"]);
  });

  it("treats %2F like / and a trailing / as the folder (Python quotes prefixes with safe='')", async () => {
    assert.deepEqual((await list("/sub%2Fdeeper%2F?recursive=false")).map((e) => e.path).sort(), ["sub/deeper/c.txt", "sub/deeper/e"]);
    assert.deepEqual((await list("/sub%2F?recursive=true")).length, 4);
  });

  it("a prefix naming a file lists that file; an unknown prefix lists nothing", async () => {
    assert.deepEqual(
      (await list("/a.txt?recursive=false")).map((e) => e.path),
      ["a.txt"],
    );
    assert.deepEqual(
      (await list("/a.txt")).map((e) => e.path),
      ["a.txt"],
    );
    assert.deepEqual(
      (await list("/sub/b.txt?recursive=true")).map((e) => e.path),
      ["sub/b.txt"],
    );
    assert.deepEqual(await list("/nothing-here"), []);
    assert.deepEqual(await list("/su"), [], "folder semantics, not a lexical prefix");
  });

  it("refuses malformed prefixes and cursors", async () => {
    assert.equal((await call(hub, "GET", "/api/buckets/alice/tree/tree/a%2F..%2Fb")).status, 400);
    assert.equal((await call(hub, "GET", "/api/buckets/alice/tree/tree?cursor=garbage")).status, 400);
    assert.equal((await call(hub, "GET", "/api/buckets/alice/tree/tree?recursive=maybe")).status, 400);
    assert.equal((await call(hub, "GET", "/api/buckets/alice/tree/tree/%E0%A4%A")).status, 400);
  });

  it("paths-info: existing files only (unknown paths and folders omitted), at most 1000 paths", async () => {
    const res = await call(hub, "POST", "/api/buckets/alice/tree/paths-info", {
      body: { paths: ["sub/b.txt", "missing.bin", "sub", "a.txt", "../etc/passwd", "a.txt"], expand: true },
      headers: { Accept: "application/json" },
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(
      res.json.map((e: any) => e.path),
      ["sub/b.txt", "a.txt"],
    );
    assert.deepEqual(Object.keys(res.json[0]).sort(), ["mtime", "path", "size", "type", "uploadedAt", "xetHash"]);
    const many = await call(hub, "POST", "/api/buckets/alice/tree/paths-info", {
      body: { paths: Array.from({ length: 1001 }, (_, i) => `f${i}`) },
    });
    assert.equal(many.status, 400);
    assert.match(many.json.error, /1000/);
    assert.equal((await call(hub, "POST", "/api/buckets/alice/tree/paths-info", { body: { paths: "a.txt" } })).status, 400);
    assert.equal((await call(hub, "POST", "/api/buckets/alice/tree/paths-info", { body: { paths: [1] } })).status, 400);
    const exactly = await call(hub, "POST", "/api/buckets/alice/tree/paths-info", {
      body: { paths: Array.from({ length: 1000 }, () => "a.txt") },
    });
    assert.equal(exactly.status, 200);
  });
});

describe("batch", () => {
  let data: { path: string; hash: string; size: number }[];
  before(async () => {
    await postBucket(hub, "alice/batch", alice.token);
    await postBucket(hub, "bob/source", bob.token);
    await postBucket(hub, "bob/private-source", bob.token, { visibility: "private" });
    data = await uploadWithCore(hub, "bob/source", bob.token, [
      { path: "weights.bin", data: new Uint8Array(5000).fill(7), contentType: "application/x-weights" },
    ]);
    await uploadWithCore(hub, "bob/private-source", bob.token, [{ path: "secret.bin", data: new TextEncoder().encode("secret stuff") }]);
  });

  it("reports per-path failures: 200 when some succeed, 422 when all fail; mtime and sizes are stored", async () => {
    const unknown = "ab".repeat(32);
    const partial = await batch(hub, "alice/batch", alice.token, [
      { type: "addFile", path: "empty.txt", xetHash: ZERO, mtime: 1_795_772_582_008, contentType: "text/plain" },
      { type: "addFile", path: "ghost.bin", xetHash: unknown, mtime: 1 },
      { type: "deleteFile", path: "not-there.txt" },
    ]);
    assert.equal(partial.status, 200);
    assert.equal(partial.json.success, false);
    assert.equal(partial.json.processed, 3);
    assert.equal(partial.json.succeeded, 1);
    assert.deepEqual(
      partial.json.failed.map((f: any) => f.path),
      ["ghost.bin", "not-there.txt"],
    );
    assert.match(partial.json.failed[0].error, /unknown to the CAS/);
    const before = snapshot(hub.dataDir);
    const total = await batch(hub, "alice/batch", alice.token, [{ type: "addFile", path: "ghost.bin", xetHash: unknown }]);
    assert.equal(total.status, 422);
    assert.equal(total.json.failed.length, 1);
    assert.equal(snapshot(hub.dataDir), before, "a failed batch changes nothing");
    const info = await call(hub, "GET", "/api/buckets/alice/batch");
    assert.equal(info.json.totalFiles, 1);
  });

  it("refuses to add a file id uploaded only to another bucket (copy it instead)", async () => {
    const res = await batch(hub, "alice/batch", alice.token, [{ type: "addFile", path: "stolen.bin", xetHash: data[0]!.hash }]);
    assert.equal(res.status, 422);
    assert.match(res.json.failed[0].error, /not uploaded to this bucket/);
  });

  it("copies files from a readable bucket without data transfer; refuses unreadable sources and unknown hashes", async () => {
    const res = await batch(hub, "alice/batch", alice.token, [
      {
        type: "copyFile",
        path: "copied/weights.bin",
        xetHash: data[0]!.hash,
        sourceRepoType: "bucket",
        sourceRepoId: "bob/source",
        mtime: 1_700_000_000_123,
      },
      {
        type: "copyFile",
        path: "copied/secret.bin",
        xetHash: ZERO.replace(/0$/, "1"),
        sourceRepoType: "bucket",
        sourceRepoId: "bob/private-source",
      },
      { type: "copyFile", path: "copied/nope.bin", xetHash: "cd".repeat(32), sourceRepoType: "bucket", sourceRepoId: "bob/source" },
      { type: "copyFile", path: "copied/model.bin", xetHash: "cd".repeat(32), sourceRepoType: "model", sourceRepoId: "bob/source" },
    ]);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(
      res.json.failed.map((f: any) => f.path),
      ["copied/secret.bin", "copied/nope.bin", "copied/model.bin"],
    );
    assert.match(res.json.failed[0].error, /not found/);
    const info = await call(hub, "POST", "/api/buckets/alice/batch/paths-info", { body: { paths: ["copied/weights.bin"] } });
    assert.equal(info.json[0].size, 5000);
    assert.equal(info.json[0].xetHash, data[0]!.hash);
    assert.equal(info.json[0].mtime, "2023-11-14T22:13:20.123Z");
    assert.equal(info.json[0].contentType, "application/x-weights");
    // The copy is readable through the CAS with a token of the destination bucket.
    const tok = await casToken(hub, "alice/batch", alice.token, "read");
    assert.equal((await call(hub, "HEAD", `/v1/files/${data[0]!.hash}`, { token: tok })).headers.get("content-length"), "5000");
  });

  it("applies lines in order (add then delete of the same path leaves nothing) and keeps bucket totals", async () => {
    const res = await batch(hub, "alice/batch", alice.token, [
      { type: "addFile", path: "tmp/x", xetHash: ZERO },
      { type: "deleteFile", path: "tmp/x" },
      { type: "deleteFile", path: "copied/weights.bin" },
    ]);
    assert.equal(res.status, 200);
    assert.equal(res.json.succeeded, 3);
    const info = await call(hub, "GET", "/api/buckets/alice/batch");
    assert.equal(info.json.totalFiles, 1);
    assert.equal(info.json.size, 0);
  });

  it("accepts the JS client's format (compact, no trailing newline, no mtime) and fills mtime with the upload time", async () => {
    const t0 = Date.now();
    const res = await call(hub, "POST", "/api/buckets/alice/batch/batch", {
      token: alice.token,
      body: `${JSON.stringify({ type: "addFile", path: "js/a", xetHash: ZERO })}\n${JSON.stringify({ type: "addFile", path: "js/b", xetHash: ZERO })}`,
      headers: { "Content-Type": "application/x-ndjson" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.succeeded, 2);
    const info = await call(hub, "POST", "/api/buckets/alice/batch/paths-info", { body: { paths: ["js/a"] } });
    assert.ok(Date.parse(info.json[0].mtime) >= t0 - 1000);
  });

  it("needs write access", async () => {
    const line = [{ type: "addFile", path: "x", xetHash: ZERO }];
    assert.equal((await batch(hub, "alice/batch", alice.readToken, line)).status, 403);
    assert.equal((await batch(hub, "alice/batch", bob.token, line)).status, 403);
    assert.equal((await call(hub, "POST", "/api/buckets/alice/batch/batch", { body: "{}" })).status, 401);
    assert.equal((await batch(hub, "bob/private-source", alice.token, line)).status, 404);
  });

  it("answers every malformed input with 400 and a clear message, changing nothing", async () => {
    const good = { type: "addFile", path: "fine.txt", xetHash: ZERO };
    const cases: Array<[string, string, RegExp]> = [
      ["bad JSON line", `{"type": "addFile", "path": \n`, /line 2 is not valid JSON/],
      ["not an object", `[1,2]\n`, /line 2 is not a JSON object/],
      ["unknown type", JSON.stringify({ type: "renameFile", path: "a" }), /unknown operation type/],
      ["bad hash", JSON.stringify({ type: "addFile", path: "a", xetHash: "xyz" }), /64 hexadecimal/],
      ["path with ..", JSON.stringify({ type: "addFile", path: "a/../b", xetHash: ZERO }), /'\.\.' segment/],
      ["absolute path", JSON.stringify({ type: "addFile", path: "/etc/passwd", xetHash: ZERO }), /absolute/],
      ["empty segment", JSON.stringify({ type: "deleteFile", path: "a//b" }), /empty segment/],
      ["NUL", JSON.stringify({ type: "addFile", path: "a\u0000b", xetHash: ZERO }), /NUL/],
      ["backslash", JSON.stringify({ type: "addFile", path: "a\\b", xetHash: ZERO }), /backslash/],
      ["missing path", JSON.stringify({ type: "addFile", xetHash: ZERO }), /path must be a string/],
      ["bad mtime", JSON.stringify({ type: "addFile", path: "a", xetHash: ZERO, mtime: "yesterday" }), /mtime/],
      ["bad copy source", JSON.stringify({ type: "copyFile", path: "a", xetHash: ZERO, sourceRepoId: "nope" }), /sourceRepoId/],
    ];
    const before = snapshot(hub.dataDir);
    for (const [what, body, re] of cases) {
      const res = await call(hub, "POST", "/api/buckets/alice/batch/batch", {
        token: alice.token,
        body: `${JSON.stringify(good)}\n${body}`,
        headers: { "Content-Type": "application/x-ndjson" },
      });
      assert.equal(res.status, 400, `${what}: ${res.status} ${res.text}`);
      assert.match(res.json.error, re, what);
    }
    const invalidUtf8 = await call(hub, "POST", "/api/buckets/alice/batch/batch", {
      token: alice.token,
      body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
    });
    assert.equal(invalidUtf8.status, 400);
    assert.equal(snapshot(hub.dataDir), before, "no malformed batch changed the store");
  });
});

describe("tokens and resolve", () => {
  let file: { path: string; hash: string; size: number };
  const content = new TextEncoder().encode("0123456789".repeat(1000));
  before(async () => {
    await postBucket(hub, "alice/files", alice.token);
    await postBucket(hub, "alice/private-files", alice.token, { private: true });
    [file] = await uploadWithCore(hub, "alice/files", alice.token, [{ path: "dir/data.txt", data: content, contentType: "text/plain" }]);
    assert.equal((await batch(hub, "alice/files", alice.token, [{ type: "addFile", path: "empty.bin", xetHash: ZERO }])).status, 200);
  });

  it("returns CAS tokens in the JSON body and the X-Xet-* headers, casUrl on the client's origin + /cas/<store id>", async () => {
    const res = await call(hub, "GET", "/api/buckets/alice/files/xet-write-token", {
      token: alice.token,
      headers: { "X-Xet-Session-Id": "abc" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.casUrl, `${hub.url}/cas/${hub.hub.storeId}`);
    assert.equal(res.json.casUrl, hub.hub.casUrl);
    assert.match(hub.hub.storeId, /^[0-9a-f]{32}$/);
    assert.equal(typeof res.json.accessToken, "string");
    assert.ok(Number.isInteger(res.json.exp) && res.json.exp > Date.now() / 1000 + 3000);
    assert.equal(res.headers.get("x-xet-cas-url"), res.json.casUrl);
    assert.equal(res.headers.get("x-xet-access-token"), res.json.accessToken);
    assert.equal(res.headers.get("x-xet-token-expiration"), String(res.json.exp));
  });

  it("issues read tokens anonymously for public buckets only; write tokens need write access", async () => {
    assert.equal((await call(hub, "GET", "/api/buckets/alice/files/xet-read-token")).status, 200);
    assert.equal((await call(hub, "GET", "/api/buckets/alice/private-files/xet-read-token")).status, 401);
    assert.equal((await call(hub, "GET", "/api/buckets/alice/private-files/xet-read-token", { token: bob.token })).status, 404);
    assert.equal((await call(hub, "GET", "/api/buckets/alice/private-files/xet-read-token", { token: alice.readToken })).status, 200);
    assert.equal((await call(hub, "GET", "/api/buckets/alice/files/xet-write-token", { token: alice.readToken })).status, 403);
    assert.equal((await call(hub, "GET", "/api/buckets/alice/files/xet-write-token", { token: bob.token })).status, 403);
    assert.equal((await call(hub, "GET", "/api/buckets/alice/files/xet-write-token")).status, 401);
  });

  it("HEAD resolve: X-Xet-Hash, X-Linked-Size, ETag and absolute Link relations (also for empty files)", async () => {
    for (const [path, hash, size] of [
      ["dir/data.txt", file.hash, file.size],
      ["empty.bin", ZERO, 0],
    ] as const) {
      const res = await call(hub, "HEAD", `/buckets/alice/files/resolve/${encodeURIComponent(path)}`, {
        headers: { "Accept-Encoding": "identity" },
      });
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("x-xet-hash"), hash);
      assert.equal(res.headers.get("x-linked-size"), String(size));
      assert.equal(res.headers.get("etag"), `"${hash}"`);
      const link = res.headers.get("link")!;
      assert.ok(link.includes(`<${hub.url}/api/buckets/alice/files/xet-read-token>; rel="xet-auth"`), link);
      assert.ok(link.includes(`<${hub.hub.casUrl}/v1/reconstructions/${hash}>; rel="xet-reconstruction-info"`), link);
    }
    const missing = await call(hub, "HEAD", "/buckets/alice/files/resolve/nope.txt");
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("x-error-code"), "EntryNotFound");
    const missingGet = await call(hub, "GET", "/buckets/alice/files/resolve/nope.txt");
    assert.equal(missingGet.headers.get("x-error-code"), "EntryNotFound");
    assert.ok(missingGet.json.error);
    assert.equal((await call(hub, "GET", "/buckets/alice/files/resolve/a%2F..%2Fb")).status, 400);
  });

  it("GET resolve with the xet Accept header answers the file info (JS fileDownloadInfo)", async () => {
    const res = await call(hub, "GET", "/buckets/alice/files/resolve/dir/data.txt", {
      headers: { Range: "bytes=0-0", Accept: "application/vnd.xet-fileinfo+json, */*" },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /application\/vnd\.xet-fileinfo\+json/);
    assert.equal(res.headers.get("x-linked-size"), String(content.length));
    assert.equal(res.json.hash, file.hash);
  });

  it("GET resolve serves the bytes: whole file, ranges (206 + Content-Range), 416 past the end", async () => {
    const whole = await call(hub, "GET", "/buckets/alice/files/resolve/dir/data.txt");
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get("content-type"), "text/plain");
    assert.deepEqual(whole.bytes, content);
    const part = await call(hub, "GET", "/buckets/alice/files/resolve/dir%2Fdata.txt", { headers: { Range: "bytes=5-14" } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("content-range"), `bytes 5-14/${content.length}`);
    assert.deepEqual(part.bytes, content.subarray(5, 15));
    const tail = await call(hub, "GET", "/buckets/alice/files/resolve/dir/data.txt", {
      headers: { Range: `bytes=${content.length - 3}-` },
    });
    assert.deepEqual(tail.bytes, content.subarray(content.length - 3));
    const past = await call(hub, "GET", "/buckets/alice/files/resolve/dir/data.txt", { headers: { Range: `bytes=${content.length}-` } });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get("content-range"), `bytes */${content.length}`);
    const empty = await call(hub, "GET", "/buckets/alice/files/resolve/empty.bin");
    assert.equal(empty.status, 200);
    assert.equal(empty.bytes.length, 0);
  });

  it("private files resolve only for readers", async () => {
    await uploadWithCore(hub, "alice/private-files", alice.token, [{ path: "p.txt", data: new TextEncoder().encode("private!") }]);
    assert.equal((await call(hub, "HEAD", "/buckets/alice/private-files/resolve/p.txt")).status, 401);
    assert.equal((await call(hub, "HEAD", "/buckets/alice/private-files/resolve/p.txt", { token: bob.token })).status, 404);
    const own = await call(hub, "GET", "/buckets/alice/private-files/resolve/p.txt", { token: alice.readToken });
    assert.equal(own.text, "private!");
  });
});

describe("HTTP conventions", () => {
  it("answers CORS preflights and exposes the headers browser clients read", async () => {
    const pre = await fetch(`${hub.url}/api/buckets/alice/first/xet-read-token`, {
      method: "OPTIONS",
      headers: {
        Origin: "http://example.test",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization,range",
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "http://example.test");
    assert.match(pre.headers.get("access-control-allow-methods")!, /GET/);
    assert.match(pre.headers.get("access-control-allow-headers")!, /authorization/);
    const res = await fetch(`${hub.url}/api/buckets/alice/first`, { headers: { Origin: "http://example.test" } });
    const exposed = res.headers.get("access-control-expose-headers")!.toLowerCase();
    for (const h of [
      "link",
      "etag",
      "x-xet-hash",
      "x-linked-size",
      "x-linked-etag",
      "content-range",
      "x-request-id",
      "x-error-code",
      "x-error-message",
      "x-xet-cas-url",
      "x-xet-access-token",
      "x-xet-token-expiration",
    ]) {
      assert.ok(exposed.includes(h), h);
    }
  });

  it("sends X-Request-Id on every response, errors included; unknown endpoints are 404 JSON", async () => {
    for (const [m, p] of [
      ["GET", "/api/buckets/alice/first"],
      ["GET", "/api/agent-harnesses"],
      ["POST", "/api/buckets/alice/first/tree"],
    ] as const) {
      const res = await call(hub, m, p);
      assert.match(res.headers.get("x-request-id") ?? "", /^[0-9a-f]{24}$/, `${m} ${p}`);
      if (res.status >= 400) assert.ok(res.json.error, `${m} ${p}`);
    }
    assert.equal((await call(hub, "GET", "/api/agent-harnesses")).status, 404);
    assert.equal((await call(hub, "POST", "/api/buckets/alice/first/tree")).status, 405);
  });

  it("refuses oversized JSON bodies with 413", async () => {
    const res = await call(hub, "POST", "/api/buckets/alice/first/paths-info", { body: `{"paths": ["${"x".repeat(9 * 1024 * 1024)}"]}` });
    assert.equal(res.status, 413);
  });

  it("uses publicUrl, when configured, for every URL it returns", async () => {
    const proxied = await startTestHub({ publicUrl: "https://hub.example.test/" });
    try {
      const direct = { url: `http://127.0.0.1:${proxied.hub.port}` };
      const res = await call(direct, "POST", "/api/buckets/alice/p", { token: alice.token, body: {} });
      assert.equal(res.json.url, "https://hub.example.test/buckets/alice/p");
      const tok = await call(direct, "GET", "/api/buckets/alice/p/xet-read-token");
      assert.equal(tok.json.casUrl, `https://hub.example.test/cas/${proxied.hub.storeId}`);
      assert.equal(proxied.hub.url, "https://hub.example.test");
      assert.equal(proxied.hub.casUrl, tok.json.casUrl);
    } finally {
      await proxied.close();
    }
    await assert.rejects(startTestHub({ publicUrl: "ftp://x" }), /publicUrl/);
  });

  it("whoami-v2 names the token's user and role", async () => {
    const res = await call(hub, "GET", "/api/whoami-v2", { token: alice.readToken });
    assert.equal(res.json.name, "alice");
    assert.equal(res.json.auth.accessToken.role, "read");
    assert.deepEqual(
      res.json.orgs.map((o: any) => o.name),
      ["acme"],
    );
    assert.equal((await call(hub, "GET", "/api/whoami-v2")).status, 401);
  });
});
