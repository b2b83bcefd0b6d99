/**
 * xet-buckets: Hugging Face Storage Buckets from JavaScript, with client-side Xet deduplication.
 *
 * @module xet-buckets
 */
export { xetHash, xetHashFiles, type FileHash, type HashFilesOptions } from "./hash.js";
export { initCore, initCoreSync, type CoreInput } from "./core/index.js";
export type { ContentSource, ReadOptions } from "./sources.js";
export { XetBucketsError, XetCoreError, InvalidArgumentError } from "./errors.js";
export * from "./api/upload.js";
export * from "./api/buckets.js";
export * from "./api/files.js";
export * from "./api/download.js";
export { HubApiError, BucketNotFoundError, EntryNotFoundError, NetworkError, IntegrityError, BatchError, ProtocolError } from "./errors.js";
export * from "./sync/index.js";
export { indexedDbResumeStore, type IndexedDbResumeOptions } from "./browser/resume.js";
export * from "./fs/index.js";
