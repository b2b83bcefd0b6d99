/**
 * Bucket management, in @huggingface/hub's vocabulary (createRepo, deleteRepo, repoExists,
 * checkRepoAccess) and in huggingface_hub's (createBucket, bucketInfo, listBuckets, deleteBucket,
 * updateBucketSettings, moveBucket), camelCased.
 *
 * Every function takes the common options: `accessToken` (or the deprecated `credentials`), `hubUrl`,
 * `fetch`, `abortSignal`, `retry` and `onRetry`.
 */
import { InvalidArgumentError, HubApiError } from "../errors.js";
import { hubContext, type HubCallOptions, type HubContext } from "../hub/context.js";
import {
  deleteBucketRequest,
  getBucketInfo,
  listBucketsPages,
  postCreateBucket,
  postMoveBucket,
  putBucketSettings,
  type BucketInfo,
} from "../hub/buckets.js";
import { deleteRepoRequest, postCreateRepo, repoApiPath } from "../hub/repos.js";
import { isRepoDesignation, parseBucket, parseRepo, repoLabel, type BucketRef, type RepoDesignation } from "../repo.js";

export type { BucketInfo } from "../hub/buckets.js";
export type { BucketDesignation, RepoDesignation } from "../repo.js";

/**
 * Options every call accepts: `hubUrl` (default https://huggingface.co), `accessToken` (or the deprecated
 * `credentials`), `fetch`, `abortSignal`, `retry` (attempts, backoff, total time budget; `false` to send each
 * request once) and `onRetry`.
 */
export type CommonOptions = HubCallOptions;

// ---------------------------------------------------------------------------------------------
// @huggingface/hub calls
// ---------------------------------------------------------------------------------------------

/**
 * Creates a bucket (`POST /api/buckets/{ns}/{name}`). Like @huggingface/hub, an existing bucket is an
 * error (`HubApiError` 409, code CONFLICT); use `createBucket(…, { existOk: true })` to accept it.
 * `license`, `sdk` do not apply to buckets and are ignored; `files` is refused (upload them instead).
 * A model, dataset or space designation ("models/ns/name", `{ type: "dataset", name }`…) creates that
 * repository (`POST /api/repos/create`; spaces need `sdk`), with the same 409 when it exists. `existOk`
 * (huggingface_hub's `exist_ok`) accepts an existing bucket or repository: its URL is returned. It also makes
 * the call safe to retry when its answer was lost (a retried creation meets the 409 of what it created).
 */
export async function createRepo(
  params: {
    repo: RepoDesignation;
    visibility?: "public" | "private" | "protected";
    /** @deprecated use `visibility` */
    private?: boolean;
    resourceGroupId?: string;
    /** Ignored for buckets. */
    license?: string;
    /** Not supported for buckets: upload files with uploadFiles(). */
    files?: Array<{ content: ArrayBuffer | Blob; path: string }>;
    /** Ignored for buckets. */
    sdk?: string;
    /** An existing bucket or repository is not an error: its URL is returned (default false: `HubApiError` CONFLICT). */
    existOk?: boolean;
  } & CommonOptions,
): Promise<{
  /** The repository's page (a bucket's: `{hubUrl}/buckets/ns/name`). */
  repoUrl: string;
  /** "ns/name" */
  id: string;
}> {
  if (params.files?.length) {
    throw new InvalidArgumentError(
      "files cannot be added at creation by xet-buckets: create the repository, then upload them with uploadFiles()",
    );
  }
  const ctx = hubContext(params);
  const visibility = params.visibility ?? (params.private !== undefined ? (params.private ? "private" : "public") : undefined);
  if (isRepoDesignation(params.repo)) {
    const repo = parseRepo(params.repo);
    const answer = await postCreateRepo(ctx, repo, { visibility, sdk: params.sdk, signal: params.abortSignal });
    if (!answer.created && !params.existOk) {
      throw new HubApiError("CONFLICT", `${repoLabel(repo)} already exists`, { statusCode: 409, url: `${ctx.hubUrl}/api/repos/create` });
    }
    return { repoUrl: answer.url, id: repo.id };
  }
  const bucket = parseBucket(params.repo);
  const answer = await postCreateBucket(ctx, bucket, { visibility, resourceGroupId: params.resourceGroupId }, params.abortSignal);
  if (!answer.created) {
    if (!params.existOk) throw alreadyExists(bucket, ctx);
    return { repoUrl: answer.url ?? `${ctx.hubUrl}/buckets/${bucket.id}`, id: answer.id ?? bucket.id };
  }
  return { repoUrl: answer.url, id: answer.id };
}

