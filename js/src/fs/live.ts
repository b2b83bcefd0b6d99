/**
 * The listing cache of a `BucketFileSystem` with `liveFollow` (as huggingface_hub's `HfFileSystem(live_follow=True)`):
 * per bucket, recursive listings ("trees", by folder) and one-level listings ("dirs", by folder), kept fresh by
 * the bucket's live events feed (`watchBucket`), so repeated `ls` / `find` / `glob` / `walk` / `stat` calls
 * do not ask the Hub again.
 *
 * Rules that keep it correct:
 * - A bucket's cache is used only while its feed is live (after `ready`, and until a stream breaks: while the
 *   feed reconnects, calls go to the Hub). Where the feed cannot be followed (the server does not serve it, a
 *   401/403/404), that bucket is never cached.
 * - A listing is cached only when it started while the feed was live, and the changes that arrived while it
 *   was fetched are applied to it before it is stored (a change may then be applied twice, which is harmless);
 *   a `reset` during the fetch discards it.
 * - Changes are applied in place (adds, updates, deletes of files; folders appear with their first file). A
 *   delete below a one-level listing that cannot tell whether its folder emptied drops that listing.
 * - `reset` drops the bucket's cache; the calls of this file system that write drop what they touch.
 */
import { watchBucket, type BucketFileChange } from "../api/watch.js";
import type { ListFileEntry } from "../api/files.js";
import type { HubCallOptions } from "../hub/context.js";
import type { BucketRef } from "../repo.js";

/** Folder of a path ("" for the root). */
const parentOf = (p: string): string => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");
/** True when `path` is the file `prefix` or below the folder `prefix` ("" covers everything). */
const covers = (prefix: string, path: string): boolean => prefix === "" || path === prefix || path.startsWith(`${prefix}/`);
const key = (e: { type: string; path: string }) => `${e.type === "directory" ? "d" : "f"}:${e.path}`;

function fileOf(c: BucketFileChange, prev: ListFileEntry | undefined): ListFileEntry {
  const out: ListFileEntry = { ...prev, type: "file", path: c.path, size: c.size ?? prev?.size ?? 0 };
  if (c.xetHash !== undefined) out.xetHash = c.xetHash;
  if (c.mtime !== undefined) out.mtime = c.mtime;
  if (c.uploadedAt !== undefined) out.uploadedAt = c.uploadedAt;
  return out;
}

interface Recorder {
  changes: BucketFileChange[];
  broken: boolean;
}

/** One bucket: its feed and its listings. */
class BucketView {
  /** The feed is live: cached listings are current. */
  live = false;
  /** The feed will never be live (unavailable, refused, closed). */
  dead = false;
  readonly #trees = new Map<string, Map<string, ListFileEntry>>();
  readonly #dirs = new Map<string, Map<string, ListFileEntry>>();
  readonly #recorders = new Set<Recorder>();

  constructor(bucket: BucketRef, options: HubCallOptions, signal: AbortSignal) {
    void this.#follow(bucket, options, signal);
  }

