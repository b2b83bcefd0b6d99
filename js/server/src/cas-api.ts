/**
 * The CAS side of the local hub (xet-protocol.md §6, §10): xorb and shard uploads checked with the
 * Rust core, global-dedup answers, reconstructions v1/v2, signed fetch URLs and file HEADs.
 */
import { createHash, randomBytes } from "node:crypto";
import { XetCoreError } from "xet-buckets";
import { isXetHash, MAX_XORB_BYTES, MAX_XORB_CHUNKS, ZERO_HASH, type XorbInfo } from "xet-buckets/core";
import type { CasClaims, CasScope } from "./auth.js";
import { casBase, nowSecs, type HubContext } from "./context.js";
import { HttpError, badRequest, bearerToken, readBody, sendJson, sent, streamBody, writeChunk, type RequestContext } from "./http.js";
import { parseRange, rangesCovered, type ByteRange } from "./ranges.js";
import type { XorbTempFile } from "./blobs.js";
import { planReconstruction, type XorbLayout } from "./reconstruction.js";
import { type ShardRegistration, type TermRow, type XorbRow } from "./store.js";

/**
 * Chunks the files of one shard may reference in all (2^25 ≈ 2 TiB of 64 KiB chunks): registering a file
 * costs time proportional to its chunks (sizes, verification and file hashes), so a small hostile shard
 * naming whole xorbs over and over must not occupy the hub for minutes.
 */
export const MAX_SHARD_CHUNK_REFS = 2 ** 25;
/** Fetch ranges per fetch URL in v2 answers (keeps URLs well below 8 KiB). */
const RANGES_PER_URL = 256;

// ------------------------------------------------------------------------------------------ helpers

/** Verifies the CAS token; `write` endpoints need a write token (403 for a read token). */
function casAuth(hub: HubContext, ctx: RequestContext, scope: CasScope): CasClaims {
  const claims = hub.auth.verifyCasToken(bearerToken(ctx.req), nowSecs(hub));
  if (claims.repoId !== undefined ? !hub.repos.getById(claims.repoId) : !hub.store.getBucketById(claims.bucketId)) {
    throw new HttpError(401, `the ${claims.repoId !== undefined ? "repository" : "bucket"} of this CAS token no longer exists`);
  }
  if (scope === "write" && claims.scope !== "write") {
    throw new HttpError(403, "this CAS token is read-only: get one from xet-write-token to upload");
  }
  return claims;
}

function hashParam(s: string, what: string): string {
  if (!isXetHash(s)) throw badRequest(`invalid ${what} ${JSON.stringify(String(s).slice(0, 100))}: expected 64 hexadecimal characters`);
  return s.toLowerCase();
}

function coreError(what: string, err: unknown): never {
  if (err instanceof XetCoreError) throw badRequest(`${what}: ${err.message} (${err.code})`);
  throw err;
}

// -------------------------------------------------------------------------------------- C4 / C5 xorbs

export async function uploadXorb(hub: HubContext, ctx: RequestContext, prefix: string, hashText: string): Promise<void> {
  casAuth(hub, ctx, "write");
  if (prefix !== "default") throw badRequest(`unknown xorb prefix ${JSON.stringify(prefix)}: use "default"`);
  const hash = hashParam(hashText, "xorb hash");
  const release = await hub.bodies.acquire(ctx.req, hub.config.limits.xorb);
  try {
    await receiveXorb(hub, ctx, hash);
  } finally {
    release();
  }
}

/** Parts of a xorb body handed to its temp file together, in one vectored write: 16 writes for a 64 MiB xorb. */
const WRITE_BYTES = 4 * 1024 * 1024;

/**
 * Receives a xorb body and verifies it as it arrives (every record decoded and hashed once complete, by the
 * core's `XorbVerifier`), writing a new xorb to its temp file meanwhile: the body is never held whole, nor
 * copied whole into the core. The checks and their errors are `parseXorb`'s of the whole body.
 */
