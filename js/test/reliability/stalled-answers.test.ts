/**
 * Hub answers whose body stops coming (the connection stays open, silent, after the headers and a few bytes),
 * for the calls that read an answer besides the transfers: bucket creation, repository creation and commits.
 * Each is read under the request's stall clock (`retry.stallTimeoutMs`): bucket creation is retried (the retry
 * meets the 409 of what the first attempt created, which `existOk` accepts; so does repository creation); a commit is never retried (its answer lost, it may have been made), so it fails with a
 * `NetworkError` saying it stalled, instead of hanging.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { createBucket, createRepo } from "../../src/api/buckets.js";
import { uploadFiles } from "../../src/api/upload.js";
import { HubApiError, NetworkError } from "../../src/errors.js";
import { startFaultProxy, type FaultProxy } from "../helpers/faults.js";
import { FAST_RETRY, startTestHub, type TestHub } from "../helpers/hub.js";

let hub: TestHub;
let proxy: FaultProxy;
const retry = { ...FAST_RETRY, stallTimeoutMs: 400, attemptTimeoutMs: 30_000 };

before(async () => {
  hub = await startTestHub();
  proxy = await startFaultProxy(hub.url);
});
after(async () => {
  await proxy.close();
  await hub.close();
});
beforeEach(() => proxy.clear());

const via = () => ({ hubUrl: proxy.url, accessToken: hub.users.alice.token, retry });

test("bucket creation: an answer that stalls mid-body is a failed attempt; the retry completes the call", async () => {
  const rule = proxy.add({ method: "POST", path: "/api/buckets/alice/stalled", action: "stall", keepBytes: 2, times: 1 });
  const t0 = Date.now();
  const out = await createBucket("alice/stalled", { ...via(), existOk: true });
  assert.equal(rule.injected, 1);
  assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
  assert.match(out.url, /alice\/stalled/);
  const res = await fetch(`${hub.url}/api/buckets/alice/stalled`, { headers: { Authorization: `Bearer ${hub.users.alice.token}` } });
  assert.equal(res.status, 200);
});

test("repository creation: an answer that stalls is a failed attempt; with existOk the retry completes the call, without it the 409 is CONFLICT", async () => {
  const rule = proxy.add({ method: "POST", path: "/api/repos/create", action: "stall", keepBytes: 2, times: 1 });
  const out = await createRepo({ repo: "models/alice/stalled-repo", existOk: true, ...via() });
  assert.equal(rule.injected, 1);
  assert.equal(out.id, "alice/stalled-repo");
  assert.match(out.repoUrl, /alice\/stalled-repo/);
  const res = await fetch(`${hub.url}/api/models/alice/stalled-repo`, { headers: { Authorization: `Bearer ${hub.users.alice.token}` } });
  assert.equal(res.status, 200);
  await res.body?.cancel();

  const again = proxy.add({ method: "POST", path: "/api/repos/create", action: "stall", keepBytes: 2, times: 1 });
  await assert.rejects(
    createRepo({ repo: "models/alice/stalled-repo-2", ...via() }),
    (err: unknown) => err instanceof HubApiError && err.code === "CONFLICT" && err.statusCode === 409,
  );
  assert.equal(again.injected, 1);
});

test("a commit whose answer stalls fails with a NetworkError (never retried, never a hang)", async () => {
  await createRepo({ repo: "models/alice/stalled-commit", hubUrl: hub.url, accessToken: hub.users.alice.token });
  const rule = proxy.add({ method: "POST", path: "/api/models/alice/stalled-commit/commit/", action: "stall", keepBytes: 2 });
  const t0 = Date.now();
  await assert.rejects(
    uploadFiles({ repo: "models/alice/stalled-commit", files: [{ path: "notes.txt", content: new Blob(["hello\n"]) }], ...via() }),
    (err: unknown) => err instanceof NetworkError && /stalled \(no data moved for 400 ms\)/.test(err.message),
  );
  assert.equal(rule.injected, 1, "the commit was sent once");
  assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
});
