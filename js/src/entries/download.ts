/**
 * `xet-buckets/download`: reading buckets without the upload pipeline: listing, metadata, live changes
 * (`watchBucket`), and downloads (reconstruction from the CAS, verified chunk by chunk).
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
  watchBucket,
  EventsUnavailableError,
  type WatchBucketOptions,
  type BucketWatchEvent,
  type BucketFileChange,
} from "../api/watch.js";
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
  RepoNotFoundError,
  EntryNotFoundError,
  NetworkError,
  IntegrityError,
  ProtocolError,
} from "../errors.js";
