/**
 * `xet-buckets/hash`: Xet file hashes only (the Hub's `xetHash`), without the Hub client. The smallest entry
 * point: the WebAssembly core and the content readers.
 *
 * @module xet-buckets/hash
 */
export { xetHash } from "../hash.js";
export { initCore, initCoreSync, type CoreInput } from "../core/index.js";
export type { ContentSource, ReadOptions } from "../sources.js";
export { InvalidArgumentError, LocalFileError, XetBucketsError, XetCoreError, type ErrorCode } from "../errors.js";