/**
 * Deletes a bucket and all its files (`DELETE /api/buckets/{ns}/{name}`). Missing → `BucketNotFoundError`.
 * A model, dataset or space designation deletes that repository (`DELETE /api/repos/delete`; missing →
 * `RepoNotFoundError`).
 */
export async function deleteRepo(params: { repo: RepoDesignation } & CommonOptions): Promise<void> {
  if (isRepoDesignation(params.repo)) {
    await deleteRepoRequest(hubContext(params), parseRepo(params.repo), params.abortSignal);
    return;
  }
  const bucket = parseBucket(params.repo);
  await deleteBucketRequest(hubContext(params), bucket, params.abortSignal);
}

/** True when the bucket (or model, dataset, space) exists and is visible with this token (404 and 401 → false; other errors throw). */
export async function repoExists(
  params: { repo: RepoDesignation; /** Unused for buckets. */ revision?: string } & CommonOptions,
): Promise<boolean> {
  let path: string;
  if (isRepoDesignation(params.repo)) {
    path = repoApiPath(parseRepo(params.repo));
  } else {
    const bucket = parseBucket(params.repo);
    path = `/api/buckets/${bucket.namespace}/${bucket.name}`;
  }
  const ctx = hubContext(params);
  const res = await ctx.request(`${path}?expand[]=likes`, {
    accept: [401, 404],
    signal: params.abortSignal,
  });
  await res.body?.cancel();
  return res.ok;
}

/** Throws (`BucketNotFoundError`, `HubApiError` 401/403) unless the bucket can be read with this token. */
export async function checkRepoAccess(params: { repo: RepoDesignation } & CommonOptions): Promise<void> {
  const bucket = parseBucket(params.repo);
  await getBucketInfo(hubContext(params), bucket, params.abortSignal);
}

// ---------------------------------------------------------------------------------------------
// huggingface_hub calls
// ---------------------------------------------------------------------------------------------

/** huggingface_hub's `BucketUrl`. */
export interface BucketUrl {
  /** `{hubUrl}/buckets/ns/name` */
  url: string;
  /** The Hub URL. */
  endpoint: string;
  /** The bucket's namespace (a user or an organization). */
  namespace: string;
  /** "ns/name" */
  bucketId: string;
  /** `hf://buckets/ns/name` */
  uri: string;
}

