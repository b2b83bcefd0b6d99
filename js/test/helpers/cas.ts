/**
 * The Xet CAS without the client: xorbs and shards built with the core and pushed over plain HTTP, downloads
 * through reconstructions and fetch URLs, hand-made shards with arbitrary terms, and data with a chunk the
 * protocol makes eligible for global dedup. For tests of the hub itself and of what the client must interoperate with.
 */
import assert from "node:assert/strict";
import {
  Chunker,
  decodeChunkRecords,
  initCore,
  isGlobalDedupEligible,
  rawToHex,
  UploadSession,
  type UploadSessionOptions,
} from "../../src/core/index.js";
import { seededBytes } from "./data.mjs";
import { batch, call, casToken, type HubLike } from "./hub.js";

export interface BuiltUpload {
  files: Array<{ hash: string; size: number }>;
  xorbs: Array<{ hash: string; data: Uint8Array; chunkCount: number }>;
  shards: Uint8Array[];
}

/**
 * Builds xorbs and shards for `datas` with the core, without talking to any server (no global dedup).
 * Small xorbs by default so that tests see several xorbs.
 */
export async function buildUpload(datas: Uint8Array[], options: UploadSessionOptions = {}): Promise<BuiltUpload> {
  await initCore();
  const s = new UploadSession({ compression: "lz4", ...options });
  const out: BuiltUpload = { files: [], xorbs: [], shards: [] };
  const take = () => {
    for (let x = s.takeXorb(); x; x = s.takeXorb()) out.xorbs.push({ hash: x.hash, data: x.data, chunkCount: x.chunkCount });
  };
  try {
    for (const data of datas) {
      s.startFile();
      for (let off = 0; off < data.length || off === 0; off += 1 << 20) {
        s.push(data.subarray(off, Math.min(data.length, off + (1 << 20))));
        for (const q of s.takeQueries()) s.answerQuery(q, undefined);
        take();
        if (data.length === 0) break;
      }
      for (const q of s.takeQueries()) s.answerQuery(q, undefined);
      s.resolve();
      const r = s.finishFile();
      out.files.push({ hash: r.hash, size: r.size });
      take();
    }
    s.flushXorb();
    take();
    for (let sh = s.takeShard(); sh; sh = s.takeShard()) out.shards.push(sh);
  } finally {
    s.free();
  }
  return out;
}

/** Uploads built xorbs (C4) and shards (C7 or C6) with a CAS token; asserts success. */
export async function pushUpload(hub: HubLike, casTok: string, built: BuiltUpload, shardVersion: 1 | 2 = 1): Promise<void> {
  for (const x of built.xorbs) {
    const r = await call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { token: casTok, body: x.data });
    assert.equal(r.status, 200, `xorb upload: ${r.text}`);
  }
  for (const sh of built.shards) {
    const r = await call(hub, "POST", `/v${shardVersion}/shards`, { token: casTok, body: sh });
    assert.equal(r.status, 200, `shard upload: ${r.text}`);
    if (shardVersion === 2) {
      const last = JSON.parse(r.text.trim().split("\n").pop()!);
      assert.equal(last.type, "result", r.text);
    }
  }
}

/**
 * Uploads files to a bucket the way a client does, with the core and plain HTTP (no client code): CAS upload, then
 * `addFile` lines. Returns their hashes.
 */
export async function uploadWithCore(
  hub: HubLike,
  bucket: string,
  token: string,
  files: Array<{ path: string; data: Uint8Array; mtime?: number; contentType?: string }>,
  options: UploadSessionOptions = {},
): Promise<Array<{ path: string; hash: string; size: number }>> {
  const built = await buildUpload(
    files.map((f) => f.data),
    options,
  );
  await pushUpload(hub, await casToken(hub, bucket, token, "write"), built);
  const res = await batch(
    hub,
    bucket,
    token,
    files.map((f, i) => ({
      type: "addFile",
      path: f.path,
      xetHash: built.files[i]!.hash,
      mtime: f.mtime ?? 1_700_000_000_000,
      contentType: f.contentType,
    })),
  );
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.failed, []);
  return files.map((f, i) => ({ path: f.path, hash: built.files[i]!.hash, size: built.files[i]!.size }));
}

