/**
 * Bucket management against the real local hub over HTTP: @huggingface/hub's createRepo / deleteRepo /
 * repoExists / checkRepoAccess for buckets, and huggingface_hub's createBucket (existOk, visibility),
 * bucketInfo, listBuckets (pagination, search), deleteBucket (missingOk), updateBucketSettings and
 * moveBucket; every designation form; typed errors whose messages say what to do.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  bucketInfo,
  checkRepoAccess,
  createBucket,
  createRepo,
  deleteBucket,
  deleteRepo,
  listBuckets,
  moveBucket,
  repoExists,
  updateBucketSettings,
} from "../../src/api/buckets.js";
import { BucketNotFoundError, HubApiError, InvalidArgumentError } from "../../src/errors.js";
import { startTestHub, TEST_ORG, type TestHub } from "../helpers/hub.js";

let hub: TestHub;
let alice: { hubUrl: string; accessToken: string };
let bob: { hubUrl: string; accessToken: string };

before(async () => {
  hub = await startTestHub({ bucketPageSize: 2 });
  alice = { hubUrl: hub.url, accessToken: hub.users.alice.token };
  bob = { hubUrl: hub.url, accessToken: hub.users.bob.token };
});
after(() => hub.close());

describe("@huggingface/hub calls on buckets", () => {
  it("createRepo → repoExists → checkRepoAccess → deleteRepo, with both designation forms", async () => {
    const out = await createRepo({ repo: "buckets/alice/js-one", ...alice });
    assert.deepEqual(out, { repoUrl: `${hub.url}/buckets/alice/js-one`, id: "alice/js-one" });
    assert.equal(await repoExists({ repo: { type: "bucket", name: "alice/js-one" }, ...alice }), true);
    await checkRepoAccess({ repo: "buckets/alice/js-one", ...alice });
    await deleteRepo({ repo: "buckets/alice/js-one", ...alice });
    assert.equal(await repoExists({ repo: "buckets/alice/js-one", ...alice }), false);
    // Mirrors hub.js: a second delete is a typed not-found error.
    const err = await deleteRepo({ repo: "buckets/alice/js-one", ...alice }).catch((e) => e);
    assert.ok(err instanceof BucketNotFoundError, String(err));
    assert.equal(err.statusCode, 404);
    assert.equal(err.code, "BUCKET_NOT_FOUND");
    assert.equal(err.serverCode, "RepoNotFound");
    assert.match(err.message, /check the bucket id/i);
  });

  it("createRepo on an existing bucket is a 409 CONFLICT that points at existOk", async () => {
    await createRepo({ repo: "buckets/alice/js-dup", ...alice });
    const err = await createRepo({ repo: "buckets/alice/js-dup", ...alice }).catch((e) => e);
    assert.ok(err instanceof HubApiError);
    assert.equal(err.statusCode, 409);
    assert.equal(err.code, "CONFLICT");
    assert.match(err.message, /existOk/);
  });

  it("private buckets: invisible to others (repoExists false, checkRepoAccess → BucketNotFoundError)", async () => {
    await createRepo({ repo: "buckets/alice/js-private", visibility: "private", ...alice });
    assert.equal(await repoExists({ repo: "buckets/alice/js-private", ...bob }), false);
    assert.equal(await repoExists({ repo: "buckets/alice/js-private", hubUrl: hub.url }), false, "anonymous");
    await assert.rejects(checkRepoAccess({ repo: "buckets/alice/js-private", ...bob }), BucketNotFoundError);
    // The deprecated `private` flag maps to visibility too.
    await createRepo({ repo: "buckets/alice/js-private2", private: true, ...alice });
    assert.equal((await bucketInfo("alice/js-private2", alice)).private, true);
  });

  it("refuses bare ids and malformed designations before any request; models, datasets and spaces are repositories", async () => {
    const before = hub.requests.length;
    for (const repo of ["alice/model", "bucket/alice/x", "models/alice", "hf://datasets/alice"] as const) {
      const err = await repoExists({ repo, ...alice }).catch((e) => e);
      assert.ok(err instanceof InvalidArgumentError, `${repo}: ${err}`);
      assert.equal(err.code, "INVALID_ARGUMENT");
    }
    await assert.rejects(
      createRepo({ repo: "buckets/alice/with-files", files: [{ path: "a", content: new Blob(["x"]) }], ...alice }),
      InvalidArgumentError,
    );
    assert.equal(hub.requests.length, before, "nothing was sent");
    for (const repo of ["datasets/alice/d", "spaces/alice/s", "hf://datasets/alice/d", "models/alice/m"] as const) {
      assert.equal(await repoExists({ repo, ...alice }), false, repo);
    }
    const made = await createRepo({ repo: { type: "model", name: "alice/m" }, ...alice });
    assert.equal(made.repoUrl, `${hub.url}/alice/m`);
    assert.equal(await repoExists({ repo: "models/alice/m", ...alice }), true);
    const again = await createRepo({ repo: "models/alice/m", ...alice }).catch((e) => e);
    assert.equal(again.code, "CONFLICT");
    await deleteRepo({ repo: { type: "model", name: "alice/m" }, ...alice });
    assert.equal(await repoExists({ repo: "models/alice/m", ...alice }), false);
  });
});

describe("huggingface_hub-style bucket calls", () => {
  it("createBucket: name alone (own namespace), hf:// URIs, existOk, visibility", async () => {
    const a = await createBucket("py-style", alice);
    assert.equal(a.bucketId, "alice/py-style");
    assert.equal(a.uri, "hf://buckets/alice/py-style");
    assert.equal(a.url, `${hub.url}/buckets/alice/py-style`);
    assert.equal(a.endpoint, hub.url);
    const again = await createBucket("hf://buckets/alice/py-style", { existOk: true, ...alice });
    assert.equal(again.bucketId, "alice/py-style");
    await assert.rejects(createBucket("alice/py-style", alice), (e: HubApiError) => e.statusCode === 409);
    const p = await createBucket(`${TEST_ORG}/org-bucket`, { visibility: "private", ...alice });
    assert.equal(p.namespace, TEST_ORG);
    const info = await bucketInfo({ type: "bucket", name: `${TEST_ORG}/org-bucket` }, alice);
    assert.equal(info.private, true);
    await assert.rejects(createBucket("alice/x-conflict", { private: true, visibility: "public", ...alice }), InvalidArgumentError);
  });

  it("bucketInfo returns the record; a missing bucket is BucketNotFoundError", async () => {
    await createBucket("alice/info-me", alice);
    const info = await bucketInfo("buckets/alice/info-me", alice);
    assert.equal(info.id, "alice/info-me");
    assert.equal(info.size, 0);
    assert.equal(info.totalFiles, 0);
    assert.match(info.createdAt, /Z$/);
    await assert.rejects(bucketInfo("alice/nope-nope", alice), BucketNotFoundError);
  });

  it("listBuckets follows Link pagination (2 per page here) and filters with search", async () => {
    for (const n of ["list-a1", "list-a2", "list-a3", "list-b1", "list-b2"]) await createBucket(`bob/${n}`, bob);
    const all = [];
    for await (const b of listBuckets(bob)) all.push(b.id);
    assert.deepEqual(all.filter((id) => id.startsWith("bob/list-")).sort(), [
      "bob/list-a1",
      "bob/list-a2",
      "bob/list-a3",
      "bob/list-b1",
      "bob/list-b2",
    ]);
    assert.ok(hub.count("GET", "/api/buckets/me") >= 3, "several pages were fetched");
    const found = [];
    for await (const b of listBuckets({ namespace: "bob", search: "list-a", ...bob })) found.push(b.id);
    assert.deepEqual(found.sort(), ["bob/list-a1", "bob/list-a2", "bob/list-a3"]);
  });

  it("updateBucketSettings toggles visibility", async () => {
    await createBucket("alice/settings", { private: false, ...alice });
    await updateBucketSettings("alice/settings", { private: true, ...alice });
    assert.equal((await bucketInfo("alice/settings", alice)).private, true);
    assert.equal(await repoExists({ repo: "buckets/alice/settings", ...bob }), false);
    await updateBucketSettings("hf://buckets/alice/settings", { private: false, ...alice });
    assert.equal(await repoExists({ repo: "buckets/alice/settings", ...bob }), true);
    await assert.rejects(updateBucketSettings("alice/settings", { ...alice } as never), InvalidArgumentError);
  });

  it("moveBucket renames; deleteBucket with missingOk", async () => {
    await createBucket("alice/old-name", alice);
    await moveBucket("alice/old-name", "buckets/alice/new-name", alice);
    assert.equal(await repoExists({ repo: "buckets/alice/old-name", ...alice }), false);
    assert.equal(await repoExists({ repo: "buckets/alice/new-name", ...alice }), true);
    await deleteBucket("alice/new-name", alice);
    await assert.rejects(deleteBucket("alice/new-name", alice), BucketNotFoundError);
    await deleteBucket("alice/new-name", { missingOk: true, ...alice });
  });

  it("a bad token is a 401 UNAUTHORIZED whose message says how to fix it", async () => {
    const err = await createBucket("alice/with-bad-token", { hubUrl: hub.url, accessToken: "hf_not_a_real_token" }).catch((e) => e);
    assert.ok(err instanceof HubApiError, String(err));
    assert.equal(err.statusCode, 401);
    assert.equal(err.code, "UNAUTHORIZED");
    assert.match(err.message, /access token/);
  });
});
