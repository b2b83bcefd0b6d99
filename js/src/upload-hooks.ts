/**
 * Internal hooks of the upload calls, kept out of the public API (nothing re-exports this module): keys of the
 * params of `commit` / `commitIter` that other modules of this package set.
 */
import type { FileUploadReport } from "./xet/upload.js";

/**
 * Called once the data of every file is stored and before any path is registered, with the files about to be
 * registered; returns the bucket paths to leave unregistered. `sync --watch` (sync/watch.ts) leaves out a file
 * that changed while it was read.
 */
export const BEFORE_REGISTER = Symbol("beforeRegister");
export type BeforeRegister = (files: readonly FileUploadReport[]) => Promise<Iterable<string>> | Iterable<string>;
