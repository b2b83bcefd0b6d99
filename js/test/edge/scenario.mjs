// The runtime scenario: what the client must do inside each runtime (workerd, Deno, Bun), with the package
// as that runtime resolves it (`xb` is the imported module). Creates a bucket on the local hub, uploads the
// files of data.mjs, lists the bucket, hashes the contents in the runtime and downloads a file back.
// Returns plain JSON; the Node test compares it with its own computations and with the hub's state.
import { scenarioFiles } from "../helpers/data.mjs";

export async function runScenario(xb, { hubUrl, accessToken, bucket, runtime }) {
  const opts = { hubUrl, accessToken };
  const repo = `buckets/${bucket}`;
  const steps = [];
  const t0 = Date.now();
  const step = (name) => steps.push({ name, ms: Date.now() - t0 });

  await xb.createBucket(bucket, { ...opts, existOk: true });
  step("createBucket");
  const files = scenarioFiles(runtime);
  const report = await xb.uploadFiles({
    repo,
    files: files.map((f) => ({ path: f.path, content: f.asBlob ? new Blob([f.bytes], { type: "text/plain" }) : f.bytes })),
    ...opts,
  });
  step("uploadFiles");

  const listed = [];
  for await (const e of xb.listFiles({ repo, recursive: true, ...opts })) {
    if (e.type === "file") listed.push({ path: e.path, size: e.size, xetHash: e.xetHash });
  }
  step("listFiles");

  const hashes = {};
  for (const f of files) hashes[f.path] = await xb.xetHash(f.bytes);
  step("xetHash");

  const blob = await xb.downloadFile({ repo, path: "weights/mixed.bin", ...opts });
  const back = new Uint8Array(await blob.arrayBuffer());
  const original = files.find((f) => f.path === "weights/mixed.bin").bytes;
  let same = back.length === original.length;
  for (let i = 0; same && i < back.length; i++) same = back[i] === original[i];
  step("downloadFile");

  return {
    runtime,
    report: {
      files: report.files,
      logicalBytes: report.logicalBytes,
      newBytes: report.newBytes,
      bytesSent: report.bytesSent,
      dedupLocalBytes: report.dedupLocalBytes,
      dedupGlobalBytes: report.dedupGlobalBytes,
      perFile: report.perFile.map((p) => ({ path: p.path, xetHash: p.xetHash, size: p.size })),
    },
    listed: listed.sort((a, b) => (a.path < b.path ? -1 : 1)),
    hashes,
    download: { path: "weights/mixed.bin", size: back.length, identical: same },
    steps,
  };
}
