/** Releasing the memory of large buffers as soon as they are spent (uploads, downloads, the chunking pool). */

let sink: MessagePort | undefined;

/**
 * Frees the memory of a buffer this package owns now, instead of when the garbage collector runs: the
 * buffer is transferred to a closed MessagePort, which detaches it (its length becomes 0) and drops its
 * bytes. Without this, xorb buffers (up to 64 MiB each) pile up between collections and peak memory
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
  } catch {
    // not transferable here: the collector frees it later
  }
}
