/**
 * The persistent dedup cache, as hf_xet's shard cache: what this machine uploaded and the dedup answers it
 * received, remembered across processes and used before any server query.
 *
 * What is kept: chunk metadata only, never data. Each entry is a dedup-answer shard (xet-protocol.md §5.8:
 * xorbs with their chunk hashes and lengths) behind a small header:
 *
 *   - after an upload's shards are registered, one entry per shard with the xorbs it created;
 *   - each dedup answer the CAS sent (unless every xorb it names is cached already), as it came: keyed chunk
 *     hashes (HMAC) and expiry included.
 *
 * How it is used: the entries' *keys* (a sample of their chunk hashes: the first chunk of each xorb and of
 * each file, chunks eligible for global dedup, and chunks with `hash % 64 == 0`; for keyed answers, the
 * queried chunk) are read when an upload starts (the entries' heads only). The session asks about its
 * eligible chunks (queries) and about chunks with `hash % 64 == 0` (probes, xet/upload/dedup-queries.ts);
 * one whose key is cached is answered from the entries that have it, without a server query, and the xorbs
 * learned dedup every chunk they hold. Probes the cache cannot answer are misses (never sent to the CAS).
 *
 * Entry format (little-endian): `XBDC` (4 bytes), version 1 (u8), kind (u8: 1 upload, 2 answer), 2 reserved
 * bytes, key count k (u32), xorb count n (u32), created and expiry (f64 Unix seconds; expiry 0: none), then k
 * keys (16 ASCII hex digits: the first 16 of a chunk's Xet hex), n xorb hashes (64 ASCII hex digits), then the
 * shard. The entry is named by the SHA-256 of its bytes: an entry whose bytes do not match its name (torn,
 * tampered, garbage) is ignored with a warning and removed.
 *
 * Where: one space per CAS endpoint (its URL), so one hub's xorbs are never claimed on another; in a store
 * (dedup-cache-store.ts: a directory in Node, Deno and Bun; IndexedDB in browsers). Bounded: after each upload
 * the least recently used entries of all spaces (and this space's expired answers) are removed beyond the
 * store's `maxBytes`. Safe with
 * concurrent uploads: entries are immutable and written atomically; a missing entry is a miss.
 *
 * A cached xorb the CAS no longer has (its data removed, or another server behind the same URL) makes the
 * shard that references it fail: the upload then finds which (`HEAD /v1/xorbs/…`), evicts their entries and
 * runs again, sending what is missing (api/upload.ts; xet/upload/pipeline.ts).
 */
import { parseShard, uploadCacheEntries, type ParsedShard } from "../core/index.js";
import { checkMaxBytes, entryName, type DedupCacheSpace, type DedupCacheStore } from "../dedup-cache-store.js";
import { InvalidArgumentError } from "../errors.js";
import { localFilesFor } from "../sources.js";

export {
  DEFAULT_DEDUP_CACHE_BYTES,
  type DedupCacheEntryInfo,
  type DedupCacheSpace,
  type DedupCacheStore,
  type DedupCacheStoreEntry,
} from "../dedup-cache-store.js";

/**
 * A dedup cache in directory `dir` (Node, Deno, Bun; the `cache` option's directory form), at most `maxBytes`
 * (default 256 MiB) for all endpoints; the layout is platform/node/dedup-cache.ts's.
 */
export function directoryDedupCache(dir: string, options: { maxBytes?: number } = {}): DedupCacheStore {
  if (typeof dir !== "string" || dir === "") throw new InvalidArgumentError("directoryDedupCache: dir must be a directory path");
  return localFilesFor("directoryDedupCache").dedupCache(dir, checkMaxBytes("directoryDedupCache", options?.maxBytes));
}

/** Chunks with `hash % PROBE_MODULUS == 0` are keys of entries and probes of the session. */
export const PROBE_MODULUS = 64;

