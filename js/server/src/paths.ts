/**
 * Validation of bucket ids and file paths. The same rules apply to every endpoint that stores a path
 * (batch `addFile` / `copyFile` / `deleteFile`) so a bucket never holds a path a client could not
 * materialise safely on disk.
 *
 * A file path is accepted when:
 * - it is a non-empty string of well-formed Unicode, at most 4096 UTF-8 bytes, each segment at most 255;
 * - it has no leading `/`, no trailing `/` and no empty segment (`a//b`);
 * - no segment is `.` or `..`;
 * - it contains no NUL or other control character (U+0000–U+001F, U+007F);
 * - it contains no backslash: `\` is a separator on Windows, so `a\..\b` would escape the
 *   destination of a download there, and such a path could never be synced down on Windows anyway.
 */
import { HttpError } from "./http.js";

export const MAX_PATH_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 255;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Returns why `path` is not an acceptable bucket file path, or undefined when it is. */
export function pathProblem(path: unknown): string | undefined {
  if (typeof path !== "string") return "path must be a string";
  if (path.length === 0) return "path is empty";
  if (LONE_SURROGATE.test(path)) return "path is not well-formed Unicode";
  if (Buffer.byteLength(path, "utf8") > MAX_PATH_BYTES) return `path is longer than ${MAX_PATH_BYTES} bytes`;
  // eslint-disable-next-line no-control-regex
  if (/\x00/.test(path)) return "path contains a NUL character";
  // eslint-disable-next-line no-control-regex
  if (/[\x01-\x1f\x7f]/.test(path)) return "path contains a control character";
  if (path.includes("\\")) return "path contains a backslash (use / as separator)";
  if (path.startsWith("/")) return "path is absolute (starts with /)";
  if (path.endsWith("/")) return "path ends with / (a file path names a file, not a folder)";
  for (const seg of path.split("/")) {
    if (seg === "") return "path has an empty segment (//)";
    if (seg === "." || seg === "..") return `path has a '${seg}' segment`;
    if (Buffer.byteLength(seg, "utf8") > MAX_SEGMENT_BYTES) return `a path segment is longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return undefined;
}

export function assertValidPath(path: unknown, what = "path"): asserts path is string {
  const problem = pathProblem(path);
  if (problem) throw new HttpError(400, `invalid ${what} ${describe(path)}: ${problem}`);
}

/**
 * Normalises a folder prefix for listings: leading and trailing slashes are dropped (`sub/` is the
 * folder `sub`, `/` and `` the root). What remains must be a valid path.
 */
export function normalizePrefix(prefix: string): string {
  const p = prefix.replace(/^\/+/, "").replace(/\/+$/, "");
  if (p === "") return "";
  assertValidPath(p, "prefix");
  return p;
}

/** Bucket and namespace names: 1–96 of `[A-Za-z0-9._-]`, not starting or ending with `.` or `-`, no `--` or `..`. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return "is empty";
  if (name.length > 96) return "is longer than 96 characters";
  if (!/^[A-Za-z0-9._-]+$/.test(name)) return "may only contain letters, digits, '.', '_' and '-'";
  if (/^[.-]|[.-]$/.test(name)) return "may not start or end with '.' or '-'";
  if (name.includes("--") || name.includes("..")) return "may not contain '--' or '..'";
  return undefined;
}

export function assertValidName(name: string, what: string): void {
  const problem = nameProblem(name);
  if (problem) throw new HttpError(400, `invalid ${what} ${describe(name)}: it ${problem}`);
}

/** A short, safe rendering of a user-supplied value for error messages. */
export function describe(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** The smallest string greater than every string that starts with `prefix + "/"` (as UTF-8 bytes). */
export function folderEnd(prefix: string): string {
  return `${prefix}0`; // '0' (0x30) follows '/' (0x2f)
}
