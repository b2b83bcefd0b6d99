/**
 * Content-addressed xorb bodies on disk: `DATA/xorbs/<first 2 hex>/<hash>`, exactly the bytes the client
 * uploaded (footer-less). Writes are atomic: temp file in `DATA/tmp`, fsync, rename, fsync of the
 * directory. A crash leaves at most a temp file, removed at the next start.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";

export class XorbFiles {
  readonly #root: string;
  readonly #tmp: string;
  readonly #madeDirs = new Set<string>();

  constructor(dataDir: string) {
    this.#root = join(dataDir, "xorbs");
    this.#tmp = join(dataDir, "tmp");
  }

  /** Creates the directories and removes leftovers of interrupted writes. */
  async init(): Promise<void> {
    await mkdir(this.#root, { recursive: true });
    await rm(this.#tmp, { recursive: true, force: true });
    await mkdir(this.#tmp, { recursive: true });
  }

  path(hash: string): string {
    return join(this.#root, hash.slice(0, 2), hash);
  }

  async exists(hash: string): Promise<boolean> {
    try {
      await stat(this.path(hash));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Writes `data` as the xorb `hash`: temp file, fsync, rename over the final name, fsync the
   * directory. Rewriting an existing xorb is harmless (same content).
   * `afterTempWrite` is a test hook run between the temp write and the rename.
   */
  async write(hash: string, data: Uint8Array, afterTempWrite?: () => Promise<void> | void): Promise<void> {
    const { dir, tmp, fh } = await this.#createTemp(hash);
    try {
      let off = 0;
      while (off < data.length) {
        const { bytesWritten } = await fh.write(data, off, data.length - off);
        off += bytesWritten;
      }
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true });
      throw err;
    }
    await fh.close();
    try {
      await afterTempWrite?.();
      await rename(tmp, this.path(hash));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    await fsyncDir(dir);
  }

  /**
   * A temp file for the xorb `hash` that is written while its body arrives (`XorbTempFile`): the disk
   * work overlaps the upload instead of following it.
   */
  async begin(hash: string): Promise<XorbTempFile> {
    const { dir, tmp, fh } = await this.#createTemp(hash);
    return new XorbTempFile(fh, tmp, dir, this.path(hash));
  }

  /** A new temp file for the xorb `hash`, with its final directory made (and made durable) first. */
  async #createTemp(hash: string): Promise<{ dir: string; tmp: string; fh: FileHandle }> {
    const dir = join(this.#root, hash.slice(0, 2));
    if (!this.#madeDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      await fsyncDir(this.#root);
      this.#madeDirs.add(dir);
    }
    const tmp = join(this.#tmp, `${hash}.${randomBytes(6).toString("hex")}`);
    const fh = await open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
    return { dir, tmp, fh };
  }

  /**
   * Sends bytes [start, end] (inclusive) of a stored xorb through `send`, in pieces of up to 1 MiB read into
   * buffers kept from range to range: a piece is read while the one before is being sent, and a buffer is read
   * into again only once `send` resolved for it (the bytes left it). A read stream allocated a 64 KiB buffer per
   * read: serving 640 MiB took ≈ 10,000 of them and kept the collector busy.
   */
  async sendRange(hash: string, start: number, end: number, send: (bytes: Uint8Array) => Promise<void>): Promise<void> {
    const fh = await open(this.path(hash), "r");
    const pieces = [takePiece(), takePiece()];
    const sending: Array<Promise<void> | undefined> = [undefined, undefined];
    try {
      let i = 0;
      for (let at = start; at <= end; i ^= 1) {
        await sending[i];
        const piece = pieces[i]!;
        const { bytesRead } = await fh.read(piece, 0, Math.min(piece.length, end + 1 - at), at);
        if (bytesRead === 0) throw new Error(`xorb ${hash} is shorter than expected on disk`);
        const sent = send(piece.subarray(0, bytesRead));
        // Awaited when the piece comes round again (or at the end); a client that goes away meanwhile must not
        // leave the rejection unhandled until then (it would end the process).
        sent.catch(() => undefined);
        sending[i] = sent;
        at += bytesRead;
      }
      await Promise.all(sending);
    } finally {
      // A piece whose bytes may still be on their way is not reused.
      const settled = await Promise.allSettled(sending.map((p) => p ?? Promise.resolve()));
      settled.forEach((r, k) => r.status === "fulfilled" && givePiece(pieces[k]!));
      await fh.close();
    }
  }

  /** Reads bytes [start, endExclusive) of a stored xorb. */
  async read(hash: string, start: number, endExclusive: number): Promise<Buffer> {
    const fh = await open(this.path(hash), "r");
    try {
      const len = endExclusive - start;
      const buf = Buffer.allocUnsafe(len);
      let off = 0;
      while (off < len) {
        const { bytesRead } = await fh.read(buf, off, len - off, start + off);
        if (bytesRead === 0) throw new Error(`xorb ${hash} is shorter than expected on disk`);
        off += bytesRead;
      }
      return buf;
    } finally {
      await fh.close();
    }
  }

  async remove(hash: string): Promise<void> {
    await rm(this.path(hash), { force: true });
  }

  /**
   * Removes xorb files that have no database row: what a crash between the rename of a xorb and the
   * commit of its row leaves behind. Returns how many were removed.
   */
  async sweep(isKnown: (hash: string) => boolean): Promise<number> {
    let removed = 0;
    for (const hash of await this.list()) {
      if (!isKnown(hash)) {
        await this.remove(hash);
        removed++;
      }
    }
    return removed;
  }

  /** Every stored xorb hash (tests and diagnostics). */
  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const d of await readdir(this.#root).catch(() => [] as string[])) {
      for (const f of await readdir(join(this.#root, d)).catch(() => [] as string[])) out.push(f);
    }
    return out.sort();
  }
}

/** Bytes written between two background flushes of a temp file. */
const FLUSH_EVERY = 16 * 1024 * 1024;

/**
 * A xorb body written to its temp file as it arrives (positional writes, in any order), flushed to disk in
 * the background every 16 MiB so that little is left for the final fsync. `commit` makes it the stored
 * xorb exactly as `XorbFiles.write` does (fsync, rename, fsync of the directory); `discard` removes it (an
 * invalid body, or a xorb stored meanwhile).
 */
export class XorbTempFile {
  readonly #fh: FileHandle;
  readonly #tmp: string;
  readonly #dir: string;
  readonly #final: string;
  #writes: Promise<unknown>[] = [];
  #failed: unknown;
  #unflushed = 0;
  #done = false;

  constructor(fh: FileHandle, tmp: string, dir: string, final: string) {
    this.#fh = fh;
    this.#tmp = tmp;
    this.#dir = dir;
    this.#final = final;
  }

  /**
   * Writes `parts`, one after the other, at `position` (the caller keeps them unchanged until `commit` or
   * `discard`).
   */
  write(parts: readonly Uint8Array[], position: number): void {
    if (this.#done || this.#failed !== undefined) return;
    const p = writevFully(this.#fh, parts, position).catch((err: unknown) => {
      this.#failed ??= err;
    });
    this.#writes.push(p);
    for (const part of parts) this.#unflushed += part.length;
    if (this.#unflushed >= FLUSH_EVERY) {
      this.#unflushed = 0;
      // Start writing back what is written so far; the final fsync then has little left.
      const written = Promise.all(this.#writes);
      this.#writes = [written.then(() => this.#fh.datasync()).catch(() => {})];
    }
  }

  /** Waits for the writes, fsyncs, runs the test hook, renames over the final name, fsyncs the directory. */
  async commit(afterTempWrite?: () => Promise<void> | void): Promise<void> {
    this.#done = true;
    try {
      await Promise.all(this.#writes);
      if (this.#failed !== undefined) throw this.#failed;
      await this.#fh.sync();
    } catch (err) {
      await this.#fh.close().catch(() => {});
      await rm(this.#tmp, { force: true });
      throw err;
    }
    await this.#fh.close();
    try {
      await afterTempWrite?.();
      await rename(this.#tmp, this.#final);
    } catch (err) {
      await rm(this.#tmp, { force: true });
      throw err;
    }
    await fsyncDir(this.#dir);
  }

  /** Removes the temp file. */
  async discard(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await Promise.allSettled(this.#writes);
    await this.#fh.close().catch(() => {});
    await rm(this.#tmp, { force: true });
  }
}

/** Writes `parts` at `position` with vectored writes, continuing after short ones (a failed write throws). */
async function writevFully(fh: FileHandle, parts: readonly Uint8Array[], position: number): Promise<void> {
  let rest = parts.filter((p) => p.length > 0);
  let at = position;
  while (rest.length > 0) {
    let { bytesWritten: n } = await fh.writev(rest, at);
    at += n;
    while (rest.length > 0 && n >= rest[0]!.length) n -= rest.shift()!.length;
    if (n > 0) rest = [rest[0]!.subarray(n), ...rest.slice(1)];
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch {
    // Some platforms (Windows) cannot fsync a directory; the rename is still atomic there.
  } finally {
    await fh?.close().catch(() => {});
  }
}

/** Bytes of the pieces `sendRange` reads into. */
const PIECE_BYTES = 1024 * 1024;
/** Pieces kept between ranges (≈ 4 ranges served at once without allocating). */
const KEPT_PIECES = 8;
const freePieces: Buffer[] = [];
const takePiece = (): Buffer => freePieces.pop() ?? Buffer.allocUnsafeSlow(PIECE_BYTES);
const givePiece = (b: Buffer): void => void (freePieces.length < KEPT_PIECES && freePieces.push(b));
