/**
 * `xet-buckets-hub`: a local Hugging Face hub for Storage Buckets. One Node `http` server speaks the
 * Hub bucket API (hub-buckets-api.md) at `/api/...` and `/buckets/.../resolve/...`, and the Xet CAS API
 * (xet-protocol.md §6) on the same origin under `/cas/<store id>` (`casUrl`; see `LocalHub.storeId`).
 * Data is durable in `dataDir`: metadata in SQLite (`hub.sqlite`), xorbs as files (`xorbs/`).
 * The unmodified official clients (huggingface_hub + hf_xet, @huggingface/hub) work against it.
 *
 * ```ts
 * import { startLocalHub } from "xet-buckets-hub";
 * const hub = await startLocalHub({ dataDir: "./hub-data", users: [{ name: "alice", token: "hf_alice_token" }] });
 * // HF_ENDPOINT=hub.url, HF_TOKEN=hf_alice_token ...
 * await hub.close();
 * ```
 *
 * @module xet-buckets-hub
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, mkdtemp, open, readFile, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { InvalidArgumentError, LocalFileError, XetBucketsError } from "xet-buckets";
import { MAX_SHARD_BYTES, MAX_XORB_BYTES } from "xet-buckets/core";
import { Auth, namespaceProblem, validateUsers, type HubUser } from "./auth.js";
import { XorbFiles } from "./blobs.js";
import { casPrefix, type BodyLimits, type Core, type DedupAnswerPolicy, type HubConfig, type HubContext } from "./context.js";
import { HttpError, answerPreflight, newRequestId, publicOrigin, sendError, setCommonHeaders, type RequestContext } from "./http.js";
import { BodyBudget } from "./budget.js";
import { DEFAULT_EVENTS_CONFIG, EventFeed } from "./events.js";
import { route } from "./router.js";
import { RepoStore } from "./repos/store.js";
import { DEFAULT_CHANGE_LOG_RETENTION, Store } from "./store.js";

export type { HubUser } from "./auth.js";
export type { BodyLimits, DedupAnswerPolicy } from "./context.js";

/** One finished request, as reported to `onRequest` (paths never include query strings). */
export interface RequestInfo {
  /** The request's method. */
  method: string;
  /** Raw path (percent-encoded, without the query string). */
  path: string;
  /** The status answered. */
  status: number;
  /** Time from the request's arrival to the end of the answer, in ms. */
  durationMs: number;
  /** The id the hub gave the request (its `X-Request-Id` answer header). */
  requestId: string;
  /** Request body size from `Content-Length` (0 when absent). */
  requestBytes: number;
}