async function receiveXorb(hub: HubContext, ctx: RequestContext, hash: string): Promise<void> {
  const verifier = new hub.core.XorbVerifier(hash);
  // A new xorb goes to its temp file while it arrives; it is renamed into place only once checked.
  let temp: XorbTempFile | undefined;
  try {
    temp = hub.store.xorbStoredBytes(hash) === undefined ? await hub.xorbs.begin(hash) : undefined;
  } catch (err) {
    verifier.free();
    throw err;
  }
  let pending: Buffer[] = [];
  let pendingAt = 0;
  let pendingBytes = 0;
  // A xorb stored already is written again only if it is deleted before this upload ends: its parts are kept.
  const kept: Buffer[] | undefined = temp ? undefined : [];
  try {
    const size = await streamBody(ctx, hub.config.limits.xorb, "xorb", (part, at) => {
      verifier.update(part);
      if (kept) return void kept.push(part);
      if (pendingBytes === 0) pendingAt = at;
      pending.push(part);
      pendingBytes += part.length;
      if (pendingBytes >= WRITE_BYTES) {
        temp!.write(pending, pendingAt);
        pending = [];
        pendingBytes = 0;
      }
    });
    if (pendingBytes > 0) temp!.write(pending, pendingAt);
    if (size === 0) throw badRequest("empty xorb body: a xorb holds at least one chunk");
    let info;
    try {
      info = verifier.finish();
    } catch (err) {
      coreError("invalid xorb", err);
    }
    await storeXorb(hub, ctx, hash, info, size, temp ?? (() => Buffer.concat(kept!, size)));
  } finally {
    verifier.free();
    await temp?.discard();
  }
}

/**
 * Stores a verified xorb (file and row) unless already stored, and answers. `body`: its temp file, or how
 * to get its bytes to write it.
 */
async function storeXorb(
  hub: HubContext,
  ctx: RequestContext,
  hash: string,
  info: XorbInfo,
  size: number,
  body: XorbTempFile | (() => Uint8Array),
): Promise<void> {
  if (info.count > MAX_XORB_CHUNKS) throw badRequest(`xorb has ${info.count} chunks; at most ${MAX_XORB_CHUNKS} are allowed`);
  if (info.rawBytes > MAX_XORB_BYTES) {
    throw badRequest(`xorb holds ${info.rawBytes} bytes of chunks; at most ${MAX_XORB_BYTES} are allowed`);
  }
  if (info.recordOffsets[info.count] !== size) {
    throw badRequest("xorb body has trailing bytes after its last chunk record");
  }
  let inserted = false;
  if (hub.store.xorbStoredBytes(hash) === undefined) {
    const hook = hub.config.hooks.afterXorbTempWrite;
    if (typeof body !== "function") await body.commit(hook && (() => hook(hash)));
    else await hub.xorbs.write(hash, body(), hook && (() => hook(hash)));
    const eligible: Array<{ hash: string; index: number }> = [];
    for (let i = 0; i < info.count; i++) {
      const h = hub.core.rawToHex(info.hashes.subarray(i * 32, i * 32 + 32));
      if (hub.core.isGlobalDedupEligible(h)) eligible.push({ hash: h, index: i });
    }
    const row: XorbRow = {
      hash,
      chunkCount: info.count,
      rawBytes: info.rawBytes,
      storedBytes: size,
      chunkHashes: info.hashes,
      chunkLengths: info.lengths,
      recordOffsets: info.recordOffsets,
    };
    try {
      inserted = hub.store.insertXorb(row, eligible, hub.now());
    } catch (err) {
      // Keep disk and database consistent: no stored file without its row.
      if (hub.store.xorbStoredBytes(hash) === undefined) await hub.xorbs.remove(hash);
      throw err;
    }
  }
  sendJson(ctx, 200, { was_inserted: inserted });
}

export function headXorb(hub: HubContext, ctx: RequestContext, hashText: string): void {
  casAuth(hub, ctx, "read");
  const hash = hashParam(hashText, "xorb hash");
  const size = hub.store.xorbStoredBytes(hash);
  if (size === undefined) throw new HttpError(404, `xorb ${hash} not found`);
  ctx.res.statusCode = 200;
  ctx.res.setHeader("Content-Length", String(size));
  ctx.res.setHeader("Content-Type", "application/octet-stream");
  ctx.res.end();
}

/** C2/C3: grants are not implemented; 404 makes hf_xet upload with C4 (xet-protocol.md §6.3). */
export function noGrants(_ctx: RequestContext): void {
  throw new HttpError(404, "xorb upload grants are not supported by the local hub: upload with POST /v1/xorbs/default/{hash}");
}

// ------------------------------------------------------------------------------------- C6 / C7 shards