/** Downloads bytes [first, last] (or the whole file) of a CAS file through a v1 or v2 reconstruction and its fetch URLs. */
export async function casDownload(
  hub: { url: string },
  casTok: string,
  fileHash: string,
  range?: [number, number],
  version: 1 | 2 = 2,
  multiRange = true,
): Promise<Uint8Array> {
  const headers: Record<string, string> = {};
  if (range) headers.Range = `bytes=${range[0]}-${range[1]}`;
  const rec = await call(hub, "GET", `/v${version}/reconstructions/${fileHash}`, { token: casTok, headers });
  assert.equal(rec.status, 200, rec.text);
  const j = rec.json;
  // chunk range data per xorb: key `${xorb}:${chunkIndex}` → decoded chunk
  const chunks = new Map<string, Uint8Array>();
  const store = (xorb: string, chunkStart: number, bytes: Uint8Array) => {
    const d = decodeChunkRecords(bytes);
    let off = 0;
    for (let i = 0; i < d.count; i++) {
      chunks.set(`${xorb}:${chunkStart + i}`, d.data.subarray(off, off + d.lengths[i]!));
      off += d.lengths[i]!;
    }
  };
  if (version === 2) {
    for (const [xorb, entries] of Object.entries(j.xorbs as Record<string, any[]>)) {
      for (const e of entries) {
        const ranges = e.ranges as Array<{ chunks: { start: number }; bytes: { start: number; end: number } }>;
        if (ranges.length > 1 && multiRange) {
          const r = await fetch(e.url, { headers: { Range: `bytes=${ranges.map((x) => `${x.bytes.start}-${x.bytes.end}`).join(",")}` } });
          assert.equal(r.status, 206);
          const parts = parseMultipart(new Uint8Array(await r.arrayBuffer()), r.headers.get("content-type")!);
          assert.equal(parts.length, ranges.length);
          parts.forEach((p, i) => store(xorb, ranges[i]!.chunks.start, p));
        } else {
          for (const x of ranges) {
            const r = await fetch(e.url, { headers: { Range: `bytes=${x.bytes.start}-${x.bytes.end}` } });
            assert.equal(r.status, 206);
            assert.equal(r.headers.get("content-range")?.startsWith(`bytes ${x.bytes.start}-${x.bytes.end}/`), true);
            store(xorb, x.chunks.start, new Uint8Array(await r.arrayBuffer()));
          }
        }
      }
    }
  } else {
    for (const [xorb, entries] of Object.entries(j.fetch_info as Record<string, any[]>)) {
      for (const e of entries) {
        const r = await fetch(e.url, { headers: { Range: `bytes=${e.url_range.start}-${e.url_range.end}` } });
        assert.equal(r.status, 206);
        store(xorb, e.range.start, new Uint8Array(await r.arrayBuffer()));
      }
    }
  }
  const parts: Uint8Array[] = [];
  for (const t of j.terms as Array<{ hash: string; unpacked_length: number; range: { start: number; end: number } }>) {
    let len = 0;
    for (let c = t.range.start; c < t.range.end; c++) {
      const d = chunks.get(`${t.hash}:${c}`);
      assert.ok(d, `chunk ${c} of ${t.hash} not fetched`);
      parts.push(d);
      len += d.length;
    }
    assert.equal(len, t.unpacked_length, "unpacked_length");
  }
  const all = Buffer.concat(parts);
  const start = j.offset_into_first_range as number;
  const want = range ? range[1] - range[0] + 1 : all.length - start;
  return new Uint8Array(all.subarray(start, start + want));
}

/** Splits a multipart/byteranges body into its parts' bodies. */
export function parseMultipart(body: Uint8Array, contentType: string): Uint8Array[] {
  const m = /boundary=([^;]+)/.exec(contentType);
  assert.ok(m, `no boundary in ${contentType}`);
  const delim = Buffer.from(`--${m[1]}`);
  const buf = Buffer.from(body);
  const parts: Uint8Array[] = [];
  let pos = buf.indexOf(delim);
  while (pos >= 0) {
    const after = pos + delim.length;
    if (buf.subarray(after, after + 2).toString() === "--") break;
    const headerEnd = buf.indexOf("\r\n\r\n", after);
    const next = buf.indexOf(Buffer.concat([Buffer.from("\r\n"), delim]), headerEnd);
    parts.push(new Uint8Array(buf.subarray(headerEnd + 4, next)));
    pos = next + 2;
  }
  return parts;
}

const SHARD_TAG = Uint8Array.from(Buffer.from("48465265706f4d6574614461746100556967456a7b815783a5bdd95ccdd14aa9", "hex"));

