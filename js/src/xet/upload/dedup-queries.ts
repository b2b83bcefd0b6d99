/**
 * Global dedup (xet-protocol.md §3.10, §6.4): queries to the CAS about chunks, and their answers for the
 * session. The session asks about the chunks it reaches (`takeQueries`: a file's first chunk, and chunks with
 * `hash % 1024 == 0` it does not know locally) and holds the chunks of the queried chunk's ingestion block
 * and after it until the answer (`pendingBytes`). So that a file rarely waits when the session reaches it,
 * the same chunks are queried early, as soon as a prepared segment's hashes are known (`prefetch`); an early
 * answer waits here until the session asks. At most `maxDedupQueries` are in flight, the session's first. A
 * query that fails is a miss (dedup is an optimisation): it gets a short retry budget and costs dedup, not
 * the upload.
 *
 * With a persistent dedup cache (xet/dedup-cache.ts), the session first learns what the cache holds for a
 * queried chunk; with global dedup the CAS is asked as well, and the query is answered with the CAS's answer:
 * the cache knows the xorbs this machine uploaded or was told about, the CAS may name more (the xorbs of
 * chunks next to the queried one that others uploaded), and the chunks that follow wait for that answer
 * instead of being sent meanwhile. The session's probes (`takeProbes`: chunks with `hash % 64 == 0`) and,
 * without global dedup, its queries are answered from the cache alone. The CAS's answers are remembered in
 * the cache.
 *
 * Back-pressure: the coordinator pauses the session while more than `maxPendingBytes` wait for answers
 * (`pendingOverBudget`), and at the end of a file until none do (`pendingOnAnswers`).
 */
import { rawToHex, type UploadSession } from "../../core/index.js";
import { retryConfig } from "../../http.js";
import type { PreparedSegment } from "../../core/packed.js";
import { CasClient, callersFetch } from "../cas.js";
import { rangeFetch } from "#platform";
import type { DedupCache } from "../dedup-cache.js";
import type { UploadResume } from "../resume.js";
import type { UploadControl } from "./control.js";

/** What the queries use of the session. */
export type QuerySession = Pick<UploadSession, "takeQueries" | "takeProbes" | "answerQuery" | "learnShard" | "pendingBytes">;

/** Early answers kept until the session asks (the oldest are dropped beyond). */
const MAX_KEPT_ANSWERS = 4096;

/** Queries waiting, in flight and answered early; the counters of the report. */
export class DedupQueries {
  readonly #cas: CasClient;
  readonly #session: QuerySession;
  readonly #global: boolean;
  readonly #maxQueries: number;
  readonly #maxPending: number;
  readonly #ctl: UploadControl;
  readonly #resume: UploadResume | undefined;
  readonly #onAnswered: () => void;
  readonly #cache: DedupCache | undefined;
  /** Cache reads in flight. */
  readonly #cacheReads = new Set<Promise<void>>();
  /** Queries whose cache entries are being read (their CAS answer waits until the session learned them). */
  readonly #learning = new Set<string>();
  /** Xorbs learned from the cache (Xet hex): the shards may name ones the CAS no longer has. */
  readonly cacheXorbs = new Set<string>();
  #cacheHits = 0;
  #closed = false;
  // the session's queries (`wanted`), and early ones for chunks the session will reach
  readonly #queue: string[] = [];
  readonly #prefetchQueue: string[] = [];
  readonly #wanted = new Set<string>();
  readonly #answers = new Map<string, Uint8Array | undefined>();
  readonly #inflight = new Map<string, Promise<void>>();
  #sent = 0;
  #hits = 0;
  #failures = 0;

