/** Releasing the memory of large buffers as soon as they are spent (uploads, downloads, the chunking pool). */

let sink: MessagePort | undefined;

/**
 * Frees the memory of a buffer this package owns now, instead of when the garbage collector runs: the
 * buffer is transferred to a closed MessagePort, which detaches it (its length becomes 0) and drops its
 * bytes. Browsers refuse a message to a closed port before they take its buffers (Chromium), so there it
 * goes to a fresh channel whose ports are closed right after, which drops it (Chromium, reading a 1 GiB File
 * in 2.5 MiB slices: ≈ 20 MiB held instead of ≈ 180 MiB waiting for the collector; `transfer(0)` holds the
 * bytes until a collection and hides them from its heuristics: ≈ 1 GiB). Without this, xorb buffers (up to 64 MiB each) pile up between collections and peak memory
 * depends on GC timing. Only for buffers nobody else holds or writes from (after a request completed);
 * a no-op for views that do not span their whole buffer, shared buffers, or where MessageChannel is missing.
 */
export function releaseBuffer(view: Uint8Array | undefined): void {
  if (!view || typeof MessageChannel === "undefined") return;
  const buf = view.buffer;
  if (!(buf instanceof ArrayBuffer) || view.byteOffset !== 0 || view.byteLength !== buf.byteLength || buf.byteLength === 0) return;
  try {
    if (!sink) {
      const ch = new MessageChannel();
      ch.port2.close();
      ch.port1.close();
      sink = ch.port1;
    }
    sink.postMessage(null, [buf]);
    if (buf.byteLength !== 0) {
      const ch = new MessageChannel();
      ch.port1.postMessage(null, [buf]);
      ch.port1.close();
      ch.port2.close();
    }
  } catch {
    // not transferable here: the collector frees it later
  }
}