const MAGIC = [0x58, 0x42, 0x44, 0x43]; // "XBDC"
const VERSION = 1;
const HEAD = 24;
const KEY = 16;
const XORB = 64;
const KIND_UPLOAD = 1;
const KIND_ANSWER = 2;
/** Most chunks of one upload entry (≈ 2 GiB of data, a 1.5 MiB entry). */
const MAX_ENTRY_CHUNKS = 32 * 1024;
/** Heads are read in one go up to this size (an entry of ~4000 keys); longer heads take a second read. */
const FIRST_READ = 64 * 1024;

interface EntryHead {
  kind: number;
  keys: string[];
  xorbs: string[];
  expiry: number;
  /** Where the shard starts. */
  shardAt: number;
}

function parseHead(b: Uint8Array): EntryHead | "short" | undefined {
  if (b.length < HEAD) return "short";
  if (!MAGIC.every((m, i) => b[i] === m) || b[4] !== VERSION) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const kind = b[5]!;
  const k = v.getUint32(8, true);
  const n = v.getUint32(12, true);
  const expiry = v.getFloat64(16, true);
  const shardAt = HEAD + KEY * k + XORB * n;
  if ((kind !== KIND_UPLOAD && kind !== KIND_ANSWER) || !Number.isFinite(expiry)) return undefined;
  if (b.length < shardAt) return "short";
  const text = new TextDecoder().decode(b.subarray(HEAD, shardAt));
  if (!/^[0-9a-f]*$/.test(text)) return undefined;
  const keys: string[] = [];
  for (let i = 0; i < k; i++) keys.push(text.slice(KEY * i, KEY * (i + 1)));
  const xorbs: string[] = [];
  for (let i = 0; i < n; i++) xorbs.push(text.slice(KEY * k + XORB * i, KEY * k + XORB * (i + 1)));
  return { kind, keys, xorbs, expiry, shardAt };
}

function encodeEntry(kind: number, keys: Iterable<string>, xorbs: string[], expiry: number, shard: Uint8Array): Uint8Array {
  const k = [...new Set(keys)];
  const text = new TextEncoder().encode(k.join("") + xorbs.join(""));
  const out = new Uint8Array(HEAD + text.length + shard.length);
  const v = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  out[5] = kind;
  v.setUint32(8, k.length, true);
  v.setUint32(12, xorbs.length, true);
  v.setFloat64(16, expiry, true);
  out.set(text, HEAD);
  out.set(shard, HEAD + text.length);
  return out;
}

/** The key of a chunk hash (Xet hex): its first 16 digits. */
const keyOf = (hash: string) => hash.slice(0, KEY).toLowerCase();

/**
 * True when a chunk (Xet hex) is a sampled key: `hash % 64 == 0`, which includes every eligible chunk. The
 * hash's last 64-bit word is the one taken modulo; its lowest byte (raw byte 24) is the last two Xet hex
 * digits (xet-protocol.md §3.2, §3.10).
 */
function sampled(hex: string): boolean {
  return (parseInt(hex.slice(62, 64), 16) & (PROBE_MODULUS - 1)) === 0;
}

/** The keys of plain (unkeyed) xorbs: each xorb's first chunk and its sampled chunks. */
function xorbKeys(shard: ParsedShard, into: Set<string>): void {
  for (const x of shard.xorbs) {
    x.chunks.forEach((c, i) => {
      if (i === 0 || sampled(c.hash)) into.add(keyOf(c.hash));
    });
  }
}

/** An open dedup cache space for one CAS endpoint: its key index, reads, writes and eviction. */
export class DedupCache {
  readonly #space: DedupCacheSpace;
  readonly #maxBytes: number;
  readonly #warn: (message: string) => void;
  /** Key → entry names. */
  readonly #index = new Map<string, string[]>();
  /** Entry → the xorbs it names. */
  readonly #xorbsOf = new Map<string, string[]>();
  /** Xorbs some entry names. */
  readonly #known = new Set<string>();
  readonly #writes = new Set<Promise<void>>();
  /** Expired answers seen when loading (removed by `trim`). */
  readonly #expired: string[] = [];
  /** Entries whose xorbs were learned by this upload. */
  readonly used = new Set<string>();
  /** Entries written by this upload. */
  written = 0;