  /**
   * `cas`: the pipeline's client; `onAnswered`: the session took answers, which may have placed chunks (called
   * synchronously; what it throws fails the upload).
   */
  constructor(
    cas: CasClient,
    session: QuerySession,
    t: { globalDedup: boolean; maxDedupQueries: number; maxPendingBytes: number },
    ctl: UploadControl,
    resume: UploadResume | undefined,
    onAnswered: () => void,
    cache?: DedupCache,
  ) {
    // Dedup is an optimisation: queries get a short retry budget, and a query that still fails is a miss.
    const retry =
      cas.http.retry === false
        ? false
        : { ...cas.http.retry, maxAttempts: 3, budgetMs: Math.min(retryConfig(cas.http.retry).budgetMs, 20_000) };
    // Small GETs: through the platform's light HTTP client (Node: ≈ 0.4 ms of CPU per query instead of ≈ 0.8
    // through fetch) unless the caller gave a fetch of their own.
    const fast = callersFetch(cas.http.fetch) === undefined ? rangeFetch(false) : undefined;
    this.#cas = new CasClient(cas.tokens, { ...cas.http, retry, ...(fast ? { fetch: fast } : {}) }, cas.sessionId);
    this.#session = session;
    this.#global = t.globalDedup;
    this.#maxQueries = t.maxDedupQueries;
    this.#maxPending = t.maxPendingBytes;
    this.#ctl = ctl;
    this.#resume = resume;
    this.#onAnswered = onAnswered;
    this.#cache = cache;
  }

  /** More than `maxPendingBytes` of the session wait for answers still to come: the session should pause. */
  get pendingOverBudget(): boolean {
    return this.#session.pendingBytes > this.#maxPending && this.#wanted.size > 0;
  }

  /** Bytes of the session wait for answers still to come. */
  get pendingOnAnswers(): boolean {
    return this.#session.pendingBytes > 0 && this.#wanted.size > 0;
  }

  /** For the report: queries sent, answered with a shard that taught the session xorbs, failed. */
  get sent(): number {
    return this.#sent;
  }
  get hits(): number {
    return this.#hits;
  }
  get failures(): number {
    return this.#failures;
  }
  /** Queries and probes the cache answered. */
  get cacheHits(): number {
    return this.#cacheHits;
  }

