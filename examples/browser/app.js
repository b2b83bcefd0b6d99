// The upload page: pick or drop files or a folder, choose a bucket, upload with the work in a Web Worker.
//
// The page thread only collects Files, posts them to the worker (structured clone: no copy of the bytes) and
// draws progress. Reading, chunking, hashing, dedup, compression and the uploads run in the worker
// (xet-buckets/browser's UploadWorker); bucket listing and creation are plain HTTP calls from the page.
//
// Query string: ?hub=URL&token=hf_...&bucket=ns/name&prefix=folder prefill the form.
import { UploadWorker } from "xet-buckets/browser";
import { createBucket, listBuckets } from "xet-buckets";

const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
$("hub").value = query.get("hub") ?? "https://huggingface.co";
$("token").value = query.get("token") ?? "";
$("bucket").value = query.get("bucket") ?? "";
$("prefix").value = query.get("prefix") ?? "";

/** What the page exposes for scripted checks (the Playwright test reads it). */
const state = (window.__xetUpload = { state: "idle", result: undefined, error: undefined, maxStallMs: 0, progressEvents: 0 });

const fmt = (n) =>
  n >= 1 << 30
    ? `${(n / 2 ** 30).toFixed(2)} GiB`
    : n >= 1 << 20
      ? `${(n / 2 ** 20).toFixed(1)} MiB`
      : n >= 1024
        ? `${(n / 1024).toFixed(1)} KiB`
        : `${n} B`;
const pct = (a, b) => (b > 0 ? `${((100 * a) / b).toFixed(1)} %` : "–");

$("isolation").textContent = `crossOriginIsolated: ${self.crossOriginIsolated === true} (SharedArrayBuffer not needed)`;

// ----- selection ---------------------------------------------------------------------------------------

/** Selected files: `{ path, file }`, path relative to what was picked or dropped. */
let selection = [];

function setSelection(items) {
  selection = items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const total = selection.reduce((s, x) => s + x.file.size, 0);
  $("selection").textContent = selection.length
    ? `${selection.length} file${selection.length > 1 ? "s" : ""}, ${fmt(total)}: ${selection
        .slice(0, 4)
        .map((x) => x.path)
        .join(", ")}${selection.length > 4 ? ", …" : ""}`
    : "Nothing selected.";
  $("upload").disabled = selection.length === 0 || state.state === "uploading";
}

$("pick-files").addEventListener("change", (e) => setSelection([...e.target.files].map((file) => ({ path: file.name, file }))));
// A folder input gives every file below the folder, with its path in webkitRelativePath ("folder/sub/file").
$("pick-folder").addEventListener("change", (e) =>
  setSelection([...e.target.files].map((file) => ({ path: file.webkitRelativePath || file.name, file }))),
);

const drop = $("drop");
for (const type of ["dragenter", "dragover"]) {
  drop.addEventListener(type, (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
}
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  // Entries and files must be taken synchronously, while the event is being dispatched.
  const taken = [...(e.dataTransfer?.items ?? [])]
    .filter((item) => item.kind === "file")
    .map((item) => ({ entry: item.webkitGetAsEntry?.() ?? null, file: item.getAsFile() }));
  collectDropped(taken).then(setSelection, (err) => setStatus("error", `Could not read the dropped items: ${err.message}`));
});

/** Files of dropped items; dropped folders are walked (FileSystemEntry API), keeping their relative paths. */
async function collectDropped(taken) {
  const out = [];
  const fileOf = (entry) => new Promise((resolve, reject) => entry.file(resolve, reject));
  const walk = async (entry) => {
    if (entry.isFile) {
      out.push({ path: entry.fullPath.replace(/^\/+/, ""), file: await fileOf(entry) });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      // readEntries returns the children in batches until an empty one.
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child);
      }
    }
  };
  for (const { entry, file } of taken) {
    if (entry) await walk(entry);
    else if (file) out.push({ path: file.name, file });
  }
  return out;
}

// ----- buckets -----------------------------------------------------------------------------------------

const hubOptions = () => ({ hubUrl: $("hub").value.trim().replace(/\/+$/, ""), accessToken: $("token").value.trim() || undefined });

let listedNamespace = "";
async function refreshBucketList() {
  const ns = $("bucket").value.split("/")[0].trim();
  if (!ns || ns === listedNamespace) return;
  listedNamespace = ns;
  const list = $("buckets");
  try {
    const ids = [];
    for await (const b of listBuckets({ namespace: ns, ...hubOptions() })) ids.push(b.id);
    list.replaceChildren(...ids.map((id) => Object.assign(document.createElement("option"), { value: id })));
  } catch {
    listedNamespace = ""; // no token yet, unknown namespace...: try again later
  }
}
$("bucket").addEventListener("focus", refreshBucketList);
$("bucket").addEventListener("input", refreshBucketList);

// ----- upload ------------------------------------------------------------------------------------------

let worker; // one worker for the page's uploads: the WebAssembly core is compiled once
let abort;

function setStatus(kind, text) {
  state.state = kind;
  $("status").dataset.state = kind;
  $("status").textContent = text;
  $("upload").disabled = kind === "uploading" || selection.length === 0;
  $("cancel").disabled = kind !== "uploading";
}