/** Parses and checks an upload shard against the store; nothing is written. */
function validateShard(hub: HubContext, body: Buffer, claims: CasClaims): ShardRegistration {
  const { core, store } = hub;
  let shard;
  try {
    shard = core.parseShard(body);
  } catch (err) {
    coreError("invalid shard", err);
  }
  // An upload shard without footer ends with its xorb bookend (xet-protocol.md §5.7): nothing may follow.
  if (shard.footerSize === 0) {
    let end = 48 + 48;
    for (const f of shard.files) end += 48 * (1 + f.terms.length * (f.verification ? 2 : 1) + (f.sha256 ? 1 : 0));
    end += 48;
    for (const x of shard.xorbs) end += 48 * (1 + x.chunks.length);
    if (body.length !== end) throw badRequest(`invalid shard: ${body.length - end} bytes after the xorb section of a shard without footer`);
  }
  const xorbCache = new Map<string, XorbRow>();
  const xorb = (hash: string, where: string): XorbRow => {
    let x = xorbCache.get(hash);
    if (!x) {
      x = store.getXorb(hash);
      if (!x) throw badRequest(`${where} references xorb ${hash}, which is not stored: upload the xorb before the shard`);
      xorbCache.set(hash, x);
    }
    return x;
  };
  const allXorbs = new Set<string>();
  for (const sx of shard.xorbs) {
    const x = xorb(sx.hash, "the shard's xorb section");
    allXorbs.add(sx.hash);
    if (sx.chunks.length !== x.chunkCount) {
      throw badRequest(`the shard describes xorb ${sx.hash} with ${sx.chunks.length} chunks; the stored xorb has ${x.chunkCount}`);
    }
    sx.chunks.forEach((c, i) => {
      const stored = core.rawToHex(x.chunkHashes.subarray(i * 32, i * 32 + 32));
      if (c.hash !== stored || c.length !== x.chunkLengths[i]) {
        throw badRequest(`the shard's chunk ${i} of xorb ${sx.hash} does not match the stored xorb`);
      }
    });
  }
  const files: ShardRegistration["files"] = [];
  const seen = new Set<string>();
  let shardChunks = 0;
  for (const f of shard.files) {
    if (seen.has(f.hash)) continue; // like xet-core: the first entry of a file id wins
    seen.add(f.hash);
    if (f.terms.length === 0) {
      if (f.hash !== ZERO_HASH) throw badRequest(`file ${f.hash} has no terms; only the empty file (all zeros) may have none`);
      files.push({ hash: f.hash, size: 0, terms: [], firstChunk: null, sha256: f.sha256 ?? null });
      continue;
    }
    if (f.hash === ZERO_HASH) throw badRequest("the empty file id (all zeros) cannot have terms");
    if (!f.verification || f.verification.length !== f.terms.length) {
      throw badRequest(`file ${f.hash} lacks verification entries: every term needs one (xet-protocol.md §5.7)`);
    }
    // Every term is checked against its stored xorb before any work (or memory) proportional to its chunk
    // count: a hostile term such as [0, 2^32 - 1) must be a 400, not an allocation failure.
    let chunkTotal = 0;
    f.terms.forEach((t, i) => {
      const x = xorb(t.xorb, `term ${i} of file ${f.hash}`);
      allXorbs.add(t.xorb);
      if (!(t.start < t.end && t.end <= x.chunkCount)) {
        throw badRequest(
          `term ${i} of file ${f.hash}: chunk range [${t.start}, ${t.end}) is not inside xorb ${t.xorb} (${x.chunkCount} chunks)`,
        );
      }
      chunkTotal += t.end - t.start;
    });
    shardChunks += chunkTotal;
    if (shardChunks > MAX_SHARD_CHUNK_REFS) {
      throw badRequest(`the shard's files reference ${shardChunks} chunks; at most ${MAX_SHARD_CHUNK_REFS} are accepted in one shard`);
    }
    const terms: TermRow[] = [];
    let offset = 0;
    // The file hash is computed incrementally (O(log n) memory), term by term.
    const fileHash = new core.FileHashBuilder();
    let computed: string | undefined;
    try {
      f.terms.forEach((t, i) => {
        const x = xorbCache.get(t.xorb)!;
        let sum = 0;
        for (let c = t.start; c < t.end; c++) sum += x.chunkLengths[c]!;
        if (sum !== t.unpacked) {
          throw badRequest(`term ${i} of file ${f.hash}: unpacked size ${t.unpacked} does not match its chunks (${sum} bytes)`);
        }
        const termHashes = x.chunkHashes.subarray(t.start * 32, t.end * 32);
        if (core.verificationHash(termHashes) !== f.verification![i]!.toLowerCase()) {
          throw badRequest(`term ${i} of file ${f.hash}: wrong verification hash`);
        }
        fileHash.addChunks(termHashes, x.chunkLengths.subarray(t.start, t.end));
        terms.push({ offset, xorbHash: t.xorb, chunkStart: t.start, chunkEnd: t.end, unpacked: t.unpacked });
        offset += t.unpacked;
      });
    } finally {
      computed = fileHash.finish(); // also frees the builder's WebAssembly memory
    }
    if (!Number.isSafeInteger(offset)) throw badRequest(`file ${f.hash} is too large`);
    if (computed !== f.hash) {
      throw badRequest(`file ${f.hash}: the file hash does not match the chunks of its terms`);
    }
    const t0 = terms[0]!;
    const x0 = xorbCache.get(t0.xorbHash)!;
    files.push({
      hash: f.hash,
      size: offset,
      sha256: f.sha256 ?? null,
      terms,
      firstChunk: {
        hash: core.rawToHex(x0.chunkHashes.subarray(t0.chunkStart * 32, t0.chunkStart * 32 + 32)),
        xorb: t0.xorbHash,
        index: t0.chunkStart,
      },
    });
  }
  return {
    digest: createHash("sha256").update(body).digest("hex"),
    bucketId: claims.bucketId ?? null,
    repoId: claims.repoId ?? null,
    size: body.length,
    files,
    xorbs: [...allXorbs],
  };
}

