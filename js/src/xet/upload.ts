/**
 * The deduplicating Xet upload pipeline (xet-protocol.md §8): the names its callers use. The pipeline is a
 * coordinator and stages, each in its own file under upload/; upload/pipeline.ts describes the data flow,
 * the memory bound and the abort policy, and lists the stages. The options, their defaults and
 * `uploadMemoryBound` are in upload/tuning.ts; the report and the progress events in upload/progress.ts.
 */
export { UploadPipeline, type PipelineOptions } from "./upload/pipeline.js";
export {
  METADATA_BYTES_PER_GIB,
  RUNTIME_BASELINE_BYTES,
  SEGMENT_OVERLAP_BYTES,
  SEGMENT_PREROLL_BYTES,
  STREAM_PIECES_BYTES,
  UPLOAD_DEFAULTS,
  uploadMemoryBound,
  WORKER_BASELINE_BYTES,
  type UploadDataShape,
  type UploadTuning,
} from "./upload/tuning.js";
export type {
  BytesEvent,
  DedupReport,
  FileProgressEvent,
  FileUploadReport,
  PhaseEvent,
  UploadPhase,
  UploadProgressEvent,
} from "./upload/progress.js";
