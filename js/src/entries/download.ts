/**
 * `xet-buckets/download`: reading buckets without the upload pipeline: listing, metadata, live changes
 * (`watchBucket`), and downloads (reconstruction from the CAS, verified chunk by chunk). Names as in the main
 * entry (js/src/index.ts).
 *
 * @module xet-buckets/download
 */
export { initCore, initCoreSync, type CoreInput } from "../core/index.js";
export type { RetryInfo, RetryOptions } from "../http.js";
export {
  BucketFileBlob,
  downloadBucketFiles,
  downloadFile,
  downloadFileToPath,
  ResolveUrlBlob,
  type DownloadBucketFilesOptions,
  type DownloadBucketFilesResult,
  type DownloadProgress,
  type DownloadTuning,
  type ParallelDownloadOptions,
  type RemoteFileEntry,
  type XetReadToken,
} from "../api/download.js";
export {
  fileDownloadInfo,
  fileExists,
  getBucketFileMetadata,
  listFiles,
  pathsInfo,
  type BucketFileMetadata,
  type FileDownloadInfoOutput,
  type ListFileEntry,
  type PathInfo,
  type XetFileInfo,
} from "../api/files.js";
export { watchBucket, type BucketFileChange, type BucketWatchEvent, type WatchBucketOptions } from "../api/watch.js";
export {
  bucketInfo,
  listBuckets,
  type BucketDesignation,
  type BucketInfo,
  type CommonOptions,
  type RepoDesignation,
} from "../api/buckets.js";
export {
  BucketNotFoundError,
  RepoNotFoundError,
  EntryNotFoundError,
  EventsUnavailableError,
  HubApiError,
  IntegrityError,
  InvalidArgumentError,
  LocalFileError,
  NetworkError,
  ProtocolError,
  TransferError,
  XetBucketsError,
  XetCoreError,
  type ErrorCode,
  type FileFailure,
  type HttpErrorCode,
} from "../errors.js";
