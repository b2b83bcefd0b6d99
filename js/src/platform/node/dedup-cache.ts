/**
 * The dedup cache in a directory (Node, Deno, Bun; xet/dedup-cache.ts explains the cache): one directory
 * per CAS endpoint, `<root>/v1/<endpoint key>/`, one file per entry named by the SHA-256 of its bytes
 * (`<sha-256>.xbdc`), its mtime the entry's last use.
 *
 * Several processes may upload at once: entries are immutable, written to a temporary file in the same
 * directory and renamed into place (atomic), so a reader sees a whole entry or none; an entry removed by
 * another process's eviction reads as a miss. Temporary files left by a killed process are removed after
 * an hour. No lock is needed.
 *
 * Default root: `$XET_BUCKETS_CACHE_DIR`, else `$XDG_CACHE_HOME/xet-buckets`, else `~/.cache/xet-buckets`;
 * `XET_BUCKETS_DISABLE_CACHE=1` turns it off, `XET_BUCKETS_CACHE_MAX_BYTES` bounds it (default 256 MiB for all
 * endpoints together; a number of bytes, or with a K, M or G suffix: `512M`).
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, utimes, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { DEFAULT_DEDUP_CACHE_BYTES, endpointKey, type DedupCacheSpace, type DedupCacheStore } from "../../dedup-cache-store.js";
import { LocalFileError } from "../../errors.js";
import { isXetHash } from "../../hex.js";
import { local } from "./files.js";

const SUFFIX = ".xbdc";
const NAME = /^([0-9a-f]{64})\.xbdc$/;
const STALE_TEMP_MS = 3600 * 1000;

const missing = (err: unknown) => (err as NodeJS.ErrnoException)?.code === "ENOENT";

/** A dedup cache in directory `root` (created when first used), at most `maxBytes` in all. */
export function directoryDedupCache(root: string, maxBytes = DEFAULT_DEDUP_CACHE_BYTES): DedupCacheStore {
  const spaces = join(root, "v1");
  return {
    where: root,
    maxBytes,
    async open(endpoint) {
      const key = await endpointKey(endpoint);
      const dir = join(spaces, key);
      await local(dir, mkdir(dir, { recursive: true }));
      return directorySpace(key, dir);
    },
    async list() {
      const out = [];
      let keys: string[];
      try {
        keys = await readdir(spaces);
      } catch (err) {
        if (missing(err)) return [];
        throw new LocalFileError(spaces, err);
      }
      for (const key of keys) {
        if (!/^[0-9a-f]{32}$/.test(key)) continue;
        try {
          for (const e of await directorySpace(key, join(spaces, key)).list()) out.push({ ...e, space: key });
        } catch (err) {
          if (!(err instanceof LocalFileError && err.code === "FILE_NOT_FOUND")) throw err; // removed meanwhile
        }
      }
      return out;
    },
    async remove(space, name) {
      if (!/^[0-9a-f]{32}$/.test(space) || !isXetHash(name)) return;
      const file = join(spaces, space, name + SUFFIX);
      await local(file, rm(file, { force: true }));
      // An empty space goes too (fails harmlessly when another process writes to it meanwhile).
      await rmdir(join(spaces, space)).catch(() => undefined);
    },
  };
}

function directorySpace(key: string, dir: string): DedupCacheSpace {
  const path = (name: string) => join(dir, name + SUFFIX);
  return {
    key,
    async list() {
      const out = [];
      const now = Date.now();
      for (const f of await local(dir, readdir(dir))) {
        const m = NAME.exec(f);
        try {
          if (!m) {
            // A temporary file of a process killed while writing.
            if (f.endsWith(".tmp") && now - (await stat(join(dir, f))).mtimeMs > STALE_TEMP_MS) await rm(join(dir, f), { force: true });
            continue;
          }
          const st = await stat(join(dir, f));
          out.push({ name: m[1]!, size: st.size, lastUsed: st.mtimeMs });
        } catch (err) {
          if (!missing(err)) throw new LocalFileError(join(dir, f), err);
        }
      }
      return out;
    },
    async readHead(name, bytes) {
      let fh;
      try {
        fh = await open(path(name), "r");
      } catch (err) {
        if (missing(err)) return undefined;
        throw new LocalFileError(path(name), err);
      }
      try {
        const buf = new Uint8Array(bytes);
        let got = 0;
        while (got < bytes) {
          const { bytesRead } = await local(path(name), fh.read(buf, got, bytes - got, got));
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return buf.subarray(0, got);
      } finally {
        await fh.close();
      }
    },
    async read(name) {
      try {
        return new Uint8Array(await readFile(path(name)));
      } catch (err) {
        if (missing(err)) return undefined;
        throw new LocalFileError(path(name), err);
      }
    },
    async write(name, bytes) {
      const target = path(name);
      try {
        await stat(target);
        return; // immutable: the same name is the same bytes
      } catch (err) {
        if (!missing(err)) throw new LocalFileError(target, err);
      }
      const temp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
      try {
        await writeFile(temp, bytes);
        await rename(temp, target);
      } catch (err) {
        await rm(temp, { force: true });
        throw new LocalFileError(target, err);
      }
    },
    async touch(name) {
      const now = new Date();
      try {
        await utimes(path(name), now, now);
      } catch (err) {
        if (!missing(err)) throw new LocalFileError(path(name), err);
      }
    },
    async remove(name) {
      await local(path(name), rm(path(name), { force: true }));
    },
    async close() {},
  };
}

/** Parses a size: bytes, or a number with a K, M or G suffix (binary units); undefined when malformed. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"];
  return Math.floor(Number(m[1]) * unit);
}

/**
 * The default dedup cache of this process (see the module doc for the environment variables), or undefined
 * when it is turned off.
 */
export function defaultDedupCache(env: Record<string, string | undefined> = process.env): DedupCacheStore | undefined {
  const off = env.XET_BUCKETS_DISABLE_CACHE;
  if (off && !["0", "false", "no", ""].includes(off.toLowerCase())) return undefined;
  const root = env.XET_BUCKETS_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "xet-buckets");
  const max = env.XET_BUCKETS_CACHE_MAX_BYTES ? parseSize(env.XET_BUCKETS_CACHE_MAX_BYTES) : undefined;
  return directoryDedupCache(root, max ?? DEFAULT_DEDUP_CACHE_BYTES);
}
