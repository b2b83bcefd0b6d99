/**
 * The chunking worker's code, as source text: a Node `worker_threads` worker (`eval: true`) or a module
 * Web Worker (from a Blob URL) runs it. It is self-contained on purpose (no import, no file next to the
 * package to locate, the same text in every bundle): it instantiates the core's `WebAssembly.Module`,
 * posted once by the pool, with every import stubbed (the worker ABI of src/wasm.rs, `xb_input` and
 * `xb_prepare`, reaches none of them), and prepares segments (src/prepare.rs).
 *
 * Messages (see pool.ts):
 *   in:  { type: "init", module }                                     → { type: "ready" } | { type: "fatal", error }
 *   in:  { type: "decode", id, data, length, out? } (chunk records of a download; `out`: a buffer for the result)
 *        → { type: "done", id, packed, length, data, unused? } | { …, error, code, core }
 *   in:  { type: "hash", id, files, sizes, block } (Node: Xet file hashes of whole local files, read `block` bytes at a time)
 *        → { type: "done", id, packed (48 bytes per file: raw hash, size, chunks), length } | { …, error, code, fatal }
 *   in:  { type: "job", id, data | file: { path, offset }, length, start, emitFrom, seam, seamChain, compression, spare?, spareSize }
 *                                                  → { type: "done", id, packed, length, data } | { type: "done", id, error, fatal, data }
 * `data` (the input ArrayBuffer) is transferred both ways, so the pool reuses it; a `file` job (Node) reads
 * `length` bytes of a local file at `offset` straight into the core's memory instead; `packed` (the result,
 * src/prepare.rs's packed form, in its first `length` bytes) is written into `spare` (a spent result the pool
 * hands back) and transferred to the pool. Nothing is shared (no SharedArrayBuffer).
 */

