// The page of bench/browser.ts (served by it as /page.js, with dist/ and @huggingface/hub's bundle on the same
// origin). Every measurement runs on a File picked through <input type=file> (the script sets it) and watches
// the page's main thread: `longTask` is the longest task the 'longtask' PerformanceObserver saw (work on the
// thread), `lag` the longest delay of a 10 ms timer beyond its period (work, or the thread waiting for a CPU
// on a loaded machine).
import { UploadWorker } from "/dist/web/browser.js";

const MiB = 1024 * 1024;
const file = () => {
  const f = document.getElementById("file").files[0];
  if (!f) throw new Error("no file picked");
  return f;
};

/** Runs `fn` with the main thread watched; resolves with the seconds it took, the stalls and what `fn` returned. */
async function watched(fn) {
  let lag = 0;
  let longTask = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - last - 10);
    last = now;
  }, 10);
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longTask = Math.max(longTask, e.duration);
  });
  // Firefox has no 'longtask' entries: null there.
  const observed = PerformanceObserver.supportedEntryTypes.includes("longtask");
  if (observed) obs.observe({ type: "longtask" });
  const t0 = performance.now();
  try {
    const extra = await fn();
    return { seconds: (performance.now() - t0) / 1000, lag: Math.round(lag), longTask: observed ? Math.round(longTask) : null, ...extra };
  } finally {
    clearInterval(timer);
    obs.disconnect();
  }
}

/** POSTs a body to the drain server; resolves with the bytes it counted. */
async function post(url, body, extra = {}) {
  const res = await fetch(url, { method: "POST", body, headers: { "Content-Type": "application/octet-stream" }, ...extra });
  if (!res.ok) throw new Error(`POST ${url}: ${res.status}`);
  return Number((await res.json()).bytes);
}

/** Reads a stream to its end; resolves with its length. */
async function drainStream(stream) {
  const reader = stream.getReader();
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return n;
    n += value.byteLength;
  }
}

/**
 * Candidate xorb bodies (--probe): 64 MiB bodies built from the picked file, `inflight` sent at once:
 *   blob-slices  a Blob of 8-byte headers and 64 KiB File slices (a xorb of raw chunks: 4096 blob items)
 *   blob-1m      the same with 1 MiB slices (128 items)
 *   blob-one     a Blob of one File slice
 *   bytes        the slice read into an ArrayBuffer, sent as a Uint8Array
 *   blob-bytes   a Blob made from those bytes
 *   mem-pieces   in-memory bytes copied into a 4 MiB buffer, each full buffer made a Blob piece, the body the
 *                Blob of its pieces (what XorbAssembly does in browsers)
 *   stream       a ReadableStream of the slice (duplex: "half")
 */
async function bodies(f, kind, url, inflight) {
  const XORB = 64 * MiB;
  let next = 0;
  let sent = 0;
  let mem;
  let staging;
  const one = async () => {
    while (next < f.size) {
      const a = next;
      const b = Math.min(f.size, a + XORB);
      next = b;
      let body;
      const extra = {};
      if (kind === "blob-slices" || kind === "blob-1m") {
        const step = kind === "blob-1m" ? MiB : 65536;
        const parts = [];
        for (let p = a; p < b; p += step) parts.push(new Uint8Array(8).fill(p & 255), f.slice(p, Math.min(b, p + step)));
        body = new Blob(parts);
      } else if (kind === "blob-one") body = f.slice(a, b);
      else if (kind === "bytes") body = new Uint8Array(await f.slice(a, b).arrayBuffer());
      else if (kind === "blob-bytes") body = new Blob([await f.slice(a, b).arrayBuffer()]);
      else if (kind === "mem-pieces") {
        if (!mem) {
          mem = new Uint8Array(XORB);
          crypto.getRandomValues(mem.subarray(0, 65536));
          for (let n = 65536; n < XORB; n *= 2) mem.copyWithin(n, 0, n);
          staging = new Uint8Array(4 * MiB);
        }
        const parts = [];
        for (let p = 0; p < b - a; p += 4 * MiB) {
          const n = Math.min(4 * MiB, b - a - p);
          staging.set(mem.subarray(p, p + n));
          parts.push(new Blob([staging.subarray(0, n)]));
        }
        body = new Blob(parts);
      } else if (kind === "stream") {
        body = f.slice(a, b).stream();
        extra.duplex = "half";
      } else throw new Error(`unknown body ${kind}`);
      const n = await post(url, body, extra);
      sent += n;
    }
  };
  await Promise.all(Array.from({ length: inflight }, one));
  return { bytes: sent };
}

/**
 * Reads the File in `block`-byte slices, `n` at once: `Blob.arrayBuffer()` each (`mode` "release": each
 * buffer then freed at once, through a fresh MessageChannel whose ports are closed), or a BYOB reader into
 * one buffer (`mode` "byob").
 */