export async function uploadShard(hub: HubContext, ctx: RequestContext, version: 1 | 2): Promise<void> {
  const claims = casAuth(hub, ctx, "write");
  const release = await hub.bodies.acquire(ctx.req, hub.config.limits.shard);
  try {
    await receiveShard(hub, ctx, version, claims);
  } finally {
    release();
  }
}

async function receiveShard(hub: HubContext, ctx: RequestContext, version: 1 | 2, claims: CasClaims): Promise<void> {
  const body = await readBody(ctx, hub.config.limits.shard, "shard");
  const reg = validateShard(hub, body, claims);
  // A repository's write token also records, with the files, the SHA-256 its commits may name them by.
  const repoId = reg.repoId;
  const alsoForRepo = repoId !== null ? () => hub.repos.recordShardFiles(repoId, reg.files) : undefined;
  if (version === 1) {
    const result = hub.store.registerShard(reg, hub.now(), alsoForRepo);
    sendJson(ctx, 200, { result });
    return;
  }
  // v2: NDJSON progress frames, then a terminal result or error event (xet-protocol.md §6.4).
  const { res } = ctx;
  res.statusCode = 200;
  res.setHeader("Content-Type", "application/x-ndjson");
  res.setHeader("Cache-Control", "no-cache");
  const frame = (o: unknown) => writeChunk(res, Buffer.from(`${JSON.stringify(o)}\n`));
  const total = reg.files.length + reg.xorbs.length;
  await frame({ type: "validating", verified: total, total });
  await frame({ type: "committing", stage: "uploading" });
  await frame({ type: "committing", stage: "syncing" });
  let terminal: unknown;
  try {
    terminal = { type: "result", result: hub.store.registerShard(reg, hub.now(), alsoForRepo) };
  } catch (err) {
    terminal = { type: "error", message: `could not register the shard: ${(err as Error).message}`, retryable: true };
  }
  await frame(terminal);
  res.end();
}

// --------------------------------------------------------------------------------- C1 global dedup