  readonly #store: DedupCacheStore;

  private constructor(store: DedupCacheStore, space: DedupCacheSpace, warn: (message: string) => void) {
    this.#store = store;
    this.#space = space;
    this.#maxBytes = store.maxBytes;
    this.#warn = warn;
  }

  /**
   * Opens the space of `endpoint` in `store` and reads its entries' keys. A store that cannot be opened
   * costs the cache, not the upload: undefined, with a warning.
   */
  static async open(store: DedupCacheStore, endpoint: string, warn: (message: string) => void): Promise<DedupCache | undefined> {
    let space: DedupCacheSpace;
    try {
      space = await store.open(endpoint);
    } catch (err) {
      warn(`the dedup cache ${store.where} cannot be opened (${(err as Error)?.message ?? err}); uploading without it`);
      return undefined;
    }
    const cache = new DedupCache(store, space, warn);
    await cache.#load();
    return cache;
  }

  async #load(): Promise<void> {
    let entries;
    try {
      entries = await this.#space.list();
    } catch (err) {
      this.#warn(`the dedup cache cannot be listed (${(err as Error)?.message ?? err}); uploading without it`);
      return;
    }
    const now = Date.now() / 1000;
    for (const e of entries) {
      let head: EntryHead | "short" | undefined;
      try {
        let b = await this.#space.readHead(e.name, FIRST_READ);
        if (!b) continue; // removed meanwhile
        head = parseHead(b);
        if (head === "short" && b.length === FIRST_READ) {
          b = await this.#space.readHead(e.name, e.size);
          head = b && parseHead(b);
        }
      } catch {
        head = undefined;
      }
      if (head === undefined || head === "short") {
        this.#warn(`ignoring the damaged dedup cache entry ${e.name}`);
        await this.#space.remove(e.name).catch(() => undefined);
        continue;
      }
      if (head.expiry !== 0 && head.expiry < now) {
        this.#expired.push(e.name); // removed by trim
        continue;
      }
      this.#add(e.name, head.keys, head.xorbs);
    }
  }

  #add(name: string, keys: string[], xorbs: string[]): void {
    for (const k of keys) {
      const list = this.#index.get(k);
      if (!list) this.#index.set(k, [name]);
      else if (!list.includes(name)) list.push(name);
    }
    this.#xorbsOf.set(name, xorbs);
    for (const x of xorbs) this.#known.add(x);
  }

  /** Entries whose keys were read. */
  get entries(): number {
    return this.#xorbsOf.size;
  }

  /** True when some entry has the key of this chunk (Xet hex). */
  has(chunk: string): boolean {
    return this.#index.has(keyOf(chunk));
  }

  /** The xorbs (Xet hex) that entry `name` names. */
  xorbsOf(name: string): readonly string[] {
    return this.#xorbsOf.get(name) ?? [];
  }

  /**
   * The shards of the entries with this chunk's key (read, checked against their names, marked used), or
   * undefined when none is readable. Entries this upload already learned are not read again (`known`: the
   * key is theirs, nothing new). Damaged entries are removed with a warning.
   */
  async answer(chunk: string): Promise<{ shards: Uint8Array[]; entries: string[]; known: boolean } | undefined> {
    const names = this.#index.get(keyOf(chunk));
    if (!names) return undefined;
    const shards: Uint8Array[] = [];
    const entries: string[] = [];
    const fresh = names.filter((n) => !this.used.has(n));
    if (fresh.length === 0) return { shards, entries, known: true };
    for (const name of fresh) {
      const bytes = await this.#space.read(name).catch(() => undefined);
      const head = bytes && (await entryName(bytes)) === name ? parseHead(bytes) : undefined;
      if (!bytes || head === undefined || head === "short") {
        if (bytes) {
          this.#warn(`ignoring the damaged dedup cache entry ${name}`);
          await this.#space.remove(name).catch(() => undefined);
        }
        this.#forget(name);
        continue;
      }
      shards.push(bytes.subarray(head.shardAt));
      entries.push(name);
      this.used.add(name);
      void this.#space.touch(name).catch(() => undefined);
    }
    return shards.length ? { shards, entries, known: false } : undefined;
  }

  #forget(name: string): void {
    for (const [k, list] of this.#index) {
      const i = list.indexOf(name);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#index.delete(k);
    }
    this.#xorbsOf.delete(name);
  }

  /** Remembers a dedup answer of the CAS for `chunk` (unless every xorb it names is cached already). */
  rememberAnswer(chunk: string, shard: Uint8Array): void {
    let parsed: ParsedShard;
    try {
      parsed = parseShard(shard);
    } catch {
      return; // the session judges it; nothing to keep
    }
    const xorbs = parsed.xorbs.map((x) => x.hash);
    if (xorbs.length === 0 || xorbs.every((x) => this.#known.has(x))) return;
    const keys = new Set([keyOf(chunk)]);
    const footer = parsed.footer;
    if (!footer || /^0+$/.test(footer.hmacKey)) xorbKeys(parsed, keys);
    this.#write(encodeEntry(KIND_ANSWER, keys, xorbs, footer?.expiry ?? 0, shard), [...keys], xorbs);
  }

  /**
   * Remembers the xorbs an upload created (after the CAS registered its shards), in one entry: a later
   * upload that finds any of its keys learns all of them, as a CAS answering with the xorbs uploaded
   * together does. Entries hold at most `MAX_ENTRY_CHUNKS` chunks (≈ 2 GiB of data); a larger upload
   * takes several.
   */
  rememberUpload(uploadShards: Uint8Array[]): void {
    for (const e of uploadCacheEntries(uploadShards, MAX_ENTRY_CHUNKS, PROBE_MODULUS, Math.floor(Date.now() / 1000))) {
      const keys = [...new Set(e.keyChunks.map(keyOf))];
      this.#write(encodeEntry(KIND_UPLOAD, keys, e.xorbs, 0, e.shard), keys, e.xorbs);
    }
  }

  #write(bytes: Uint8Array, keys: string[], xorbs: string[]): void {
    const p = (async () => {
      const name = await entryName(bytes);
      await this.#space.write(name, bytes);
      this.#add(name, keys, xorbs);
      this.written++;
    })()
      .catch((err: unknown) => this.#warn(`could not write to the dedup cache: ${(err as Error)?.message ?? err}`))
      .finally(() => this.#writes.delete(p));
    this.#writes.add(p);
  }

  /**
   * Removes every entry that names one of these xorbs (the CAS no longer has them); returns how many. Its
   * keys stop answering in this process too.
   */
  async evictXorbs(xorbs: Iterable<string>): Promise<number> {
    await this.flush();
    const gone = new Set(xorbs);
    let n = 0;
    for (const [name, list] of [...this.#xorbsOf]) {
      if (!list.some((x) => gone.has(x))) continue;
      await this.#space.remove(name).catch(() => undefined);
      this.#forget(name);
      n++;
    }
    for (const x of gone) this.#known.delete(x);
    return n;
  }

  /** Waits for the entries being written. */
  async flush(): Promise<void> {
    while (this.#writes.size > 0) await Promise.all([...this.#writes]);
  }

  /**
   * Bounds the store: removes this space's expired answers, then the least recently used entries of all
   * spaces beyond `maxBytes`. Entries other processes use may go too: they treat it as a miss.
   */
  async trim(): Promise<void> {
    await this.flush();
    for (const name of this.#expired.splice(0)) await this.#space.remove(name).catch(() => undefined);
    let entries;
    try {
      entries = await this.#store.list();
    } catch {
      return;
    }
    let total = entries.reduce((a, e) => a + e.size, 0);
    if (total <= this.#maxBytes) return;
    entries.sort((a, b) => a.lastUsed - b.lastUsed);
    for (const e of entries) {
      if (total <= this.#maxBytes) break;
      await this.#store.remove(e.space, e.name).catch(() => undefined);
      if (e.space === this.#space.key) this.#forget(e.name);
      total -= e.size;
    }
  }

  async close(): Promise<void> {
    await this.flush();
    await this.#space.close();
  }
}