async function readAll(f, block, n, mode) {
  const byob = mode === "byob";
  let next = 0;
  const one = async () => {
    let buf = new ArrayBuffer(block + 1);
    while (next < f.size) {
      const a = next;
      const end = Math.min(f.size, a + block);
      next = end;
      if (!byob) {
        const got = await f.slice(a, end).arrayBuffer();
        if (mode === "release") {
          const ch = new MessageChannel();
          ch.port1.postMessage(null, [got]);
          ch.port1.close();
          ch.port2.close();
        }
        continue;
      }
      const reader = f.slice(a, end).stream().getReader({ mode: "byob" });
      // Read to the end of the stream (one byte of room more than the slice), which closes it.
      for (let at = 0; ;) {
        const { done, value } = await reader.read(new Uint8Array(buf, at, buf.byteLength - at));
        buf = value.buffer;
        if (done) break;
        at += value.byteLength;
      }
      reader.releaseLock();
    }
  };
  await Promise.all(Array.from({ length: n }, one));
  return { bytes: f.size };
}

// The same functions in a dedicated worker (their source, as a module).
const WORKER_SRC = `
const MiB = ${MiB};
${post}
${bodies}
${readAll}
onmessage = async (ev) => {
  const { f, kind, url, inflight } = ev.data;
  try {
    const r = kind === "plain" ? { bytes: await post(url, f) }
      : kind.startsWith("read") ? await readAll(f, 2.5 * MiB, inflight, kind.slice(5))
      : await bodies(f, kind, url, inflight);
    postMessage(r);
  } catch (e) {
    postMessage({ error: String((e && e.message) || e) });
  }
};`;

function inWorker(msg) {
  const url = URL.createObjectURL(new Blob([WORKER_SRC], { type: "text/javascript" }));
  const w = new Worker(url);
  return new Promise((resolve, reject) => {
    w.onmessage = (ev) => {
      w.terminate();
      URL.revokeObjectURL(url);
      if (ev.data.error) reject(new Error(ev.data.error));
      else resolve(ev.data);
    };
    w.onerror = (e) => reject(new Error(e.message));
    w.postMessage(msg);
  });
}

let uploadWorker;
const randomBytes = (n) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
};

window.B = {
  ready: true,

  // ----- uploads

  /** A plain fetch POST of the picked File to the drain server, from the page (`where` "page") or a worker. */
  plain: (url, where = "page") =>
    watched(async () => (where === "page" ? { bytes: await post(url, file()) } : inWorker({ f: file(), kind: "plain", url }))),

  /** Before an upload client is timed: it uploads a small file (its worker, core and modules loaded). */
  async warm(client, { hubUrl, token, bucket, options = {} }) {
    const content = randomBytes(3 * MiB);
    if (client === "ours") {
      uploadWorker ??= new UploadWorker();
      await uploadWorker.upload({
        repo: `buckets/${bucket}`,
        files: [{ path: "warm.bin", content }],
        hubUrl,
        accessToken: token,
        ...options,
      });
    } else {
      const hub = await import("/hubjs.mjs");
      await hub.uploadFiles({
        repo: { type: "bucket", name: bucket },
        hubUrl,
        accessToken: token,
        files: [{ path: "warm.bin", content: new Blob([content]) }],
      });
    }
  },

  /** xet-buckets' UploadWorker (`options`: upload options) of the picked File. */
  ours: ({ hubUrl, token, bucket, path, options = {} }) =>
    watched(async () => {
      uploadWorker ??= new UploadWorker();
      const r = await uploadWorker.upload({
        repo: `buckets/${bucket}`,
        files: [{ path, content: file() }],
        hubUrl,
        accessToken: token,
        ...options,
        onProgress: (ev) => (window.progress = ev),
      });
      return { bytes: r.bytesSent, xorbs: r.xorbs };
    }),

  /** @huggingface/hub's uploadFiles (its bucket path) of the picked File, on the page's thread as its docs show. */
  hubjs: ({ hubUrl, token, bucket, path }) =>
    watched(async () => {
      const hub = await import("/hubjs.mjs");
      await hub.uploadFiles({ repo: { type: "bucket", name: bucket }, hubUrl, accessToken: token, files: [{ path, content: file() }] });
      return {};
    }),

  // ----- downloads (each reads the file to its end through a stream, keeping nothing)

  /** A plain fetch GET of the same bytes from a static server. */
  plainGet: (url) =>
    watched(async () => {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
      return { bytes: await drainStream(res.body) };
    }),

  /** xet-buckets' downloadFile: the lazy Blob's stream (verified against the xetHash at its end). */
  oursGet: ({ hubUrl, token, bucket, path, options = {} }) =>
    watched(async () => {
      const { downloadFile } = await import("/dist/web/index.js");
      const blob = await downloadFile({ repo: `buckets/${bucket}`, path, hubUrl, accessToken: token, ...options });
      return { bytes: await drainStream(blob.stream()) };
    }),

  /** @huggingface/hub's downloadFile: its Blob's stream. */
  hubjsGet: ({ hubUrl, token, bucket, path }) =>
    watched(async () => {
      const hub = await import("/hubjs.mjs");
      const blob = await hub.downloadFile({ repo: { type: "bucket", name: bucket }, path, hubUrl, accessToken: token });
      return { bytes: await drainStream(blob.stream()) };
    }),

  // ----- probes

  /** Candidate xorb bodies to the drain server, from the page or a worker. */
  bodies: (kind, url, inflight, where) =>
    watched(() => (where === "worker" ? inWorker({ f: file(), kind, url, inflight }) : bodies(file(), kind, url, inflight))),
  /** Reading the File in 2.5 MiB slices from a worker, `n` at once (`kind`: "read", "read-release" or "read-byob"). */
  read: (kind, n) => watched(() => inWorker({ f: file(), kind, inflight: n })),
};