/** A stored xorb as the tests know it: hash plus its chunk hashes (raw, packed) and lengths. */
export interface KnownXorb {
  hash: string;
  hashes: Uint8Array;
  lengths: Uint32Array;
}

/**
 * Serializes an upload shard by hand (xet-protocol.md §5.7) so tests can register files with arbitrary
 * terms: each file is a list of terms `[xorb, start, end)`; its file hash and verification hashes are
 * computed with the core. `newXorbs` go into the xorb section.
 */
export function manualShard(
  core: typeof import("../../src/core/index.js"),
  files: Array<Array<{ xorb: KnownXorb; start: number; end: number }>>,
  newXorbs: KnownXorb[] = [],
): { shard: Uint8Array; fileHashes: string[]; sizes: number[] } {
  const recs: Uint8Array[] = [];
  const rec = () => {
    const r = new Uint8Array(48);
    recs.push(r);
    return { r, v: new DataView(r.buffer) };
  };
  const header = rec();
  header.r.set(SHARD_TAG, 0);
  header.v.setBigUint64(32, 2n, true);
  const fileHashes: string[] = [];
  const sizes: number[] = [];
  for (const terms of files) {
    let n = 0;
    for (const t of terms) n += t.end - t.start;
    const hashes = new Uint8Array(n * 32);
    const lengths = new Uint32Array(n);
    let k = 0;
    for (const t of terms) {
      hashes.set(t.xorb.hashes.subarray(t.start * 32, t.end * 32), k * 32);
      lengths.set(t.xorb.lengths.subarray(t.start, t.end), k);
      k += t.end - t.start;
    }
    const fileHash = terms.length ? core.fileHashFromChunks(hashes, lengths) : "0".repeat(64);
    fileHashes.push(fileHash);
    const h = rec();
    h.r.set(core.hexToRaw(fileHash), 0);
    h.v.setUint32(32, 0x80000000, true);
    h.v.setUint32(36, terms.length, true);
    let size = 0;
    for (const t of terms) {
      const e = rec();
      e.r.set(core.hexToRaw(t.xorb.hash), 0);
      let unpacked = 0;
      for (let c = t.start; c < t.end; c++) unpacked += t.xorb.lengths[c]!;
      size += unpacked;
      e.v.setUint32(36, unpacked, true);
      e.v.setUint32(40, t.start, true);
      e.v.setUint32(44, t.end, true);
    }
    sizes.push(size);
    for (const t of terms) {
      rec().r.set(core.hexToRaw(core.verificationHash(t.xorb.hashes.subarray(t.start * 32, t.end * 32))), 0);
    }
  }
  rec().r.fill(0xff, 0, 32);
  for (const x of newXorbs) {
    const h = rec();
    h.r.set(core.hexToRaw(x.hash), 0);
    h.v.setUint32(36, x.lengths.length, true);
    let total = 0;
    for (const l of x.lengths) total += l;
    h.v.setUint32(40, total, true);
    let off = 0;
    x.lengths.forEach((l, i) => {
      const e = rec();
      e.r.set(x.hashes.subarray(i * 32, i * 32 + 32), 0);
      e.v.setUint32(32, off, true);
      e.v.setUint32(36, l, true);
      off += l;
    });
  }
  rec().r.fill(0xff, 0, 32);
  return { shard: new Uint8Array(Buffer.concat(recs)), fileHashes, sizes };
}

/**
 * Random data (seeded) of `size` bytes with at least one global-dedup-eligible chunk (hash % 1024 == 0)
 * after `minOffset`: a CAS indexes such chunks as soon as their xorb is stored. Returns the seed and the
 * offsets of the eligible chunks.
 */
export async function dataWithEligibleChunk(
  size: number,
  minOffset: number,
  maxOffset = size,
  firstSeed = 1,
): Promise<{ seed: number; data: Uint8Array; offsets: number[] }> {
  await initCore();
  for (let seed = firstSeed; seed < firstSeed + 400; seed++) {
    const data = seededBytes(size, seed);
    const c = new Chunker();
    const chunks = [...c.update(data), ...c.finish()];
    c.free();
    const offsets: number[] = [];
    let off = 0;
    for (const ch of chunks) {
      if (off >= minOffset && off < maxOffset && isGlobalDedupEligible(rawToHex(ch.hashRaw))) offsets.push(off);
      off += ch.length;
    }
    if (offsets.length > 0) return { seed, data, offsets };
  }
  throw new Error("no seed gave an eligible chunk");
}