export function dedupQuery(hub: HubContext, ctx: RequestContext, prefix: string, hashText: string): void {
  casAuth(hub, ctx, "read");
  if (prefix !== "default" && prefix !== "default-merkledb") {
    throw badRequest(`unknown chunk prefix ${JSON.stringify(prefix)}: use "default"`);
  }
  const hash = hashParam(hashText, "chunk hash");
  const { config } = hub;
  // Policy "none": a CAS without global dedup; "xorb": only the xorb holding the chunk (the protocol's minimum).
  if (config.dedupAnswer === "none") throw new HttpError(404, "global deduplication is off on this hub (--dedup-answer none)");
  const hit = hub.store.dedupLookup(hash);
  if (!hit) throw new HttpError(404, "chunk not tracked for deduplication");
  const main = hub.store.getXorb(hit.xorbHash);
  if (!main) throw new HttpError(404, "chunk not tracked for deduplication");
  const builder = new hub.core.DedupShardBuilder();
  try {
    let bytes = 48 * 3 + 200;
    let count = 0;
    const add = (x: XorbRow) => {
      builder.addXorb(x.hash, x.chunkHashes, x.chunkLengths, x.storedBytes);
      bytes += 48 * (x.chunkCount + 1);
      count++;
    };
    add(main);
    for (const other of config.dedupAnswer === "shard" ? hub.store.companionXorbs(main.hash, 16) : []) {
      if (count >= config.dedupMaxXorbs) break;
      const x = hub.store.getXorb(other);
      if (!x) continue;
      if (bytes + 48 * (x.chunkCount + 1) > config.dedupMaxBytes) continue;
      add(x);
    }
  } catch (err) {
    try {
      builder.finish(undefined, 0, 0); // frees the builder's WebAssembly memory
    } catch {
      // already failed; the original error matters
    }
    throw err;
  }
  const now = nowSecs(hub);
  const shard = builder.finish(config.dedupHmac ? randomBytes(32) : undefined, now, now + config.dedupAnswerTtlSeconds);
  const { res } = ctx;
  res.statusCode = 200;
  res.setHeader("Content-Type", "application/octet-stream");
  res.setHeader("Content-Length", String(shard.length));
  res.end(shard);
}

// ------------------------------------------------------------------------------ C8 / C9 reconstructions

function readableFile(hub: HubContext, claims: CasClaims, id: string): { size: number } {
  if (id === ZERO_HASH) return { size: 0 };
  const f = hub.store.getCasFile(id);
  const may = claims.repoId !== undefined ? hub.repos.mayReadFile(claims.repoId, id) : hub.store.bucketMayReadFile(claims.bucketId, id);
  if (!f || !may) {
    throw new HttpError(404, `file ${id} not found (not registered, or not in the bucket or repository of this token)`);
  }
  return f;
}

export function reconstruction(hub: HubContext, ctx: RequestContext, version: 1 | 2, idText: string): void {
  const claims = casAuth(hub, ctx, "read");
  const id = hashParam(idText, "file id");
  const { size } = readableFile(hub, claims, id);
  if (size === 0) {
    sendJson(
      ctx,
      200,
      version === 2 ? { offset_into_first_range: 0, terms: [], xorbs: {} } : { offset_into_first_range: 0, terms: [], fetch_info: {} },
    );
    return;
  }
  const header = typeof ctx.req.headers.range === "string" ? ctx.req.headers.range : undefined;
  const range = parseRange(header, size);
  let first = 0;
  let last = size - 1;
  if (range.kind === "invalid") throw badRequest(`invalid Range header: ${range.reason}`);
  if (range.kind === "unsatisfiable") {
    throw new HttpError(416, `range not satisfiable: the file has ${size} bytes`, { headers: { "Content-Range": `bytes */${size}` } });
  }
  if (range.kind === "ranges") {
    if (range.ranges.length !== 1) throw badRequest("reconstructions accept a single byte range");
    first = range.ranges[0]!.start;
    last = range.ranges[0]!.end;
  }
  const layouts = new Map<string, XorbLayout>();
  const layout = (hash: string): XorbLayout => {
    let l = layouts.get(hash);
    if (!l) {
      const x = hub.store.getXorb(hash);
      if (!x) throw new Error(`xorb ${hash} of file ${id} is missing from the database`);
      l = { chunkLengths: x.chunkLengths, recordOffsets: x.recordOffsets };
      layouts.set(hash, l);
    }
    return l;
  };
  const plan = planReconstruction(hub.store.termsInRange(id, first, last), first, last, layout);
  const exp = nowSecs(hub) + hub.config.fetchUrlTtlSeconds;
  const base = casBase(hub, ctx);
  const url = (xorb: string, ranges: Array<[number, number]>) => `${base}/fetch/${xorb}?${hub.auth.signFetch(xorb, ranges, exp)}`;
  if (version === 2) {
    const xorbs: Record<string, unknown[]> = {};
    for (const [hash, runs] of plan.fetch) {
      const entries: unknown[] = [];
      for (let i = 0; i < runs.length; i += RANGES_PER_URL) {
        const part = runs.slice(i, i + RANGES_PER_URL);
        entries.push({
          url: url(
            hash,
            part.map((r) => [r.bytes.start, r.bytes.end]),
          ),
          ranges: part,
        });
      }
      xorbs[hash] = entries;
    }
    sendJson(ctx, 200, { offset_into_first_range: plan.offsetIntoFirstRange, terms: plan.terms, xorbs });
    return;
  }
  const fetchInfo: Record<string, unknown[]> = {};
  for (const [hash, runs] of plan.fetch) {
    fetchInfo[hash] = runs.map((r) => ({
      range: r.chunks,
      url: url(hash, [[r.bytes.start, r.bytes.end]]),
      url_range: r.bytes,
    }));
  }
  sendJson(ctx, 200, { offset_into_first_range: plan.offsetIntoFirstRange, terms: plan.terms, fetch_info: fetchInfo });
}

