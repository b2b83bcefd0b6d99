/**
 * `xet-buckets/download`: reading buckets without the upload pipeline: listing, metadata, and downloads
 * (reconstruction from the CAS, verified chunk by chunk).
 *
 * @module xet-buckets/download
 */
export { initCore, initCoreSync, type CoreInput } from "../core/index.js";
export * from "../api/download.js";
export {
  listFiles,
  pathsInfo,
  fileExists,
  fileDownloadInfo,
  getBucketFileMetadata,
  parseTime,
  type ListFileEntry,
  type PathInfo,
  type XetFileInfo,
  type FileDownloadInfoOutput,
  type BucketFileMetadata,
} from "../api/files.js";
export {
  bucketInfo,
  listBuckets,
  type BucketInfo,
  type BucketDesignation,
  type CommonOptions,
  type RepoDesignation,
} from "../api/buckets.js";
export {
  XetBucketsError,
  XetCoreError,
  InvalidArgumentError,
  HubApiError,
  BucketNotFoundError,
  EntryNotFoundError,
  NetworkError,
  IntegrityError,
  ProtocolError,
} from "../errors.js";