/** Options of `startLocalHub` (and of the `xet-buckets-hub` command, as flags). */
export interface LocalHubOptions {
  /**
   * Where the hub keeps its data (created if missing). Default: a new temporary directory that
   * `close()` deletes.
   */
  dataDir?: string;
  /** Interface to listen on. Default `127.0.0.1` (use `0.0.0.0` to accept other machines). */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /**
   * Users and their tokens (each starting with `hf_`). Without users, one user `local` is created on
   * first start with a random token, stored in the data dir and reported as `devUser`.
   */
  users?: HubUser[];
  /**
   * Organisations (from the users' `orgs`) whose new buckets are private by default, like the Hub's
   * organisations that make new repositories private: a create request that sends neither `private` nor
   * `visibility` makes a private bucket there; an explicit `private: false` still makes a public one.
   */
  orgsPrivateByDefault?: string[];
  /**
   * Public URL of the hub, when clients reach it through a proxy. By default every URL the hub returns
   * (`url`, `Link`, `casUrl`, fetch URLs) starts with the origin of the request's `Host` header.
   */
  publicUrl?: string;
  /** Lifetime of CAS tokens from the xet-*-token endpoints. Default 3600 s. */
  casTokenTtlSeconds?: number;
  /** Lifetime of the fetch URLs of reconstructions. Default 3600 s. */
  fetchUrlTtlSeconds?: number;
  /** Entries per page of tree listings. Default 1000. */
  treePageSize?: number;
  /** Buckets per page of bucket listings. Default 100. */
  bucketPageSize?: number;
  /**
   * What a global-dedup query (`GET /v1/chunks/…`) about an indexed chunk (a chunk with `hash % 1024 == 0`,
   * or the first chunk of a file) is answered with: `"shard"` (default) the xorb holding the chunk and the
   * xorbs uploaded or used together with it; `"xorb"` only the xorb holding the chunk (what the protocol
   * promises, xet-protocol.md §5.8); `"none"` always 404, as a CAS without global dedup. The last two show
   * how well a client deduplicates against a less generous server.
   */
  dedupAnswer?: DedupAnswerPolicy;
  /**
   * Key the chunk hashes of global-dedup answers with a random per-answer HMAC key, so that only
   * clients holding the data can use an answer. Default true.
   */
  dedupHmac?: boolean;
  /** Most xorbs in one dedup answer (the queried chunk's xorb plus xorbs uploaded with it). Default 256. */
  dedupMaxXorbs?: number;
  /** Largest dedup answer in bytes. Default 64 MiB. */
  dedupMaxBytes?: number;
  /** Request body limits; larger bodies get 413. */
  limits?: Partial<BodyLimits>;
  /**
   * Bytes of xorb, shard and batch bodies held in memory at once, over all requests (default: twice the
   * xorb limit, 130 MiB). Further uploads wait their turn, so the hub's memory stays about its baseline +
   * this budget + one xorb being checked, however many clients upload at once.
   */
  maxBodyBytesInFlight?: number;
  /**
   * The live events feed (`GET /api/buckets/{ns}/{name}/events`, server-sent events; events.ts). Its replay
   * window is kept in the database, so cursors survive restarts.
   */
  events?: {
    /** Changes kept for replay, over the whole store (default 100,000: the newest ones). */
    maxRecords?: number;
    /** Changes older than this are not kept for replay (default 24 h), ms. */
    maxAgeMs?: number;
    /** Keep-alive comment interval (default 30 s), ms. */
    keepAliveMs?: number;
    /** Streams are ended with `reconnect` after this long (±10 %; default 15 min), ms. */
    maxConnectionMs?: number;
    /** Unsent bytes a subscriber may still hold when new changes come, or it is told to reconnect (default 4 MiB). */
    maxBufferBytes?: number;
  };
  /** Request logging: `true` prints one line per request to stderr, a function receives the lines. Default off. */
  log?: boolean | ((line: string) => void);
  /** Called after every request (tests count xorb uploads with it). */
  onRequest?: (info: RequestInfo) => void;
  /** Clock in ms (tests use it to expire tokens). Default `Date.now`. */
  now?: () => number;
  /** Fault injection for durability tests. */
  testHooks?: {
    /** Runs inside every write transaction just before its commit; throwing rolls the transaction back. */
    beforeCommit?: (what: string) => void;
    /** Runs after a xorb's temp file is written and synced, before it is renamed into place. */
    afterXorbTempWrite?: (hash: string) => Promise<void> | void;
  };
  /** How long `close()` waits for requests in flight before cutting connections. Default 2000 ms. */
  closeTimeoutMs?: number;
}

/** A running local hub (`startLocalHub`). */
export interface LocalHub {
  /** `http://HOST:PORT` (no trailing slash): use as `HF_ENDPOINT` / `hubUrl`. */
  url: string;
  /** The CAS base URL handed to clients: `url` + `/cas/` + `storeId` (no trailing slash). */
  casUrl: string;
  /**
   * Identity of the data directory: random, created with it and kept in it. It ends the CAS URL, so that a
   * new data directory behind the same address is a new CAS endpoint to clients (hf_xet caches what it
   * uploaded per CAS endpoint under HF_HOME/xet; a wiped store must not look like the old one).
   */
  storeId: string;
  /** The interface it listens on. */
  host: string;
  /** The port it listens on (the one picked, when 0 was asked). */
  port: number;
  /** Where it keeps its data. */
  dataDir: string;
  /** The configured users (including the generated one). */
  users: HubUser[];
  /** The user created because no user was configured, with its token. */
  devUser?: HubUser;
  /** Stops listening, waits for requests in flight (up to `closeTimeoutMs`), closes the database. */
  close(): Promise<void>;
}

const MiB = 1024 * 1024;

