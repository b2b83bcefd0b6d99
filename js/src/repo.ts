/**
 * Bucket designations, as the official clients write them:
 *   "buckets/ns/name"                      (@huggingface/hub)
 *   { type: "bucket", name: "ns/name" }    (@huggingface/hub)
 *   "hf://buckets/ns/name[/path]"          (huggingface_hub, hf CLI)
 *   "ns/name"                              (huggingface_hub bucket_id; accepted where a bucket is implied)
 */
import { InvalidArgumentError } from "./errors.js";

/**
 * A bucket, as every call accepts it: `"buckets/ns/name"`, `"hf://buckets/ns/name[/path]"` (the path becomes
 * the base of the call's paths), `{ type: "bucket", name: "ns/name" }`, or where a call says so a bare
 * `"ns/name"`. Anything else (a model, a dataset, a malformed name) → `InvalidArgumentError`.
 */
export type BucketDesignation =
  | {
      /** Always `bucket`. */
      type: "bucket";
      /** `ns/name` */
      name: string;
    }
  | `buckets/${string}`
  | `hf://buckets/${string}`
  | string;

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

/**
 * Parses a bucket designation. Throws `InvalidArgumentError` (code INVALID_ARGUMENT) with the accepted
 * forms when it is not one. `allowBareId` accepts "ns/name" without a prefix.
 */
export function parseBucket(
  designation: BucketDesignation | { type: string; name: string },
  options: { allowBareId?: boolean } = {},
): BucketRef {
  if (typeof designation === "object" && designation !== null) {
    if (designation.type !== "bucket") {
      throw new InvalidArgumentError(
        `expected a bucket, got a ${designation.type} (${designation.name}); use { type: "bucket", name: "ns/name" }`,
      );
    }
    return parseId(designation.name, designation);
  }
  if (typeof designation !== "string") {
    throw new InvalidArgumentError(`expected a bucket designation string or { type: "bucket", name }, got ${typeof designation}`);
  }
  if (designation.startsWith("hf://")) {
    const rest = designation.slice("hf://".length);
    if (!rest.startsWith("buckets/")) {
      throw new InvalidArgumentError(`"${designation}" is not a bucket URI: expected hf://buckets/ns/name[/path]`);
    }
    const parts = rest.slice("buckets/".length).split("/");
    if (parts.length < 2 || !parts[0] || !parts[1]) {
      throw new InvalidArgumentError(`"${designation}" is not a bucket URI: expected hf://buckets/ns/name[/path]`);
    }
    const [namespace, name, ...pathParts] = parts as [string, string, ...string[]];
    check(namespace, name, designation);
    const raw = pathParts.join("/");
    return { namespace, name, id: `${namespace}/${name}`, path: raw.replace(/^\/+|\/+$/g, ""), trailingSlash: raw.endsWith("/") };
  }
  if (designation.startsWith("buckets/")) {
    const id = designation.slice("buckets/".length);
    return parseId(id, designation);
  }
  if (options.allowBareId && /^[^/]+\/[^/]+$/.test(designation)) return parseId(designation, designation);
  throw new InvalidArgumentError(
    `"${designation}" is not a bucket designation: use "buckets/ns/name", { type: "bucket", name: "ns/name" } or "hf://buckets/ns/name"`,
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

/** True when a designation names a bucket (any accepted form), without throwing. */
export function isBucketDesignation(x: unknown): boolean {
  if (typeof x === "object" && x !== null) return (x as { type?: unknown }).type === "bucket";
  return typeof x === "string" && (x.startsWith("buckets/") || x.startsWith("hf://buckets/"));
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
  return parts
    .flatMap((p) => p.split("/"))
    .filter((s) => s !== "")
    .join("/");
}
