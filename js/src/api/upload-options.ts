/**
 * The options of every upload call (bucket and repository uploads alike), in a module of their own so that
 * the upload run (upload-run.ts) and the calls that use it (upload.ts, repo-commit.ts) share them without
 * importing each other.
 */
import type { DedupCacheStore } from "../dedup-cache-store.js";
import type { HubCallOptions } from "../hub/context.js";
import type { ResumeStore } from "../xet/resume.js";
import type { UploadTuning } from "../xet/upload.js";

/** Options of every upload call: Hub access (@huggingface/hub vocabulary), tuning, and failure policy. */
export interface UploadOptions extends HubCallOptions, UploadTuning {
  /**
   * Resolve even when the bucket refused some paths (they are listed in `failed`). Default false: reject
   * with a `BatchError` listing them.
   */
  allowPartial?: boolean;
  /** Deepest folder level expanded from a `file:` URL (default 10). */
  maxFolderDepth?: number;
  /** Must be true or undefined: buckets and this package's repository commits are Xet-only. */
  useXet?: boolean;
  /** Repositories: the commit's title (default "Upload N file(s) with xet-buckets"). Ignored for buckets. */
  commitTitle?: string;
  /** Repositories: the commit's description. Ignored for buckets. */
  commitDescription?: string;
  /** Repositories: the branch to commit to (default main). Ignored for buckets. */
  branch?: string;
  /** Not supported (pull requests): must be false or undefined. */
  isPullRequest?: boolean;
  /** Repositories: the commit the change is based on (the Hub refuses it when the branch moved since). Ignored for buckets. */
  parentCommit?: string;
  /**
   * @huggingface/hub's option, mapped onto `workers` when that is not given: `true` or `{ poolSize }` turns
   * the chunking workers on (`poolSize` of them; by default the cores, at most 4), also in browsers; `false`
   * keeps this runtime's default. `minSize` is ignored (small files are always chunked on the calling thread).
   */
  useWebWorkers?:
    | boolean
    | {
        /** Ignored (kept for @huggingface/hub compatibility). */
        minSize?: number;
        /** Chunking workers to start (default: the cores, at most 4). */
        poolSize?: number;
      };
  /**
   * Node, Deno, Bun: a directory for resume states. An upload that was killed or failed, run again with the
   * same files and destination, does not send again the xorbs the CAS already accepted (xet/resume.ts).
   * The state is deleted once the files are registered.
   */
  resumeDir?: string;
  /** Any runtime: where resume states live (e.g. `indexedDbResumeStore()` in browsers). Overrides `resumeDir`. */
  resumeStore?: ResumeStore;
  /**
   * The persistent dedup cache (xet/dedup-cache.ts): what this machine uploaded and the dedup answers it got,
   * used before any server answer (with global dedup the CAS is asked as well: it may know more). Default: a directory under the user's cache directory in Node, Deno and
   * Bun (`$XET_BUCKETS_CACHE_DIR`, else `$XDG_CACHE_HOME/xet-buckets`, else `~/.cache/xet-buckets`;
   * `XET_BUCKETS_DISABLE_CACHE=1` turns it off), IndexedDB in browsers. A directory path, a store
   * (`indexedDbDedupCache()`, or anything implementing `DedupCacheStore`), or `false`: no cache is read or
   * written.
   */
  cache?: string | false | DedupCacheStore;
  /** Receives warnings (an ignored resume state...). Default `console.warn`. */
  onWarning?: (message: string) => void;
}