  async #follow(bucket: BucketRef, options: HubCallOptions, signal: AbortSignal): Promise<void> {
    try {
      for await (const ev of watchBucket(`hf://buckets/${bucket.id}`, {
        ...options,
        abortSignal: signal,
        // A broken stream: serve from the Hub until the feed is back (the changes it missed are replayed).
        onReconnect: () => (this.live = false),
      })) {
        if (ev.type === "reset") this.#reset();
        if (ev.type === "changes") this.#apply(ev.changes);
        else this.live = true;
      }
    } catch {
      // Not followable (EVENTS_UNAVAILABLE, 401, 403, 404), or closed: no cache for this bucket.
    }
    this.dead = true;
    this.#reset();
  }

  #reset(): void {
    this.live = false;
    this.#trees.clear();
    this.#dirs.clear();
    for (const r of this.#recorders) r.broken = true;
  }

  /** The files at or below `prefix` (sorted by path), when a cached tree covers it. */
  files(prefix: string): ListFileEntry[] | undefined {
    if (!this.live) return undefined;
    for (const [q, tree] of this.#trees) {
      if (covers(q, prefix)) return [...tree.values()].filter((e) => covers(prefix, e.path)).sort(byPath);
    }
    return undefined;
  }

  /** What the cache knows of a path: its file or folder entry, null when it is sure nothing is there, undefined when it cannot tell. */
  lookup(p: string): ListFileEntry | null | undefined {
    if (!this.live) return undefined;
    const files = this.files(p);
    if (files) return files.find((e) => e.path === p) ?? (files.length > 0 ? { type: "directory", path: p, size: 0 } : null);
    const siblings = this.#dirs.get(parentOf(p));
    if (siblings) return siblings.get(key({ type: "file", path: p })) ?? siblings.get(key({ type: "directory", path: p })) ?? null;
    return undefined;
  }

  /** The direct children of the folder `dir` (and the file named `dir`), when cached or derivable from a tree. */
  children(dir: string): ListFileEntry[] | undefined {
    if (!this.live) return undefined;
    const cached = this.#dirs.get(dir);
    if (cached) return [...cached.values()].sort(byPath);
    const files = this.files(dir);
    if (!files) return undefined;
    const out = new Map<string, ListFileEntry>();
    const base = dir === "" ? "" : `${dir}/`;
    for (const f of files) {
      if (f.path === dir) {
        out.set(key(f), f);
        continue;
      }
      const rest = f.path.slice(base.length);
      const slash = rest.indexOf("/");
      if (slash < 0) out.set(key(f), f);
      else {
        // A folder, dated by its newest file (as the Hub's listing dates it).
        const d: ListFileEntry = { type: "directory", path: base + rest.slice(0, slash), size: 0 };
        const newest = [out.get(key(d))?.uploadedAt, f.uploadedAt]
          .filter((t): t is string => !!t)
          .sort()
          .pop();
        if (newest) d.uploadedAt = newest;
        out.set(key(d), d);
      }
    }
    return [...out.values()].sort(byPath);
  }

  /** Fetches with `list` and caches the result as the tree of `prefix` (or the one-level listing of `dir`). */
  async fetch(kind: "tree" | "dir", at: string, list: () => Promise<ListFileEntry[]>): Promise<ListFileEntry[]> {
    if (!this.live) return list();
    const rec: Recorder = { changes: [], broken: false };
    this.#recorders.add(rec);
    try {
      const entries = await list();
      if (!rec.broken && !this.dead) {
        const map = new Map(entries.map((e) => [kind === "tree" ? e.path : key(e), e]));
        (kind === "tree" ? this.#trees : this.#dirs).set(at, map);
        if (kind === "tree") this.#applyTree(at, map, rec.changes);
        else if (!this.#applyDir(at, map, rec.changes)) this.#dirs.delete(at);
      }
      return entries;
    } finally {
      this.#recorders.delete(rec);
    }
  }

  /** Drops what covers or lists these paths (after a write of this file system). */
  invalidate(paths: string[]): void {
    for (const p of paths) {
      for (const q of [...this.#trees.keys()]) if (covers(q, p) || covers(p, q)) this.#trees.delete(q);
      for (const d of [...this.#dirs.keys()]) if (covers(d, p) || covers(p, d)) this.#dirs.delete(d);
    }
  }

  #apply(changes: BucketFileChange[]): void {
    for (const r of this.#recorders) r.changes.push(...changes);
    for (const [q, tree] of this.#trees) this.#applyTree(q, tree, changes);
    for (const [d, listing] of [...this.#dirs]) if (!this.#applyDir(d, listing, changes)) this.#dirs.delete(d);
  }

  #applyTree(prefix: string, tree: Map<string, ListFileEntry>, changes: BucketFileChange[]): void {
    for (const c of changes) {
      if (!covers(prefix, c.path)) continue;
      if (c.op === "delete") tree.delete(c.path);
      else tree.set(c.path, fileOf(c, tree.get(c.path)));
    }
  }

  /** Applies changes to a one-level listing; false when it can no longer tell (a folder below may have emptied). */
  #applyDir(dir: string, listing: Map<string, ListFileEntry>, changes: BucketFileChange[]): boolean {
    const base = dir === "" ? "" : `${dir}/`;
    for (const c of changes) {
      if (c.path === dir || parentOf(c.path) === dir) {
        const k = key({ type: "file", path: c.path });
        if (c.op === "delete") listing.delete(k);
        else listing.set(k, fileOf(c, listing.get(k)));
      } else if (dir === "" || c.path.startsWith(base)) {
        const sub = base + c.path.slice(base.length).split("/")[0]!;
        if (c.op === "delete") {
          // Still a folder while the cache of a tree shows a file below it; unknown otherwise.
          const below = this.files(sub);
          if (!below) return false;
          if (below.length === 0) listing.delete(key({ type: "directory", path: sub }));
        } else {
          const d: ListFileEntry = { type: "directory", path: sub, size: 0 };
          if (c.uploadedAt) d.uploadedAt = c.uploadedAt;
          listing.set(key(d), d);
        }
      }
    }
    return true;
  }
}

/** Orders entries by path (code unit order, like the listings); the file system's listings use it too. */
export function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** The live views of one file system, one per bucket it touched; `close()` stops their feeds. */
export class LiveListings {
  readonly #views = new Map<string, BucketView>();
  readonly #ctl = new AbortController();
  readonly #options: HubCallOptions;
  readonly #signal: AbortSignal;

  constructor(options: HubCallOptions) {
    this.#options = options;
    this.#signal = options.abortSignal ? AbortSignal.any([options.abortSignal, this.#ctl.signal]) : this.#ctl.signal;
  }

  /** The view of a bucket (its feed starts on first use); undefined once closed. */
  view(bucket: BucketRef): BucketView | undefined {
    if (this.#signal.aborted) return undefined;
    let v = this.#views.get(bucket.id);
    if (!v) this.#views.set(bucket.id, (v = new BucketView(bucket, this.#options, this.#signal)));
    return v;
  }

  /** True when the bucket's cache is in use (tests, diagnostics). */
  isLive(bucketId: string): boolean {
    return !this.#signal.aborted && (this.#views.get(bucketId)?.live ?? false);
  }

  close(): void {
    this.#ctl.abort(new DOMException("the file system was closed", "AbortError"));
  }
}