/** C11 `HEAD /v1/files/{id}`. */
export function headFile(hub: HubContext, ctx: RequestContext, idText: string): void {
  const claims = casAuth(hub, ctx, "read");
  const id = hashParam(idText, "file id");
  const { size } = readableFile(hub, claims, id);
  ctx.res.statusCode = 200;
  ctx.res.setHeader("Content-Length", String(size));
  ctx.res.end();
}

// ------------------------------------------------------------------------------------ C14 fetch URLs

export async function fetchXorb(hub: HubContext, ctx: RequestContext, hashText: string): Promise<void> {
  const hash = hashParam(hashText, "xorb hash");
  const signed = hub.auth.verifyFetch(hash, ctx.url.searchParams, nowSecs(hub));
  const size = hub.store.xorbStoredBytes(hash);
  if (size === undefined) throw new HttpError(404, `xorb ${hash} not found`);
  const header = typeof ctx.req.headers.range === "string" ? ctx.req.headers.range : undefined;
  const range = parseRange(header, size);
  if (range.kind === "none") throw badRequest("fetch URLs need a Range header with the byte ranges of the reconstruction");
  if (range.kind === "invalid") throw badRequest(`invalid Range header: ${range.reason}`);
  if (range.kind === "unsatisfiable") {
    throw new HttpError(416, "range not satisfiable", { headers: { "Content-Range": `bytes */${size}` } });
  }
  if (!rangesCovered(range.ranges, signed)) {
    throw new HttpError(403, "the requested bytes are outside the ranges this URL was signed for");
  }
  const { res } = ctx;
  res.statusCode = 206;
  res.setHeader("Accept-Ranges", "bytes");
  if (range.ranges.length === 1) {
    const r = range.ranges[0]!;
    res.setHeader("Content-Type", "application/octet-stream");
    res.setHeader("Content-Range", `bytes ${r.start}-${r.end}/${size}`);
    res.setHeader("Content-Length", String(r.end - r.start + 1));
    if (ctx.method === "HEAD") return void res.end();
    await pipeRange(hub, ctx, hash, r);
    res.end();
    return;
  }
  const boundary = `xetbuckets-${randomBytes(12).toString("hex")}`;
  const heads = range.ranges.map(
    (r) => `\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`,
  );
  const tail = `\r\n--${boundary}--\r\n`;
  let length = Buffer.byteLength(tail);
  range.ranges.forEach((r, i) => (length += Buffer.byteLength(heads[i]!) + r.end - r.start + 1));
  res.setHeader("Content-Type", `multipart/byteranges; boundary=${boundary}`);
  res.setHeader("Content-Length", String(length));
  if (ctx.method === "HEAD") return void res.end();
  for (let i = 0; i < range.ranges.length; i++) {
    await writeChunk(res, Buffer.from(heads[i]!));
    await pipeRange(hub, ctx, hash, range.ranges[i]!);
  }
  await writeChunk(res, Buffer.from(tail));
  res.end();
}

async function pipeRange(hub: HubContext, ctx: RequestContext, hash: string, r: ByteRange): Promise<void> {
  await hub.xorbs.sendRange(hash, r.start, r.end, (bytes) => sent(ctx.res, bytes));
}

/** C13: accepted and dropped. */
export async function telemetry(hub: HubContext, ctx: RequestContext): Promise<void> {
  await readBody(ctx, 1024 * 1024, "telemetry body");
  sendJson(ctx, 200, {});
}
