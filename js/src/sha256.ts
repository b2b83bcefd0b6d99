/**
 * Incremental SHA-256 for the LFS pointers of repository commits: the runtime's own where it has one
 * (`node:crypto` in Node, Deno and Bun, through `#platform`), the core's elsewhere (Web Crypto digests whole
 * buffers only).
 */
import { nativeSha256 } from "#platform";
import { initCore, Sha256Hasher } from "./core/index.js";
import type { Sha256 } from "./platform/types.js";

export type { Sha256 } from "./platform/types.js";

export async function newSha256(): Promise<Sha256> {
  const native = nativeSha256();
  if (native) return native;
  await initCore();
  return new Sha256Hasher();
}