// Plain JavaScript in a string, not a function's `toString()`: transpilers add helpers (esbuild's
// `__name`, for one) that do not exist in the worker.
export const WORKER_SOURCE = String.raw`"use strict";
(() => {
  const g = globalThis;
  const req = typeof require === "function" ? require : g.require;
  const isNode = typeof req === "function" && g.process && g.process.versions && g.process.versions.node;
  let post;
  let ex = null;
  let fs = null;
  /** Opens a local file for reading (Node); a file gone since it was listed is SOURCE_CHANGED. */
  const openFile = (path) => {
    fs = fs || req("node:fs");
    try {
      return fs.openSync(path, "r");
    } catch (e) {
      throw Object.assign(new Error("cannot open " + path + ": " + e.message), { code: e.code === "ENOENT" ? "SOURCE_CHANGED" : "READ_FAILED" });
    }
  };
  /** Reads len bytes of a local file at offset into core memory (Node): no copy through the pool. */
  const readInto = (view, file) => {
    const fd = openFile(file.path);
    try {
      let got = 0;
      while (got < view.length) {
        const n = fs.readSync(fd, view, got, view.length - got, file.offset + got);
        if (n === 0) break;
        got += n;
      }
      if (got < view.length) {
        throw Object.assign(new Error(file.path + " is shorter than when the upload started (" + (file.offset + got) + " bytes): it changed while it was read"), { code: "SOURCE_CHANGED" });
      }
    } finally {
      fs.closeSync(fd);
    }
  };
  const handle = (m) => {
    if (m.type === "init") {
      try {
        const imports = {};
        for (const imp of WebAssembly.Module.imports(m.module)) {
          if (imp.kind !== "function") throw new Error("the core imports a " + imp.kind + " (" + imp.name + ")");
          if (!imports[imp.module]) imports[imp.module] = {};
          imports[imp.module][imp.name] = () => {
            throw new Error("xet-buckets chunking worker: unexpected call to " + imp.name);
          };
        }
        ex = new WebAssembly.Instance(m.module, imports).exports;
        if (typeof ex.xb_prepare !== "function") throw new Error("this core has no worker ABI (xb_prepare)");
        post({ type: "ready" });
      } catch (e) {
        post({ type: "fatal", error: String((e && e.message) || e) });
      }
      return;
    }
    if (m.type === "decode") {
      // Chunk records of a downloaded range: decoded and hashed here, the result in a new buffer (the
      // reader hands the decoded bytes on), the input handed back for reuse.
      const data = m.data;
      try {
        const len = m.length;
        const ptr = ex.xb_input(len) >>> 0;
        new Uint8Array(ex.memory.buffer, ptr, len).set(new Uint8Array(data, 0, len));
        const out = ex.xb_decode(len) >>> 0;
        if (out === 0) {
          const msg = new TextDecoder().decode(new Uint8Array(ex.memory.buffer, ex.xb_error() >>> 0, ex.xb_error_len() >>> 0));
          const cut = msg.indexOf("\0");
          throw Object.assign(new Error(msg.slice(cut + 1)), { code: msg.slice(0, cut), core: true });
        }
        const head = new DataView(ex.memory.buffer, out, 8);
        const length = 16 + 36 * head.getUint32(0, true) + head.getUint32(4, true);
        // Into the caller's spent output buffer when it fits (no new multi-MiB buffer), else a new one.
        const given = m.out;
        // A new one is rounded up to 64 KiB, so that it fits the next batches of about the same size.
        const packed = given && given.byteLength >= length ? given : new ArrayBuffer(Math.ceil(length / 65536) * 65536);
        new Uint8Array(packed, 0, length).set(new Uint8Array(ex.memory.buffer, out, length));
        if (given && packed !== given) post({ type: "done", id: m.id, packed, length, data, unused: given }, [packed, data, given]);
        else post({ type: "done", id: m.id, packed, length, data }, [packed, data]);
      } catch (e) {
        const fatal = e instanceof WebAssembly.RuntimeError;
        const msg = { type: "done", id: m.id, error: String((e && e.message) || e), code: e && e.code, core: !!(e && e.core), fatal, data };
        if (m.out) msg.unused = m.out;
        post(msg, m.out ? [data, m.out] : [data]);
      }
      return;
    }
    if (m.type === "hash") {
      // Xet file hashes of whole local files (Node): each read block by block into the core's memory and
      // hashed there; the result is 48 bytes per file (raw hash, size and chunk count as float64 LE).
      const out = new ArrayBuffer(48 * m.files.length);
      const dv = new DataView(out);
      let current = "";
      try {
        const block = m.block;
        const ptr = ex.xb_input(block) >>> 0;
        for (let i = 0; i < m.files.length; i++) {
          const path = (current = m.files[i]);
          const fd = openFile(path);
          try {
            const size = fs.fstatSync(fd).size;
            if (size !== m.sizes[i]) {
              throw Object.assign(new Error(path + " changed while it was hashed (" + size + " bytes, was " + m.sizes[i] + ")"), { code: "SOURCE_CHANGED" });
            }
            ex.xb_hash_begin();
            let pos = 0;
            for (;;) {
              // A new view every time: the core's memory may have grown (and moved) meanwhile.
              const n = fs.readSync(fd, new Uint8Array(ex.memory.buffer, ptr, block), 0, block, pos);
              if (n === 0) break;
              ex.xb_hash_update(n);
              pos += n;
            }
            if (pos !== size) {
              throw Object.assign(new Error(path + " changed while it was hashed (read " + pos + " of " + size + " bytes)"), { code: "SOURCE_CHANGED" });
            }
            const r = ex.xb_hash_finish() >>> 0;
            const digest = new Uint8Array(ex.memory.buffer, r, 40);
            new Uint8Array(out, 48 * i, 32).set(digest.subarray(0, 32));
            dv.setFloat64(48 * i + 32, size, true);
            dv.setFloat64(48 * i + 40, Number(new DataView(ex.memory.buffer, r + 32, 8).getBigUint64(0, true)), true);
          } finally {
            fs.closeSync(fd);
          }
        }
        post({ type: "done", id: m.id, packed: out, length: out.byteLength }, [out]);
      } catch (e) {
        const fatal = e instanceof WebAssembly.RuntimeError;
        post({ type: "done", id: m.id, error: String((e && e.message) || e) + (fatal ? " (hashing " + current + ")" : ""), code: e && e.code, fatal });
      }
      return;
    }
    if (m.type !== "job") return;
    const data = m.data;
    const back = data ? [data] : [];
    try {
      const len = m.length;
      const ptr = ex.xb_input(len) >>> 0;
      if (m.file) readInto(new Uint8Array(ex.memory.buffer, ptr, len), m.file);
      else new Uint8Array(ex.memory.buffer, ptr, len).set(new Uint8Array(data, 0, len));
      const out = ex.xb_prepare(len, m.start, m.emitFrom, m.seam < 0 ? -1 : m.seam, m.seamChain, m.compression) >>> 0;
      if (out === 0) {
        throw new Error("invalid segment arguments (start " + m.start + ", first chunk " + m.emitFrom + ", seam " + m.seam + "/" + m.seamChain + ", " + len + " bytes)");
      }
      const head = new DataView(ex.memory.buffer, out, 32);
      const n = head.getUint32(0, true);
      const records = head.getUint32(12, true);
      const length = 32 + 40 * n + records;
      // The result goes into the spare buffer the pool sent (a fresh multi-MiB buffer costs as much as
      // preparing it: zeroing and page faults), else into a new one of the pool's standard size.
      const spare = m.spare;
      const fits = spare && spare.byteLength >= length;
      const packed = fits ? spare : new ArrayBuffer(Math.max(length, m.spareSize || 0));
      new Uint8Array(packed, 0, length).set(new Uint8Array(ex.memory.buffer, out, length));
      // A spare too small goes back too (the pool frees it): nothing large stays here for the collector.
      if (spare && !fits) post({ type: "done", id: m.id, packed, length, data, spare }, [packed, ...back, spare]);
      else post({ type: "done", id: m.id, packed, length, data }, [packed, ...back]);
    } catch (e) {
      // A trap (a panic in the core) leaves the instance unusable: fatal for this worker.
      const fatal = e instanceof WebAssembly.RuntimeError;
      const msg = { type: "done", id: m.id, error: String((e && e.message) || e), code: e && e.code, fatal, data, spare: m.spare };
      post(msg, m.spare ? [...back, m.spare] : back);
    }
  };
  if (isNode) {
    const { parentPort } = req("node:worker_threads");
    post = (m, t) => parentPort.postMessage(m, t);
    parentPort.on("message", handle);
  } else {
    post = (m, t) => g.postMessage(m, t);
    g.onmessage = (e) => handle(e.data);
  }
})();
`;
