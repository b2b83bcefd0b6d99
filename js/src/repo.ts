/**
 * Bucket designations, as the official clients write them:
 *   "buckets/ns/name"                      (@huggingface/hub)
 *   { type: "bucket", name: "ns/name" }    (@huggingface/hub)
 *   "hf://buckets/ns/name[/path]"          (huggingface_hub, hf CLI)
 *   "ns/name"                              (huggingface_hub bucket_id; accepted where a bucket is implied)
 *
 * and model, dataset and space repository designations (`parseRepo`):
 *   "models/ns/name", "datasets/ns/name", "spaces/ns/name"          (@huggingface/hub, plus "models/")
 *   { type: "model" | "dataset" | "space", name: "ns/name" }        (@huggingface/hub)
 *   "hf://models/ns/name[@rev][/path]", "hf://datasets/…", "hf://spaces/…", "hf://ns/name[@rev][/path]" (a model)
 *   "ns/name"                                                       (a model, where a repository is implied)
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
 * @huggingface/hub's repo designation: buckets are `"buckets/ns/name"` or `{ type: "bucket", name }`; models,
 * datasets and spaces `"models/ns/name"`, `{ type: "dataset", name }`… (see `parseRepo`).
 */
export type RepoDesignation =
  | BucketDesignation
  | {
      /** The repository's type: `bucket`, `model`, `dataset` or `space`. */
      type: string;
      /** `ns/name` */
      name: string;
    };

const NOT_A_BUCKET =
  'this call takes a Storage Bucket: designate one as "buckets/ns/name", { type: "bucket", name: "ns/name" } or "hf://buckets/ns/name" (for model, dataset and space repositories xet-buckets has createRepo, deleteRepo, repoExists, listFiles, pathsInfo, uploadFiles, commit, copyFiles and copyFolder; @huggingface/hub has the rest)';

/**
 * Parses a bucket designation (the `repo` of a call). Throws `InvalidArgumentError` (code INVALID_ARGUMENT)
 * with the accepted forms when it is not one; models, datasets, spaces and kernels are refused with a message
 * that says the call takes a bucket (the calls that also take repositories check `isRepoDesignation` first).
 * `allowBareId` accepts "ns/name" without a prefix (huggingface_hub's bucket_id, used by the Python-style
 * functions), which @huggingface/hub would read as a model.
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

/** True when a designation names a bucket ("buckets/…", "hf://buckets/…" or `{ type: "bucket" }`), well-formed or not. */
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
  for (const p of parts) if (typeof p !== "string") throw new InvalidArgumentError(`a bucket path must be a string, got ${typeof p}`);
  return parts
    .flatMap((p) => p.split("/"))
    .filter((s) => s !== "")
    .join("/");
}

// ---------------------------------------------------------------------------------------------
// Model, dataset and space repositories
// ---------------------------------------------------------------------------------------------

export type RepoType = "model" | "dataset" | "space";

export interface RepoRef {
  type: RepoType;
  namespace: string;
  name: string;
  /** "ns/name" */
  id: string;
  /** Path inside the repository given with an `hf://` designation ("" when none). No leading or trailing "/". */
  path: string;
  /** True when the designation's path ended with "/". */
  trailingSlash: boolean;
  /** The revision of an `hf://…@rev` designation (undefined: the caller's, else main). */
  revision: string | undefined;
}

const REPO_TYPES: Record<string, RepoType> = { models: "model", datasets: "dataset", spaces: "space" };

/** True when a designation names a model, dataset or space repository (any accepted form but the bare "ns/name"). */
export function isRepoDesignation(x: unknown): boolean {
  if (typeof x === "object" && x !== null) {
    const t = (x as { type?: unknown }).type;
    return t === "model" || t === "dataset" || t === "space";
  }
  if (typeof x !== "string") return false;
  if (x.startsWith("hf://")) return !x.startsWith("hf://buckets/");
  return /^(models|datasets|spaces)\//.test(x);
}