let latest; // last `bytes` event, drawn once per frame
let frame = 0;
function draw() {
  frame = 0;
  const ev = latest;
  if (!ev) return;
  const total = ev.total ?? ev.processed;
  const dedup = ev.dedupLocal + ev.dedupGlobal;
  bar("processed", ev.processed, total, `${fmt(ev.processed)} of ${fmt(total)}`);
  bar("dedup", dedup, total, `${fmt(dedup)} (${pct(dedup, ev.processed)} of processed)`);
  bar("sent", ev.sent, ev.toSend, `${fmt(ev.sent)} of ${fmt(ev.toSend)} to send`);
}
function bar(name, value, max, text) {
  const p = $(`p-${name}`);
  p.max = Math.max(1, max);
  p.value = value;
  $(`t-${name}`).textContent = text;
}

/** Longest gap between timer ticks on the page's thread while uploading: the page stays responsive. */
function watchMainThread() {
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    state.maxStallMs = Math.max(state.maxStallMs, Math.round(now - last - 50));
    $("stall").textContent = String(Math.max(0, state.maxStallMs));
    last = now;
  }, 50);
  return () => clearInterval(timer);
}

$("upload").addEventListener("click", async () => {
  const bucket = $("bucket")
    .value.trim()
    .replace(/^hf:\/\/buckets\//, "");
  if (!/^[^/\s]+\/[^/\s]+$/.test(bucket)) return setStatus("error", "Enter the bucket as namespace/name.");
  const prefix = $("prefix")
    .value.trim()
    .replace(/^\/+|\/+$/g, "");
  const files = selection.map((x) => ({ path: prefix ? `${prefix}/${x.path}` : x.path, content: x.file }));
  const opts = hubOptions();
  abort = new AbortController();
  state.result = state.error = undefined;
  state.maxStallMs = 0;
  state.progressEvents = 0;
  latest = undefined;
  $("report").hidden = true;
  setStatus("uploading", `Uploading ${files.length} file${files.length > 1 ? "s" : ""}…`);
  const stopWatch = watchMainThread();
  const t0 = performance.now();
  try {
    if ($("create").checked) await createBucket(bucket, { ...opts, existOk: true });
    worker ??= new UploadWorker();
    const result = await worker.upload({
      repo: `buckets/${bucket}`,
      files,
      ...opts,
      abortSignal: abort.signal,
      onProgress(ev) {
        state.progressEvents++;
        if (ev.event === "bytes") {
          latest = ev;
          frame ||= requestAnimationFrame(draw);
        } else if (ev.event === "phase") {
          $("phase").textContent = `phase: ${ev.phase}`;
        }
      },
    });
    const secs = (performance.now() - t0) / 1000;
    state.result = result;
    draw();
    $("phase").textContent = "phase: done";
    showReport(result, secs);
    setStatus(
      "done",
      `Uploaded ${result.files} file${result.files > 1 ? "s" : ""} (${fmt(result.logicalBytes)}) in ${secs.toFixed(1)} s: sent ${fmt(result.bytesSent)}.`,
    );
  } catch (err) {
    state.error = { name: err.name, code: err.code, message: err.message };
    setStatus("error", err.name === "AbortError" ? "Upload cancelled: nothing was registered." : `Upload failed: ${err.message}`);
  } finally {
    stopWatch();
  }
});

$("cancel").addEventListener("click", () => abort?.abort(new DOMException("cancelled by the user", "AbortError")));

function showReport(r, secs) {
  const rows = [
    ["Files", String(r.files)],
    ["Logical size", fmt(r.logicalBytes)],
    ["New data (raw)", `${fmt(r.newBytes)} (${pct(r.newBytes, r.logicalBytes)})`],
    ["Sent (compressed)", `${fmt(r.bytesSent)} (${pct(r.bytesSent, r.logicalBytes)})`],
    ["Deduplicated within this upload", fmt(r.dedupLocalBytes)],
    ["Already stored (global dedup)", fmt(r.dedupGlobalBytes)],
    ["Chunks / xorbs / shards", `${r.chunks} / ${r.xorbs} / ${r.shards}`],
    ["Time", `${secs.toFixed(1)} s`],
  ];
  $("summary").replaceChildren(
    ...rows.flatMap(([k, v]) => [
      Object.assign(document.createElement("dt"), { textContent: k }),
      Object.assign(document.createElement("dd"), { textContent: v }),
    ]),
  );
  $("files").replaceChildren(
    ...r.perFile.map((f) => {
      const tr = document.createElement("tr");
      tr.dataset.path = f.path;
      for (const [text, cls] of [
        [f.path, ""],
        [fmt(f.size), "n"],
        [fmt(f.newBytes), "n"],
        [fmt(f.dedupLocalBytes + f.dedupGlobalBytes), "n"],
        [f.xetHash, "hash"],
      ]) {
        const td = document.createElement("td");
        td.textContent = cls === "hash" ? `${text.slice(0, 16)}…` : text;
        if (cls === "hash") td.title = text;
        if (cls) td.className = cls;
        tr.append(td);
      }
      return tr;
    }),
  );
  $("report").hidden = false;
}
