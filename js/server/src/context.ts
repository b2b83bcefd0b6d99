/** What every request handler of one hub instance shares. No module-level state: a process may run many hubs. */
import type { Auth } from "./auth.js";
import type { BodyBudget } from "./budget.js";
import type { XorbFiles } from "./blobs.js";
import type { EventFeed, EventsConfig } from "./events.js";
import type { RequestContext } from "./http.js";
import type { RepoStore } from "./repos/store.js";
import type { Store } from "./store.js";

/** The WebAssembly core's TypeScript wrapper (loaded once per process by `initCore`). */
export type Core = typeof import("xet-buckets/core");

/** Size limits of request bodies (bytes); larger bodies are answered 413. */
export interface BodyLimits {
  /** Xorb upload (default 64 MiB + 1 MiB of record headers and LZ4 framing). */
  xorb: number;
  /** Shard upload (default 64 MiB + 200 bytes of footer). */
  shard: number;
  /** JSON bodies (default 8 MiB: 1000 paths of paths-info at 4 KiB each fit). */
  json: number;
  /** NDJSON batch bodies (default 64 MiB: the JS client sends all deletes in one request). */
  ndjson: number;
}

export interface HubConfig {
  /** Entries per page of tree listings. */
  treePageSize: number;
  /** Entries per page of bucket listings. */
  bucketPageSize: number;
  casTokenTtlSeconds: number;
  fetchUrlTtlSeconds: number;
  /** Key the chunk hashes of dedup answers with a random per-answer HMAC key. */
  dedupHmac: boolean;
  /** Largest number of xorbs in one dedup answer. */
  dedupMaxXorbs: number;
  /** Largest dedup answer in bytes. */
  dedupMaxBytes: number;
  /** Validity of a dedup answer (its shard key expiry). */
  dedupAnswerTtlSeconds: number;
  /** Explicit public URL (otherwise derived from each request's Host header). */
  publicUrl?: string;
  /** Organisations whose new buckets are private unless the create request says otherwise. */
  orgsPrivateByDefault: ReadonlySet<string>;
  limits: BodyLimits;
  /** The live events feed's keep-alive, connection and buffer limits. */
  events: EventsConfig;
  hooks: {
    afterXorbTempWrite?: (hash: string) => Promise<void> | void;
  };
}

export interface HubContext {
  /**
   * Identity of the data directory (random, created with it, kept in its database). The CAS URL handed to
   * clients ends with it (`casBase`), so a new data directory behind the same address is a new CAS
   * endpoint to clients: hf_xet keeps what it believes the CAS holds per endpoint URL (under HF_HOME/xet).
   */
  storeId: string;
  store: Store;
  /** Model, dataset and space repositories (tables in the same database). */
  repos: RepoStore;
  xorbs: XorbFiles;
  auth: Auth;
  core: Core;
  config: HubConfig;
  /** Request bodies held in memory at once (xorb, shard and batch uploads take their share first). */
  bodies: BodyBudget;
  /** The live events feed (its streams follow the store's change log). */
  events: EventFeed;
  /** Current time in ms (injectable for tests). */
  now(): number;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
export const nowSecs = (hub: HubContext): number => Math.floor(hub.now() / 1000);

/** Path prefix of the CAS routes of a store: `/cas/<store id>`. */
export const casPrefix = (hub: HubContext): string => `/cas/${hub.storeId}`;

/** The CAS base URL handed to clients on the request's public origin (no trailing slash). */
export const casBase = (hub: HubContext, ctx: RequestContext): string => `${ctx.origin}${casPrefix(hub)}`;