  /** The queries and cache reads in flight (to wait for them to settle). */
  running(): Promise<void>[] {
    return [...this.#inflight.values(), ...this.#cacheReads];
  }

  /** The session is about to be freed: late answers are dropped. */
  close(): void {
    this.#closed = true;
  }

  /**
   * Hands the session's new queries out (answered at once when an early query already has the answer),
   * then starts queries while slots are free: the session's first, then early ones.
   */
  pump(): void {
    const s = this.#session;
    const cache = this.#cache;
    // Probes are for the local cache only: a miss at once when it has no key for the chunk.
    let missed = 0;
    for (const h of s.takeProbes()) {
      if (cache?.has(h)) this.#fromCache(h, false);
      else {
        s.answerQuery(h, undefined);
        missed++;
      }
    }
    const fresh = s.takeQueries();
    if (!this.#global) {
      for (const h of fresh) {
        if (cache?.has(h)) this.#fromCache(h, false);
        else {
          s.answerQuery(h, undefined);
          missed++;
        }
      }
      if (missed) this.#onAnswered();
      return;
    }
    if (missed) this.#onAnswered();
    for (const h of fresh) {
      if (cache?.has(h)) {
        this.#fromCache(h, true);
      } else if (this.#answers.has(h)) {
        const shard = this.#answers.get(h);
        this.#answers.delete(h);
        this.#answer(h, shard);
      } else {
        this.#wanted.add(h);
        if (!this.#inflight.has(h)) this.#queue.push(h);
      }
    }
    while (this.#inflight.size < this.#maxQueries && !this.#ctl.signal.aborted) {
      const hash = this.#queue.shift() ?? this.#prefetchQueue.shift();
      if (hash === undefined) break;
      if (this.#inflight.has(hash) || this.#answers.has(hash)) continue;
      this.#sent++;
      const p = this.#query(hash)
        .then((shard) => {
          if (this.#closed || this.#ctl.signal.aborted) return;
          if (shard) this.#cache?.rememberAnswer(hash, shard);
          const answer = this.#resume ? this.#resume.filterAnswer(shard) : shard;
          // While the cache's entries for it are read, the answer waits (they are learned first).
          if (!this.#learning.has(hash) && this.#wanted.delete(hash)) this.#answer(hash, answer);
          else this.#keepAnswer(hash, answer);
        })
        .catch((err: unknown) => this.#ctl.fail(err))
        .finally(() => {
          this.#inflight.delete(hash);
          this.#pumpSafe();
          this.#ctl.wake();
        });
      this.#inflight.set(hash, p);
    }
  }

  /**
   * Early dedup queries for a prepared segment (any order, possibly before its file is reached): its file's
   * first chunk, and every chunk eligible for global dedup (`hash % 1024 == 0`, xet-protocol.md §3.10). The
   * session asks for the same ones when it gets there (unless it knows them locally by then), and finds
   * the answer waiting.
   */
  prefetch(first: boolean, seg: PreparedSegment): void {
    if (!this.#global || this.#closed || this.#ctl.signal.aborted) return;
    const h = seg.hashes;
    for (let i = 0; i < seg.count; i++) {
      const eligible = h[32 * i + 24] === 0 && (h[32 * i + 25]! & 3) === 0;
      if (!eligible && !(first && i === 0)) continue;
      const hex = rawToHex(h.subarray(32 * i, 32 * i + 32));
      if (!this.#answers.has(hex) && !this.#inflight.has(hex) && !this.#wanted.has(hex)) this.#prefetchQueue.push(hex);
    }
    this.#pumpSafe();
  }

  /**
   * The session's query (or probe) about `hash`, with the cache's entries for it. `toServer` (a query with
   * global dedup): the session learns the entries and the query is answered by the CAS (an early answer, or a
   * query sent now). Otherwise the entries answer it (a miss when none is usable).
   */
  #fromCache(hash: string, toServer: boolean): void {
    this.#wanted.add(hash);
    if (toServer) this.#learning.add(hash);
    const p = this.#cache!.answer(hash)
      .then((found) => {
        this.#learning.delete(hash);
        if (this.#closed || this.#ctl.signal.aborted) return;
        const shards = (found?.shards ?? []).filter((sh) => !this.#resume || this.#resume.filterAnswer(sh) !== undefined);
        if (shards.length > 0) {
          this.#cacheHits++;
          for (const e of found!.entries) for (const x of this.#cache!.xorbsOf(e)) this.cacheXorbs.add(x);
        }
        if (toServer) {
          for (const sh of shards) this.#session.learnShard(sh);
          if (this.#answers.has(hash)) {
            const shard = this.#answers.get(hash);
            this.#answers.delete(hash);
            this.#wanted.delete(hash);
            this.#answer(hash, shard);
          } else {
            if (!this.#inflight.has(hash)) this.#queue.push(hash);
            this.#pumpSafe();
            // Learned entries may have placed chunks.
            this.#onAnswered();
          }
          return;
        }
        this.#wanted.delete(hash);
        for (const sh of shards.slice(1)) this.#session.learnShard(sh);
        this.#answer(hash, shards[0], false);
      })
      .catch((err: unknown) => this.#ctl.fail(err))
      .finally(() => {
        this.#cacheReads.delete(p);
        this.#ctl.wake();
      });
    this.#cacheReads.add(p);
  }

  /** Keeps an early answer until the session asks (bounded: the oldest are dropped). */
  #keepAnswer(hash: string, shard: Uint8Array | undefined): void {
    this.#answers.set(hash, shard);
    if (this.#answers.size > MAX_KEPT_ANSWERS) this.#answers.delete(this.#answers.keys().next().value!);
  }

  #pumpSafe(): void {
    if (this.#closed || this.#ctl.signal.aborted) return;
    try {
      this.pump();
    } catch (err) {
      this.#ctl.fail(err);
    }
  }

  #answer(hash: string, shard: Uint8Array | undefined, fromCas = true): void {
    try {
      const learned = this.#session.answerQuery(hash, shard);
      if (learned > 0 && fromCas) this.#hits++;
    } catch (err) {
      // A dedup answer the core cannot use (malformed shard): the core cleared the query, which counts
      // as a miss; the upload stays valid.
      if (shard === undefined) throw err;
      this.#failures++;
    }
    this.#onAnswered();
  }

  /** `GET /v1/chunks/default/{hash}`: the dedup shard, or undefined for 404 or a query that failed. */
  async #query(hash: string): Promise<Uint8Array | undefined> {
    try {
      return await this.#cas.requestRead(`/v1/chunks/default/${hash}`, { accept: [404], signal: this.#ctl.signal }, async (res) => {
        if (res.status === 404) {
          await res.body?.cancel();
          return undefined;
        }
        return new Uint8Array(await res.arrayBuffer());
      });
    } catch (err) {
      if (this.#ctl.signal.aborted) throw err;
      // A CAS that cannot answer costs dedup, not the upload; a token problem shows on the xorb upload.
      this.#failures++;
      return undefined;
    }
  }
}
