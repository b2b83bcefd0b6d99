/**
 * Maps method + path to a handler. Paths are split on `/` before percent-decoding (hub-buckets-api.md §2.5).
 *
 * CAS routes (`/v1/...`, `/v2/...`, `/fetch/...`) are served under `/cas/<store id>` (the CAS URL the token
 * endpoints return, see `HubContext.storeId`) and, for CAS URLs handed out before the store id existed
 * (tokens and fetch URLs of hubs of earlier versions, scripts calling the CAS directly), without prefix too.
 * A prefix naming another store (a data directory that was replaced) is a 404.
 */
import * as cas from "./cas-api.js";
import type { HubContext } from "./context.js";
import { HttpError, decodeComponent, sendJson, type RequestContext } from "./http.js";
import * as hubApi from "./hub-api.js";
import * as repos from "./repos/api.js";
import type { RepoType } from "./repos/store.js";

type Handler = () => void | Promise<void>;

const methodNotAllowed = (allowed: string) =>
  new HttpError(405, `method not allowed here (allowed: ${allowed})`, { headers: { Allow: allowed } });

/** The handler for a request, or a 404/405 error. */
export function route(hub: HubContext, ctx: RequestContext): Handler {
  const { method } = ctx;
  const seg = ctx.rawPath.split("/").slice(1); // rawPath starts with '/'
  const is = (...m: string[]) => m.includes(method);
  const get = is("GET", "HEAD");

  if (seg[0] === "api") {
    if (seg[1] === "buckets" && seg.length >= 3) {
      const ns = decodeComponent(seg[2]!);
      if (seg.length === 3) {
        if (get) return () => hubApi.listBuckets(hub, ctx, ns);
        // `delete_bucket("name")` without a namespace: the Hub answers 404 (huggingface_hub
        // `test_delete_bucket_cannot_do_implicit_namespace`), not 405.
        throw new HttpError(404, `no bucket id in ${method} ${ctx.rawPath.slice(0, 200)}: a bucket is addressed as namespace/name`);
      }
      const name = decodeComponent(seg[3]!);
      if (seg.length === 4) {
        if (is("POST")) return () => hubApi.createBucket(hub, ctx, ns, name);
        if (get) return () => hubApi.bucketInfo(hub, ctx, ns, name);
        if (is("DELETE")) return () => hubApi.deleteBucket(hub, ctx, ns, name);
        throw methodNotAllowed("GET, POST, DELETE");
      }
      const action = seg[4];
      const rest = seg.slice(5).join("/");
      switch (action) {
        case "tree":
          if (get) return () => hubApi.listTree(hub, ctx, ns, name, decodeComponent(rest));
          throw methodNotAllowed("GET");
        case "paths-info":
          if (seg.length === 5 && is("POST")) return () => hubApi.pathsInfo(hub, ctx, ns, name);
          break;
        case "batch":
          if (seg.length === 5 && is("POST")) return () => hubApi.batch(hub, ctx, ns, name);
          break;
        case "settings":
          if (seg.length === 5 && is("PUT")) return () => hubApi.bucketSettings(hub, ctx, ns, name);
          break;
        case "events":
          if (seg.length === 5 && is("GET")) return () => hubApi.bucketEvents(hub, ctx, ns, name);
          if (seg.length === 5) throw methodNotAllowed("GET");
          break;
        case "xet-read-token":
        case "xet-write-token":
          if (seg.length === 5 && get) {
            return () => hubApi.xetToken(hub, ctx, ns, name, action === "xet-read-token" ? "read" : "write");
          }
          break;
      }
    } else if (seg[1] === "repos" && seg[2] === "move" && seg.length === 3) {
      if (is("POST")) return () => hubApi.moveRepo(hub, ctx);
      throw methodNotAllowed("POST");
    } else if (seg[1] === "repos" && seg[2] === "create" && seg.length === 3) {
      if (is("POST")) return () => repos.createRepo(hub, ctx);
      throw methodNotAllowed("POST");
    } else if (seg[1] === "repos" && seg[2] === "delete" && seg.length === 3) {
      if (is("DELETE")) return () => repos.deleteRepo(hub, ctx);
      throw methodNotAllowed("DELETE");
    } else if (seg[1] === "validate-yaml" && seg.length === 2 && is("POST")) {
      return () => repos.validateYaml(hub, ctx);
    } else if (seg[1] === "whoami-v2" && seg.length === 2 && get) {
      return () => hubApi.whoami(hub, ctx);
    } else if (seg[1] !== undefined && REPO_KINDS.has(seg[1])) {
      const type = repos.repoTypeOf(seg[1]);
      if (type === undefined) {
        // Kernels: the local hub holds none (listings are empty, anything else is a missing repository).
        if (seg.length === 2 && get) return () => sendJson(ctx, 200, []);
        return () => missingRepository(hub, ctx);
      }
      if (seg.length === 2) {
        if (get) return () => repos.listRepos(hub, ctx, type);
        throw methodNotAllowed("GET");
      }
      const handler = repoApiRoute(hub, ctx, type, seg.slice(2));
      if (handler) return handler;
      if (seg.length < 4) return () => missingRepository(hub, ctx);
    }
  } else if (repoFileRoute(seg)) {
    const r = repoFileRoute(seg)!;
    if (r.kind === "lfs") {
      if (is("POST")) return () => repos.lfsBatch(hub, ctx, r.type, r.ns, r.name);
      throw methodNotAllowed("POST");
    }
    if (!get) throw methodNotAllowed("GET, HEAD");
    if (r.rest.length < 2) throw new HttpError(404, `no file named in ${ctx.rawPath.slice(0, 200)}: /{repo}/${r.kind}/{revision}/{path}`);
    const rev = decodeComponent(r.rest[0]!);
    const path = decodeComponent(r.rest.slice(1).join("/"));
    return () => repos.resolve(hub, ctx, r.type, r.ns, r.name, rev, path, r.kind === "raw");
  } else if (isRepoResolve(seg)) {
    return () => missingRepository(hub, ctx);
  } else if (seg[0] === "buckets" && seg[3] === "resolve" && seg.length >= 5) {
    if (!get) throw methodNotAllowed("GET, HEAD");
    const ns = decodeComponent(seg[1]!);
    const name = decodeComponent(seg[2]!);
    return () => hubApi.resolve(hub, ctx, ns, name, decodeComponent(seg.slice(4).join("/")));
  } else if (seg[0] === "cas" && seg.length >= 2) {
    if (seg[1] !== hub.storeId) {
      throw new HttpError(
        404,
        "this CAS URL belongs to another store (the hub's data directory was replaced): get a new token from the xet-read-token or xet-write-token endpoint",
      );
    }
    const handler = casRoute(hub, ctx, seg.slice(2));
    if (handler) return handler;
  } else {
    const handler = casRoute(hub, ctx, seg);
    if (handler) return handler;
  }
  throw new HttpError(404, `no such endpoint: ${method} ${ctx.rawPath.slice(0, 200)}`);
}