/**
 * Parses a model, dataset or space designation. Throws `InvalidArgumentError` with the accepted forms when it
 * is not one (a bucket included). `allowBareId` reads "ns/name" as a model, as @huggingface/hub does.
 */
export function parseRepo(designation: unknown, options: { allowBareId?: boolean } = {}): RepoRef {
  if (typeof designation === "object" && designation !== null) {
    const { type, name } = designation as { type?: unknown; name?: unknown };
    if ((type !== "model" && type !== "dataset" && type !== "space") || typeof name !== "string") {
      throw new InvalidArgumentError(
        `expected a model, dataset or space repository, got ${JSON.stringify(designation)}: use { type: "model" | "dataset" | "space", name: "ns/name" }`,
      );
    }
    return repoId(type, name, undefined, "", false, designation);
  }
  if (typeof designation !== "string") throw new InvalidArgumentError(`expected a repository designation, got ${typeof designation}`);
  if (designation.startsWith("hf://")) {
    if (designation.startsWith("hf://buckets/")) {
      throw new InvalidArgumentError(`"${designation}" is a bucket, not a model, dataset or space repository`);
    }
    let rest = designation.slice("hf://".length);
    let type: RepoType = "model";
    const first = rest.split("/", 1)[0]!;
    if (REPO_TYPES[first]) {
      type = REPO_TYPES[first];
      rest = rest.slice(first.length + 1);
    }
    const parts = rest.split("/");
    if (parts.length < 2 || !parts[0] || !parts[1]) {
      throw new InvalidArgumentError(
        `"${designation}" is not a repository URI: expected hf://[models/|datasets/|spaces/]ns/name[@revision][/path]`,
      );
    }
    let name = parts[1];
    let revision: string | undefined;
    const at = name.indexOf("@");
    if (at >= 0) {
      revision = decodeRevision(name.slice(at + 1), designation);
      name = name.slice(0, at);
    }
    const raw = parts.slice(2).join("/");
    return repoId(type, `${parts[0]}/${name}`, revision, raw.replace(/^\/+|\/+$/g, ""), raw.endsWith("/"), designation);
  }
  const m = /^(models|datasets|spaces)\/(.*)$/.exec(designation);
  if (m) return repoId(REPO_TYPES[m[1]!]!, m[2]!, undefined, "", false, designation);
  if (options.allowBareId && /^[^/]+\/[^/]+$/.test(designation)) return repoId("model", designation, undefined, "", false, designation);
  throw new InvalidArgumentError(
    `"${designation}" is not a repository designation: use "models/ns/name", "datasets/ns/name", "spaces/ns/name", { type: "model", name: "ns/name" } or "hf://datasets/ns/name"`,
  );
}

function decodeRevision(raw: string, original: string): string {
  try {
    const rev = decodeURIComponent(raw);
    if (rev !== "") return rev;
  } catch {
    // fall through
  }
  throw new InvalidArgumentError(`invalid revision "${raw}" in "${original}": write ns/name@revision (percent-encode "/" as %2F)`);
}

function repoId(
  type: RepoType,
  id: string,
  revision: string | undefined,
  path: string,
  trailingSlash: boolean,
  original: unknown,
): RepoRef {
  const parts = id.split("/");
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new InvalidArgumentError(`invalid ${type} id "${id}" in ${JSON.stringify(original)}: expected exactly "namespace/name"`);
  }
  const [namespace, name] = parts as [string, string];
  if (!isValidName(namespace) || !isValidName(name)) {
    throw new InvalidArgumentError(
      `invalid ${type} id "${id}" in ${JSON.stringify(original)}: use 1-96 letters, digits, "-", "_" or ".", not starting or ending with "-" or "."`,
    );
  }
  return { type, namespace, name, id, path, trailingSlash, revision };
}

/** "models/ns/name", "datasets/ns/name" or "spaces/ns/name": how messages name a repository. */
export function repoLabel(r: { type: RepoType; id: string }): string {
  return `${r.type}s/${r.id}`;
}
