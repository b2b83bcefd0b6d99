/**
 * Bucket designations, as the official clients write them:
 *   "buckets/ns/name"                      (@huggingface/hub)
 *   { type: "bucket", name: "ns/name" }    (@huggingface/hub)
 *   "hf://buckets/ns/name[/path]"          (huggingface_hub, hf CLI)
 *   "ns/name"                              (huggingface_hub bucket_id; accepted where a bucket is implied)
 */
import { InvalidArgumentError } from "./errors.js";

export type BucketDesignation = { type: "bucket"; name: string } | `buckets/${string}` | `hf://buckets/${string}` | string;

export interface BucketRef {
  namespace: string;
  name: string;
  /** "ns/name" */
  id: string;
  /** Path inside the bucket given with an `hf://` designation ("" when none). No leading or trailing "/". */
  path: string;
  /** True when the designation's path ended with "/" (rsync-style "contents of"). */
  trailingSlash: boolean;
}

// Hub names: letters, digits, "-", "_", "."; no leading/trailing "-" or "."; no "--" or "..". Max 96 chars.
const NAME_RE = /^(?![.-])(?!.*(?:--|\.\.))[A-Za-z0-9._-]{1,96}(?<![.-])$/;

export function isValidName(s: string): boolean {
  return NAME_RE.test(s);
}

function check(namespace: string, name: string, original: unknown): void {
  if (!isValidName(namespace) && namespace !== "me") {
    throw new InvalidArgumentError(
      `invalid bucket namespace "${namespace}" in ${JSON.stringify(original)}: use letters, digits, "-", "_" or "."`,
    );
  }
  if (!isValidName(name)) {
    throw new InvalidArgumentError(
      `invalid bucket name "${name}" in ${JSON.stringify(original)}: use 1-96 letters, digits, "-", "_" or ".", not starting or ending with "-" or "."`,
    );
  }
}

/** @huggingface/hub's repo designation: buckets are `"buckets/ns/name"` or `{ type: "bucket", name }`. */
export type RepoDesignation = BucketDesignation | { type: string; name: string };

const NOT_A_BUCKET =
  'xet-buckets handles Storage Buckets only: designate one as "buckets/ns/name", { type: "bucket", name: "ns/name" } or "hf://buckets/ns/name"; use @huggingface/hub for models, datasets and spaces';

/**
 * Parses a bucket designation (the `repo` of a call). Throws `InvalidArgumentError` (code INVALID_ARGUMENT)
 * with the accepted forms when it is not one; models, datasets, spaces and kernels are refused with a message
 * that says this package handles buckets only. `allowBareId` accepts "ns/name" without a prefix
 * (huggingface_hub's bucket_id, used by the Python-style functions), which @huggingface/hub would read as a model.
 */
export function parseBucket(designation: RepoDesignation, options: { allowBareId?: boolean } = {}): BucketRef {
  if (typeof designation === "object" && designation !== null) {
    const { type, name } = designation as { type?: unknown; name?: unknown };
    if (type !== "bucket") throw new InvalidArgumentError(`${NOT_A_BUCKET} (got a ${String(type)}: ${String(name)})`);
    if (typeof name !== "string") throw new InvalidArgumentError(`a bucket designation's name must be "ns/name", got ${typeof name}`);
    return parseId(name, designation);
  }
  if (typeof designation !== "string") {
    throw new InvalidArgumentError(`expected a bucket designation string or { type: "bucket", name }, got ${typeof designation}`);
  }
  if (/^(models?|datasets?|spaces?|kernels?)\//.test(designation) || /^hf:\/\/(?!buckets\/)/.test(designation)) {
    throw new InvalidArgumentError(`${NOT_A_BUCKET} (got "${designation}")`);
  }
  if (designation.startsWith("bucket/")) {
    throw new InvalidArgumentError(`buckets are designated "buckets/ns/name" (plural), got "${designation}"`);
  }
  if (designation.startsWith("hf://")) {
    const parts = designation.slice("hf://buckets/".length).split("/");
    if (parts.length < 2 || !parts[0] || !parts[1]) {
      throw new InvalidArgumentError(`"${designation}" is not a bucket URI: expected hf://buckets/ns/name[/path]`);
    }
    const [namespace, name, ...pathParts] = parts as [string, string, ...string[]];
    check(namespace, name, designation);
    const raw = pathParts.join("/");
    return { namespace, name, id: `${namespace}/${name}`, path: raw.replace(/^\/+|\/+$/g, ""), trailingSlash: raw.endsWith("/") };
  }
  if (designation.startsWith("buckets/")) return parseId(designation.slice("buckets/".length), designation);
  if (options.allowBareId && /^[^/]+\/[^/]+$/.test(designation)) return parseId(designation, designation);
  throw new InvalidArgumentError(
    options.allowBareId || !/^[^/:]+\/[^/]+$/.test(designation)
      ? `"${designation}" is not a bucket designation: use "buckets/ns/name", { type: "bucket", name: "ns/name" } or "hf://buckets/ns/name"`
      : `${NOT_A_BUCKET} (got "${designation}", which @huggingface/hub reads as a model)`,
  );
}

function parseId(id: string, original: unknown): BucketRef {
  const parts = id.split("/");
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new InvalidArgumentError(`invalid bucket id "${id}" in ${JSON.stringify(original)}: expected exactly "namespace/name"`);
  }
  const [namespace, name] = parts as [string, string];
  check(namespace, name, original);
  return { namespace, name, id, path: "", trailingSlash: false };
}

/**
 * Validates a path inside a bucket: relative, "/"-separated, no empty, "." or ".." segments, no NUL or
 * backslash. Returns it unchanged.
 */
export function checkBucketPath(path: string, what = "path"): string {
  if (typeof path !== "string" || path.length === 0) throw new InvalidArgumentError(`${what} must be a non-empty string`);
  if (path.startsWith("/")) throw new InvalidArgumentError(`${what} "${path}" must be relative to the bucket root (no leading "/")`);
  if (path.includes("\0")) throw new InvalidArgumentError(`${what} ${JSON.stringify(path)} contains a NUL byte`);
  if (path.includes("\\")) throw new InvalidArgumentError(`${what} "${path}" contains a backslash; bucket paths use "/"`);
  for (const seg of path.split("/")) {
    if (seg === "" || seg === "." || seg === "..") {
      throw new InvalidArgumentError(`${what} "${path}" has an empty, "." or ".." segment`);
    }
  }
  if (new TextEncoder().encode(path).length > 1024) throw new InvalidArgumentError(`${what} is longer than 1024 bytes`);
  return path;
}

/** Joins bucket path parts, ignoring empty ones and stray slashes. */
export function joinBucketPath(...parts: string[]): string {
  for (const p of parts) if (typeof p !== "string") throw new InvalidArgumentError(`a bucket path must be a string, got ${typeof p}`);
  return parts
    .flatMap((p) => p.split("/"))
    .filter((s) => s !== "")
    .join("/");
}