/** The CAS handler for the segments after the CAS base (`/cas/<store id>`, or none), if any. */
function casRoute(hub: HubContext, ctx: RequestContext, seg: string[]): Handler | undefined {
  const { method } = ctx;
  const is = (...m: string[]) => m.includes(method);
  const get = is("GET", "HEAD");
  if (seg[0] === "v1" || seg[0] === "v2") {
    const v = seg[0] === "v1" ? 1 : 2;
    const kind = seg[1];
    if (kind === "xorbs" && seg.length === 4) {
      if (v === 1 && is("POST")) return () => cas.uploadXorb(hub, ctx, seg[2]!, seg[3]!);
      if (v === 1 && get) return () => cas.headXorb(hub, ctx, seg[3]!);
    } else if ((kind === "xorb-grants" || kind === "xorb-commits") && v === 1) {
      return () => cas.noGrants(ctx);
    } else if (kind === "shards" && seg.length === 2 && is("POST")) {
      return () => cas.uploadShard(hub, ctx, v);
    } else if (kind === "chunks" && seg.length === 4 && v === 1 && get) {
      return () => cas.dedupQuery(hub, ctx, seg[2]!, seg[3]!);
    } else if (kind === "reconstructions" && seg.length === 3 && get) {
      return () => cas.reconstruction(hub, ctx, v, seg[2]!);
    } else if (kind === "files" && seg.length === 3 && v === 1 && get) {
      return () => cas.headFile(hub, ctx, seg[2]!);
    } else if (kind === "telemetry" && seg.length === 2 && v === 1 && is("POST")) {
      return () => cas.telemetry(hub, ctx);
    }
  } else if (seg[0] === "fetch" && seg.length === 2 && get) {
    return () => cas.fetchXorb(hub, ctx, seg[1]!);
  }
  return undefined;
}

