/**
 * xet-buckets: Hugging Face Storage Buckets from JavaScript, with client-side Xet deduplication.
 *
 * The public surface, by name: the calls of @huggingface/hub's bucket API (several also take model, dataset and
 * space repositories) and of huggingface_hub's bucket functions (camelCased), sync, the bucket file system, live
 * changes (`watchBucket`), Xet hashes, the core's loading, the stores of resume states and of the persistent dedup
 * cache, the error classes, and the types of their options and results. Everything else in the package is internal
 * and may change.
 *
 * @module xet-buckets
 */
export { xetHash, xetHashFiles, type FileHash, type HashFilesOptions } from "./hash.js";
export { initCore, initCoreSync, type CompressionPolicy, type CoreInput } from "./core/index.js";
export type { ContentSource, ReadOptions } from "./sources.js";
export type { RetryInfo, RetryOptions } from "./http.js";
export {
  BatchError,
  BucketNotFoundError,
  DedupCacheStaleError,
  EntryNotFoundError,
  EventsUnavailableError,
  HubApiError,
  IntegrityError,
  InvalidArgumentError,
  LocalFileError,
  NetworkError,
  ProtocolError,
  RepoNotFoundError,
  SyncRefusedError,
  XetBucketsError,
  XetCoreError,
  type ErrorCode,
  type HttpErrorCode,
} from "./errors.js";
export {
  bucketInfo,
  checkRepoAccess,
  createBucket,
  createRepo,
  deleteBucket,
  deleteRepo,
  listBuckets,
  moveBucket,
  repoExists,
  updateBucketSettings,
  type BucketDesignation,
  type BucketInfo,
  type BucketUrl,
  type CommonOptions,
  type RepoDesignation,
} from "./api/buckets.js";
export {
  copyFile,
  copyFileIter,
  copyFiles,
  copyFilesIter,
  copyFolder,
  copyFolderIter,
  deleteFile,
  deleteFiles,
  fileDownloadInfo,
  fileExists,
  getBucketFileMetadata,
  listFiles,
  pathsInfo,
  relativeUnderFolder,
  type BucketFileMetadata,
  type CopyCommitOptions,
  type CopyDestination,
  type CopyEvent,
  type CopyFilesEntry,
  type CopyFilesParams,
  type CopyFolderParams,
  type CopyProgressEvent,
  type CopySource,
  type FileDownloadInfoOutput,
  type ListFileEntry,
  type PathInfo,
  type XetFileInfo,
} from "./api/files.js";
export {
  batchBucketFiles,
  commit,
  commitIter,
  DEFAULT_DEDUP_CACHE_BYTES,
  directoryDedupCache,
  uploadFile,
  uploadFiles,
  uploadFilesWithProgress,
  uploadMemoryBound,
  UPLOAD_DEFAULTS,
  type BatchAdd,
  type BatchBucketFilesParams,
  type BatchCopy,
  type BatchFailure,
  type BytesEvent,
  type CommitCopyFile,
  type CommitDeletedEntry,
  type CommitEditFile,
  type CommitFile,
  type CommitInfo,
  type CommitOperation,
  type CommitParams,
  type CommitResult,
  type ContentEdit,
  type DedupCacheEntryInfo,
  type DedupCacheSpace,
  type DedupCacheStore,
  type DedupCacheStoreEntry,
  type DedupReport,
  type FileProgressEvent,
  type FileUploadReport,
  type PhaseEvent,
  type ResumeState,
  type ResumeStore,
  type ResumeSummary,
  type UploadDataShape,
  type UploadFileInput,
  type UploadFileParams,
  type UploadFilesParams,
  type UploadOptions,
  type UploadPhase,
  type UploadProgressEvent,
  type UploadTuning,
} from "./api/upload.js";
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
} from "./api/download.js";
export {
  DEFAULT_SETTLE_MS,
  SETTLE_MS_PER_GIB,
  settleTime,
  syncBucket,
  type SyncAction,
  type SyncEvent,
  type SyncOperation,
  type SyncOptions,
  type SyncPlan,
  type SyncResult,
  type SyncSummary,
} from "./sync/index.js";
export {
  BucketFileSystem,
  createBucketFs,
  type BucketFsEntry,
  type BucketFsOptions,
  type BucketWalkStep,
  type CopiedFile,
} from "./fs/index.js";
export { watchBucket, type BucketFileChange, type BucketWatchEvent, type WatchBucketOptions } from "./api/watch.js";
export { indexedDbResumeStore, type IndexedDbResumeOptions } from "./browser/resume.js";
export { indexedDbDedupCache, type IndexedDbDedupCacheOptions } from "./platform/idb-dedup-cache.js";
