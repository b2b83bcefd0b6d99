/**
 * Hexadecimal text: the one check of a hash's hex form and the one encoder of bytes as hex. A leaf module, so
 * that every layer (the platform's resume files, the Hub client, the core's wrapper, the local hub) uses it.
 *
 * (Xet hashes are not the hex of their raw bytes in order: `rawToHex` / `hexToRaw` of the core convert those.)
 */

const HEX64 = /^[0-9a-fA-F]{64}$/;

/** True for 64 hexadecimal characters (either case): the text form of a Xet hash or of a SHA-256. */
export function isXetHash(s: unknown): s is string {
  return typeof s === "string" && HEX64.test(s);
}

/** `bytes[start, end)` as lowercase hex, two characters per byte in order. */
export function toHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = "";
  for (let i = start; i < end; i++) s += bytes[i]!.toString(16).padStart(2, "0");
  return s;
}