/** The handler of `/api/{type}s/{ns}/{name}/...` (segments after the type), if the URL is one. */
function repoApiRoute(hub: HubContext, ctx: RequestContext, type: RepoType, seg: string[]): Handler | undefined {
  const { method } = ctx;
  const get = method === "GET" || method === "HEAD";
  if (seg.length < 2) return undefined;
  const ns = decodeComponent(seg[0]!);
  const name = decodeComponent(seg[1]!);
  const action = seg[2];
  const arg = seg[3] === undefined ? undefined : decodeComponent(seg[3]);
  const n = seg.length;
  if (n === 2) {
    if (get) return () => repos.repoInfo(hub, ctx, type, ns, name);
    throw methodNotAllowed("GET");
  }
  switch (action) {
    case "revision":
      if (n === 4 && get) return () => repos.repoInfo(hub, ctx, type, ns, name, arg!);
      break;
    case "tree":
      if (n >= 4 && get) return () => repos.listTree(hub, ctx, type, ns, name, arg!, decodeComponent(seg.slice(4).join("/")));
      break;
    case "paths-info":
      if (n === 4 && method === "POST") return () => repos.pathsInfo(hub, ctx, type, ns, name, arg!);
      break;
    case "preupload":
      if (n === 4 && method === "POST") return () => repos.preupload(hub, ctx, type, ns, name, arg!);
      break;
    case "commit":
      if (n === 4 && method === "POST") return () => repos.commit(hub, ctx, type, ns, name, arg!);
      break;
    case "commits":
      if (n === 4 && get) return () => repos.listCommits(hub, ctx, type, ns, name, arg!);
      break;
    case "refs":
      if (n === 3 && get) return () => repos.listRefs(hub, ctx, type, ns, name);
      break;
    case "settings":
      if (n === 3 && method === "PUT") return () => repos.repoSettings(hub, ctx, type, ns, name);
      break;
    case "xet-read-token":
    case "xet-write-token":
      if ((n === 3 || n === 4) && get) {
        return () => repos.xetToken(hub, ctx, type, ns, name, action === "xet-read-token" ? "read" : "write", arg);
      }
      break;
  }
  return () => {
    // An endpoint the local hub does not serve: on a missing or hidden repository, the repository's 404.
    const r = hub.repos.get(type, ns, name);
    if (!r || !hub.auth.canRead(hubApi.principalOf(hub, ctx), r)) missingRepository(hub, ctx);
    throw new HttpError(404, `no such endpoint: ${method} ${ctx.rawPath.slice(0, 200)}`);
  };
}

/**
 * A repository file URL: `/{ns}/{name}/{resolve|raw}/{rev}/{path}` (models), the same under `/datasets/` and
 * `/spaces/`, or the Git LFS batch endpoint `/{…}{ns}/{name}.git/info/lfs/objects/batch`.
 */
function repoFileRoute(
  seg: string[],
): { kind: "resolve" | "raw" | "lfs"; type: RepoType; ns: string; name: string; rest: string[] } | undefined {
  if (seg[0] === "buckets" || seg[0] === "api" || seg[0] === "cas") return undefined;
  const prefixed = seg[0] === "datasets" || seg[0] === "spaces";
  const type: RepoType = seg[0] === "datasets" ? "dataset" : seg[0] === "spaces" ? "space" : "model";
  const s = prefixed ? seg.slice(1) : seg;
  if (s.length < 3) return undefined;
  const ns = decodeComponent(s[0]!);
  let name = decodeComponent(s[1]!);
  if (name.endsWith(".git") && s.slice(2).join("/") === "info/lfs/objects/batch") {
    name = name.slice(0, -4);
    return { kind: "lfs", type, ns, name, rest: [] };
  }
  if (s[2] !== "resolve" && s[2] !== "raw") return undefined;
  return { kind: s[2], type, ns, name, rest: s.slice(3) };
}

/** `/api/{models|datasets|spaces|kernels}/...`: the repository kinds of the Hub. */
const REPO_KINDS = new Set(["models", "datasets", "spaces", "kernels"]);

/** A repository download URL: `/{id}/resolve/...`, `/{ns}/{name}/resolve/...`, `/{datasets|spaces|kernels}/{ns}/{name}/resolve/...`. */
function isRepoResolve(seg: string[]): boolean {
  if (seg[0] === "buckets" || seg[0] === "api") return false;
  if (seg.length >= 3 && seg[1] === "resolve") return true;
  if (seg.length >= 4 && seg[2] === "resolve") return true;
  return seg.length >= 5 && seg[3] === "resolve" && (seg[0] === "datasets" || seg[0] === "spaces" || seg[0] === "kernels");
}

/**
 * Any repository request: the repository does not exist. Signed-in callers get the Hub's 404 RepoNotFound
 * (huggingface_hub: `RepositoryNotFoundError`, and `FileNotFoundError` in HfFileSystem). Anonymous ones get
 * the Hub's 401, here with `X-Error-Code: RepoNotFound` as well: huggingface_hub reads a code-less 401 as
 * "repository not found" only on https URLs, so over this hub's plain http the code is what makes the
 * client raise the same `RepositoryNotFoundError` it raises against the Hub.
 */
function missingRepository(hub: HubContext, ctx: RequestContext): void {
  throw hubApi.notVisible(hubApi.principalOf(hub, ctx), "Repository", { codeWhenAnonymous: true });
}