function bucketUrl(ctx: HubContext, url: string | undefined, fallbackId: string): BucketUrl {
  const full = url ?? `${ctx.hubUrl}/buckets/${fallbackId}`;
  const m = /\/buckets\/([^/]+)\/([^/?#]+)/.exec(full);
  const bucketId = m ? `${m[1]}/${m[2]}` : fallbackId;
  return { url: full, endpoint: ctx.hubUrl, namespace: bucketId.split("/")[0]!, bucketId, uri: `hf://buckets/${bucketId}` };
}

function alreadyExists(bucket: BucketRef, ctx: HubContext): HubApiError {
  return new HubApiError(
    "CONFLICT",
    `bucket ${bucket.id} already exists: pass { existOk: true } to createBucket() to accept an existing bucket`,
    {
      statusCode: 409,
      url: `${ctx.hubUrl}/api/buckets/${bucket.id}`,
    },
  );
}

/**
 * Creates a bucket. `bucket` may be "name" alone (your namespace), "ns/name", "buckets/ns/name",
 * `{ type: "bucket", name }` or "hf://buckets/ns/name".
 *
 * - `existOk`: an existing bucket is not an error (409 → its URL; on 401/403 the bucket is looked up and
 *   returned when it can be read, as huggingface_hub does).
 * - `visibility` ("public" | "private" | "protected") or `private` (boolean); omitted → the Hub's default.
 * - `region`: "us" or "eu" (Team plans and above on the Hub).
 */
export async function createBucket(
  bucket: RepoDesignation,
  options: {
    existOk?: boolean;
    private?: boolean;
    visibility?: "public" | "private" | "protected";
    region?: string;
    resourceGroupId?: string;
  } & CommonOptions = {},
): Promise<BucketUrl> {
  const ref =
    typeof bucket === "string" && /^[^/:]+$/.test(bucket)
      ? parseBucket(`me/${bucket}`, { allowBareId: true })
      : parseBucket(bucket, { allowBareId: true });
  if (options.private !== undefined && options.visibility !== undefined && (options.visibility === "private") !== options.private) {
    throw new InvalidArgumentError(`private: ${options.private} contradicts visibility: "${options.visibility}"; pass only one of them`);
  }
  const ctx = hubContext(options);
  const visibility = options.visibility ?? (options.private !== undefined ? (options.private ? "private" : "public") : undefined);
  try {
    const answer = await postCreateBucket(
      ctx,
      ref,
      { visibility, resourceGroupId: options.resourceGroupId, region: options.region },
      options.abortSignal,
    );
    if (!answer.created) {
      if (!options.existOk) throw alreadyExists(ref, ctx);
      return bucketUrl(ctx, answer.url, ref.id);
    }
    return bucketUrl(ctx, answer.url, answer.id);
  } catch (err) {
    if (options.existOk && err instanceof HubApiError && (err.statusCode === 401 || err.statusCode === 403) && ref.namespace !== "me") {
      try {
        const info = await getBucketInfo(ctx, ref, options.abortSignal);
        return bucketUrl(ctx, undefined, info.id);
      } catch {
        throw err;
      }
    }
    throw err;
  }
}

/** The bucket's record: id, private, createdAt, updatedAt, size, totalFiles (and any other key the Hub sends). */
export async function bucketInfo(bucket: RepoDesignation, options: CommonOptions = {}): Promise<BucketInfo> {
  return getBucketInfo(hubContext(options), parseBucket(bucket, { allowBareId: true }), options.abortSignal);
}

/** Lists the buckets of a namespace (default: yours), optionally filtered by `search`. Follows pagination. */
export async function* listBuckets(options: { namespace?: string; search?: string } & CommonOptions = {}): AsyncGenerator<BucketInfo> {
  yield* listBucketsPages(hubContext(options), options.namespace, options.search, options.abortSignal);
}

/** Deletes a bucket and its files. `missingOk`: a missing bucket (any 404) is not an error. */
export async function deleteBucket(bucket: RepoDesignation, options: { missingOk?: boolean } & CommonOptions = {}): Promise<void> {
  await deleteBucketRequest(
    hubContext(options),
    parseBucket(bucket, { allowBareId: true }),
    options.abortSignal,
    options.missingOk ? [404] : [],
  );
}

/** Changes a bucket's settings (`PUT …/settings`): currently its visibility (`private`). */
export async function updateBucketSettings(bucket: RepoDesignation, options: { private?: boolean } & CommonOptions): Promise<void> {
  if (typeof options?.private !== "boolean") throw new InvalidArgumentError("updateBucketSettings needs { private: true | false }");
  await putBucketSettings(
    hubContext(options),
    parseBucket(bucket, { allowBareId: true }),
    { private: options.private },
    options.abortSignal,
  );
}

/** Moves or renames a bucket (`POST /api/repos/move`, type "bucket"). */
export async function moveBucket(from: RepoDesignation, to: RepoDesignation, options: CommonOptions = {}): Promise<void> {
  const a = parseBucket(from, { allowBareId: true });
  const b = parseBucket(to, { allowBareId: true });
  if (a.id === b.id) throw new InvalidArgumentError(`moveBucket: source and destination are the same bucket (${a.id})`);
  await postMoveBucket(hubContext(options), a, b, options.abortSignal);
}
