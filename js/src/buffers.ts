/**
 * Byte buffers: recognising the caller's bytes whatever realm made them, and releasing the memory of large
 * buffers as soon as they are spent (uploads, downloads, the chunking pool).
 */

// `instanceof Uint8Array` is false for bytes made in another realm (an iframe, a worker's transferred view, a
// vm context), whose constructors are other objects. The internal-slot checks below hold across realms: the
// typed-array tag getter reads the view's [[TypedArrayName]], and ArrayBuffer's byteLength getter throws for
// anything but an ArrayBuffer (a SharedArrayBuffer included).
const typedArrayName = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!.get!;
const arrayBufferByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength")!.get!;

/** True for a Uint8Array (or a subclass such as Node's Buffer) of any realm. */
export function isUint8Array(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array || (ArrayBuffer.isView(x) && typedArrayName.call(x) === "Uint8Array");
}

/** True for an ArrayBuffer of any realm (not a SharedArrayBuffer). */
export function isArrayBuffer(x: unknown): x is ArrayBuffer {
  if (x instanceof ArrayBuffer) return true;
  if (typeof x !== "object" || x === null) return false;
  try {
    arrayBufferByteLength.call(x);
    return true;
  } catch {
    return false;
  }
}

/** The bytes of a Uint8Array or an ArrayBuffer of any realm (a view, no copy); undefined for anything else. */
export function asBytes(x: unknown): Uint8Array | undefined {
  if (isUint8Array(x)) return x;
  if (isArrayBuffer(x)) return new Uint8Array(x);
  return undefined;
}

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