/** Xorbs and shards: the protocol's limits (from the core) plus their framing; JSON bodies: the hub's choice (see `BodyLimits`). */
export const DEFAULT_LIMITS: BodyLimits = {
  xorb: MAX_XORB_BYTES + MiB,
  shard: MAX_SHARD_BYTES + 200,
  json: 8 * MiB,
  ndjson: 64 * MiB,
};

const DEV_USER_KEY = "dev_user";
const SECRET_KEY = "secret";
const STORE_ID_KEY = "store_id";

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got ${v}`);
  return v;
}

const DEDUP_ANSWERS: readonly DedupAnswerPolicy[] = ["shard", "xorb", "none"];

function dedupAnswerPolicy(v: DedupAnswerPolicy | undefined): DedupAnswerPolicy {
  if (v === undefined) return "shard";
  if (!DEDUP_ANSWERS.includes(v)) throw new InvalidArgumentError(`dedupAnswer must be "shard", "xorb" or "none", got ${JSON.stringify(v)}`);
  return v;
}

/** Takes the data dir's lock file; a lock left by a dead process is taken over. */
async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const file = join(dir, "hub.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, "wx");
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return () => unlink(file).catch(() => {});
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new LocalFileError(file, err);
      const pid = Number((await readFile(file, "utf8").catch(() => "")).trim());
      let alive = false;
      if (Number.isInteger(pid) && pid > 0) {
        try {
          process.kill(pid, 0);
          alive = true;
        } catch (e) {
          alive = (e as NodeJS.ErrnoException).code === "EPERM";
        }
      }
      if (alive) {
        throw new XetBucketsError(
          "DATA_DIR_IN_USE",
          `the data directory ${dir} is used by another hub (process ${pid}${pid === process.pid ? ", this one" : ""}): close it first or use another --data directory`,
        );
      }
      await unlink(file).catch(() => {});
    }
  }
  throw new XetBucketsError("DATA_DIR_IN_USE", `could not lock the data directory ${dir}`);
}

/**
 * Starts a local hub: the Hub bucket and repository API and the Xet CAS API over a durable data directory.
 * Resolves once it listens. Rejects with a XetBucketsError: INVALID_ARGUMENT (options, users), DATA_DIR_IN_USE,
 * FILE_NOT_FOUND / LOCAL_IO (the data directory), DATA_DIR_TOO_NEW, MISSING_DEPENDENCY, or HUB_START_FAILED
 * (anything else, e.g. the port is in use: see `cause`).
 */
export async function startLocalHub(options: LocalHubOptions = {}): Promise<LocalHub> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`invalid port ${port}`);
  if (options.users) validateUsers(options.users);
  for (const org of options.orgsPrivateByDefault ?? []) {
    if (namespaceProblem(org) !== undefined || !options.users?.some((u) => u.orgs?.includes(org))) {
      throw new InvalidArgumentError(
        `orgsPrivateByDefault: ${JSON.stringify(org)} is not an organisation of a configured user (users[].orgs)`,
      );
    }
  }
  if (options.publicUrl !== undefined) {
    let u: URL | undefined;
    try {
      u = new URL(options.publicUrl);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== "http:" && u.protocol !== "https:") || u.search || u.hash) {
      throw new InvalidArgumentError(`publicUrl must be an http(s) URL without query, got ${JSON.stringify(options.publicUrl)}`);
    }
  }
  const ownsDir = options.dataDir === undefined;
  let dataDir = resolvePath(options.dataDir ?? tmpdir());
  try {
    if (ownsDir) dataDir = await mkdtemp(join(tmpdir(), "xet-hub-"));
    await mkdir(dataDir, { recursive: true });
  } catch (err) {
    throw new LocalFileError(dataDir, err);
  }
  const unlock = await lockDataDir(dataDir);

  let store: Store | undefined;
  try {
    const core: Core = await import("xet-buckets/core");
    await core.initCore();
    const ev = options.events ?? {};
    const retention = {
      maxRecords: Math.floor(positive("events.maxRecords", ev.maxRecords, DEFAULT_CHANGE_LOG_RETENTION.maxRecords)),
      maxAgeMs: positive("events.maxAgeMs", ev.maxAgeMs, DEFAULT_CHANGE_LOG_RETENTION.maxAgeMs),
    };
    store = Store.open(dataDir, { beforeCommit: options.testHooks?.beforeCommit, changeLogRetention: retention, now: options.now });
    store.pruneChanges();
    const xorbs = new XorbFiles(dataDir);
    await xorbs.init();
    const openedStore = store;
    await xorbs.sweep((hash) => openedStore.xorbStoredBytes(hash) !== undefined);

    const secret = Buffer.from(
      store.metaOrInit(SECRET_KEY, () => randomBytes(32).toString("base64")),
      "base64",
    );
    // 128 random bits, URL-safe: a new data directory never reuses another's CAS URL.
    const storeId = store.metaOrInit(STORE_ID_KEY, () => randomBytes(16).toString("hex"));
    let users = options.users ?? [];
    let devUser: HubUser | undefined;
    if (users.length === 0) {
      devUser = JSON.parse(
        store.metaOrInit(DEV_USER_KEY, () => JSON.stringify({ name: "local", token: `hf_local_${randomBytes(18).toString("base64url")}` })),
      ) as HubUser;
      users = [devUser];
    }
    const config: HubConfig = {
      treePageSize: Math.floor(positive("treePageSize", options.treePageSize, 1000)),
      bucketPageSize: Math.floor(positive("bucketPageSize", options.bucketPageSize, 100)),
      casTokenTtlSeconds: positive("casTokenTtlSeconds", options.casTokenTtlSeconds, 3600),
      fetchUrlTtlSeconds: positive("fetchUrlTtlSeconds", options.fetchUrlTtlSeconds, 3600),
      dedupAnswer: dedupAnswerPolicy(options.dedupAnswer),
      dedupHmac: options.dedupHmac ?? true,
      dedupMaxXorbs: Math.floor(positive("dedupMaxXorbs", options.dedupMaxXorbs, 256)),
      // A dedup answer is a shard: by default as large as the protocol lets a shard be.
      dedupMaxBytes: positive("dedupMaxBytes", options.dedupMaxBytes, MAX_SHARD_BYTES),
      dedupAnswerTtlSeconds: 7 * 24 * 3600,
      publicUrl: options.publicUrl?.replace(/\/+$/, ""),
      orgsPrivateByDefault: new Set(options.orgsPrivateByDefault),
      limits: { ...DEFAULT_LIMITS, ...options.limits },
      events: {
        keepAliveMs: positive("events.keepAliveMs", ev.keepAliveMs, DEFAULT_EVENTS_CONFIG.keepAliveMs),
        maxConnectionMs: positive("events.maxConnectionMs", ev.maxConnectionMs, DEFAULT_EVENTS_CONFIG.maxConnectionMs),
        maxBufferBytes: positive("events.maxBufferBytes", ev.maxBufferBytes, DEFAULT_EVENTS_CONFIG.maxBufferBytes),
        maxChangesPerEvent: DEFAULT_EVENTS_CONFIG.maxChangesPerEvent,
      },
      hooks: { afterXorbTempWrite: options.testHooks?.afterXorbTempWrite },
    };
    const auth = new Auth(users, secret);
    const hub: HubContext = {
      storeId,
      store,
      repos: new RepoStore(store),
      xorbs,
      auth,
      core,
      config,
      bodies: new BodyBudget(positive("maxBodyBytesInFlight", options.maxBodyBytesInFlight, 2 * config.limits.xorb)),
      events: new EventFeed(store, storeId, config.events, (p, b) => auth.canRead(p, b)),
      now: options.now ?? Date.now,
    };
    const log =
      options.log === true
        ? (line: string) => process.stderr.write(`${line}\n`)
        : typeof options.log === "function"
          ? options.log
          : undefined;

    const server = createServer({ keepAliveTimeout: 30_000, requestTimeout: 0 }, (req, res) => {
      void handle(hub, req, res, fallbackOrigin(), log, options.onRequest);
    });
    const inFlight = new Set<ServerResponse>();
    server.on("request", (_req, res: ServerResponse) => {
      inFlight.add(res);
      res.on("close", () => inFlight.delete(res));
    });
    await listen(server, port, host);
    const addr = server.address() as AddressInfo;
    const urlHost = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
    const url = `http://${urlHost}:${addr.port}`;
    function fallbackOrigin() {
      return config.publicUrl ?? url;
    }

    let closing: Promise<void> | undefined;
    const openStore = store;
    const close = () =>
      (closing ??= (async () => {
        const done = new Promise<void>((r) => server.close(() => r()));
        // Event streams never finish on their own: each ends with `reconnect` at its cursor.
        hub.events.close();
        server.closeIdleConnections();
        const deadline = Date.now() + (options.closeTimeoutMs ?? 2000);
        while (inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        server.closeAllConnections();
        await done;
        openStore.close();
        await unlock();
        if (ownsDir) await rm(dataDir, { recursive: true, force: true });
      })());

    return {
      url: config.publicUrl ?? url,
      casUrl: `${config.publicUrl ?? url}${casPrefix(hub)}`,
      storeId,
      host: addr.address,
      port: addr.port,
      dataDir,
      users,
      devUser,
      close,
    };
  } catch (err) {
    store?.close();
    await unlock();
    if (ownsDir) await rm(dataDir, { recursive: true, force: true });
    if (err instanceof XetBucketsError) throw err;
    throw new XetBucketsError("HUB_START_FAILED", `the local hub could not start: ${(err as Error)?.message ?? err}`, { cause: err });
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

async function handle(
  hub: HubContext,
  req: IncomingMessage,
  res: ServerResponse,
  fallbackOrigin: string,
  log: ((line: string) => void) | undefined,
  onRequest: ((info: RequestInfo) => void) | undefined,
): Promise<void> {
  const rawUrl = req.url ?? "/";
  const q = rawUrl.indexOf("?");
  // The path is kept raw: WHATWG URL parsing would resolve '..' and '%2e%2e' segments that must be refused.
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const ctx: RequestContext = {
    req,
    res,
    method: (req.method ?? "GET").toUpperCase(),
    rawPath: rawPath.startsWith("/") ? rawPath : `/${rawPath}`,
    url: new URL(`http://local/?${q < 0 ? "" : rawUrl.slice(q + 1)}`),
    origin: publicOrigin(req, fallbackOrigin, hub.config.publicUrl),
    requestId: newRequestId(),
    startedAt: performance.now(),
  };
  res.on("close", () => {
    const durationMs = Math.round((performance.now() - ctx.startedAt) * 10) / 10;
    const status = res.writableFinished ? res.statusCode : 499;
    const why = ctx.error ? ` (${ctx.error.slice(0, 300)})` : "";
    log?.(`${new Date().toISOString()} ${ctx.method} ${ctx.rawPath.slice(0, 300)} ${status} ${durationMs}ms ${ctx.requestId}${why}`);
    const requestBytes = Number(req.headers["content-length"] ?? 0) || 0;
    onRequest?.({ method: ctx.method, path: ctx.rawPath, status, durationMs, requestId: ctx.requestId, requestBytes });
  });
  setCommonHeaders(ctx);
  try {
    if (ctx.method === "OPTIONS") {
      answerPreflight(ctx);
      return;
    }
    await route(hub, ctx)();
  } catch (err) {
    if (err instanceof HttpError) {
      ctx.error = err.message;
      sendError(ctx, err);
      return;
    }
    if (res.destroyed || (err as Error)?.message === "client went away") return;
    const code = (err as { code?: unknown })?.code;
    if (code === "ENOSPC" || code === "EDQUOT") {
      // Nothing was stored (writes go to a temporary file first): the client may retry once space is freed.
      ctx.error = `disk full: ${(err as Error).message}`;
      process.emitWarning(`xet-buckets hub: its data directory's disk is full (request ${ctx.requestId})`);
      sendError(ctx, new HttpError(507, "the local hub's disk is full: free space where its data directory is, then retry"));
      return;
    }
    log?.(`error in ${ctx.method} ${ctx.rawPath.slice(0, 300)} (${ctx.requestId}): ${(err as Error)?.stack ?? err}`);
    if (!log) process.emitWarning(`xet-buckets hub: ${(err as Error)?.message ?? err} (request ${ctx.requestId})`);
    sendError(ctx, new HttpError(500, `internal error of the local hub (request id ${ctx.requestId})`));
  }
}
