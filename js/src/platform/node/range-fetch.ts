/**
 * A `fetch` for the xorb range requests of downloads (Node): plain GETs over kept-alive HTTP/1.1 connections
 * (`node:net`, `node:tls`) whose answers are read in place. Each connection reads into one buffer of its own,
 * reused for every network read (`onread`), and a successful answer's body is handed to the caller as views
 * of that buffer (`inPlaceBody`): no allocation per network read, no stream machinery per chunk. A reader that
 * names its own memory for the next bytes (`InPlaceTarget`) has them read there directly, without that copy. Measured on
 * 1 GiB from a local hub: about 0.3 s of CPU where `fetch` (undici) spends about 1.2 s, its per-chunk
 * buffers keeping V8's collector busy on other threads as well.
 *
 * Only the simple case is handled here: an answer with a `Content-Length` body (what CAS and object stores
 * send for ranges). The fetch of `rangeFetch(true)` reads answers of more than 64 KiB in place; every other
 * answer comes back as an ordinary `Response`, read whole (`rangeFetch(false)`: all of them, for small JSON
 * answers such as reconstructions). Anything else — a redirect, a chunked or encoded body, a 1xx — is asked again through the
 * runtime's `fetch`, which handles everything; so is a request a kept-alive connection lost before any byte
 * of the answer. Answers other than 2xx come back as ordinary `Response`s with their (small) body.
 *
 * Uploads take it too (`rangeFetch(false)`): a POST or PUT whose body is bytes, or a stream with its
 * `Content-Length` declared, is written to the connection piece by piece (the next piece is pulled once the
 * socket took the last), and its answer read whole. Measured on 640 MiB of xorb bodies to a local server: about
 * 0.15 s of CPU where `fetch` spends about 0.45. The request cannot be asked again once its stream was read,
 * so any answer is read here: chunked, close-delimited or compressed answers too, and an error answer that comes
 * before the body is sent stops the sending (the connection is then not kept).
 *
 * Not used where requests must take another route: when a proxy is configured (`HTTP_PROXY`, `HTTPS_PROXY`,
 * `ALL_PROXY`, `NODE_USE_ENV_PROXY`) or a global undici dispatcher is installed, and outside Node (see
 * `rangeFetch` in ../node.ts). Callers that pass their own `fetch` keep it.
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import type { InPlaceBody, InPlaceData, InPlaceTarget } from "../types.js";

/** Bytes each connection reads at once into its buffer. */
const READ_BUFFER_BYTES = 256 * 1024;
/** A response head larger than this is refused (the connection is dropped, the request goes through `fetch`). */
const MAX_HEAD_BYTES = 64 * 1024;
/** A non-2xx answer's body is kept up to this size (for the error message). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** 2xx answers up to this size are read whole into an ordinary `Response`, even where larger ones are read in place. */
const SMALL_BODY_BYTES = 64 * 1024;
/** Idle connections kept per origin. */
const MAX_IDLE_PER_ORIGIN = 16;
/** An idle connection is closed after this long (servers close theirs after about 5 s). */
const IDLE_MS = 4000;
/**
 * A request whose body is a stream takes an idle connection only if it was parked this recently: a request that
 * fails because the server closed the connection meanwhile can no longer be asked again here once its stream
 * was read (the caller's retry does, with a new body).
 */
const FRESH_IDLE_MS = 1000;
/** Answers to uploads read without a `Content-Length` (chunked, close-delimited) are refused beyond this size. */
const MAX_UNFRAMED_BODY_BYTES = 1024 * 1024;

const IN_PLACE = Symbol("xet-buckets in-place body");

/** The in-place body of a 2xx answer of `rangeFetch`, or undefined for any other response. */
export function inPlaceBody(res: Response): InPlaceBody | undefined {
  return (res as Response & { [IN_PLACE]?: InPlaceBody })[IN_PLACE];
}

/** Why a request goes through `fetch` instead (never an error of the request itself). */
class Fallback extends Error {}

/** An error the body's reader threw: it reaches the caller of `read` as it is. */
class ReaderError extends Error {
  constructor(readonly error: unknown) {
    super("the reader failed");
  }
}

interface Head {
  status: number;
  statusText: string;
  headers: Headers;
  /** Content-Length; -1 when the answer has none (it is chunked, or ends when the connection closes). */
  length: number;
  /** The body is sent in chunks (`Transfer-Encoding: chunked`). */
  chunked: boolean;
  /** The body's `Content-Encoding`, when not identity. */
  encoding: string | undefined;
  /** The connection may carry another request once the body is read. */
  keepAlive: boolean;
}

/** Whether this module reads the answer of a GET itself: a 2xx or an error with a plain `Content-Length` body. */
function plainAnswer(h: Head): boolean {
  // Redirects, informational answers, chunked or encoded bodies, no length: `fetch` knows them all.
  return h.status >= 200 && (h.status < 300 || h.status >= 400) && !h.chunked && h.encoding === undefined && h.length >= 0;
}

/** A request body this module sends itself: bytes, or a stream whose length the caller declared. */
type OutBody = { bytes: Uint8Array } | { stream: ReadableStream<Uint8Array> };

/**
 * One HTTP/1.1 connection. Its `onread` callback feeds the current exchange: first the response head (copied
 * out, it is small), then the body, as views of the read buffer.
 */
class Connection {
  readonly socket: Socket;
  readonly origin: string;
  /** The connection carried an exchange before (a server may have closed it meanwhile). */
  reused = false;
  /** When the connection was last parked (`performance.now()`). */
  parkedAt = 0;
  /** A plain Uint8Array, not a Buffer: the views handed out must copy on `slice()`, as a Uint8Array's do. */
  #buffer = new Uint8Array(READ_BUFFER_BYTES);
  /** What the bytes read go to; undefined while idle (bytes then make the connection unusable). */
  #sink: ((bytes: Uint8Array) => boolean) | undefined;
  /** Where the body being read wants its next bytes (`InPlaceTarget`), when it says. */
  #target: (() => Uint8Array | undefined) | undefined;
  #closed: Error | undefined;
  #onClose: ((err: Error) => void) | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(url: URL, origin: string) {
    this.origin = origin;
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const https = url.protocol === "https:";
    const port = Number(url.port) || (https ? 443 : 80);
    const onread = {
      // Asked after each read for the memory of the next one: the body's own place for its bytes when it has one
      // (they are read there, no copy), else this connection's buffer. Node keeps only a raw pointer to it until
      // the next read, hence the rules of `InPlaceTarget`.
      buffer: (): Uint8Array => this.#target?.() ?? this.#buffer,
      callback: (n: number, buf: Uint8Array): boolean => {
        if (!this.#sink) {
          // Bytes nobody asked for: this connection can no longer be trusted.
          this.socket.destroy();
          return false;
        }
        return this.#sink(buf.subarray(0, n));
      },
    };
    this.socket = https
      ? tlsConnect({ host, port, servername: host, ALPNProtocols: ["http/1.1"], onread } as ConnectionOptions)
      : netConnect({ host, port, onread });
    this.socket.setNoDelay(true);
    const closed = (err: Error) => {
      this.#closed ??= err;
      this.#clearIdle();
      this.#onClose?.(this.#closed);
    };
    this.socket.on("error", closed);
    this.socket.on("close", () => closed(new Error("the connection closed")));
    this.socket.on("end", () => closed(new Error("the server closed the connection")));
  }

  get usable(): boolean {
    return this.#closed === undefined && !this.socket.destroyed;
  }

  /** Parks the connection until `take` (closing it after IDLE_MS); unref'd so that it keeps nothing alive. */
  park(onExpire: () => void): void {
    this.parkedAt = performance.now();
    this.#sink = undefined;
    this.#onClose = () => onExpire();
    this.socket.unref();
    this.#idleTimer = setTimeout(() => {
      onExpire();
      this.socket.destroy();
    }, IDLE_MS);
    this.#idleTimer.unref?.();
  }

  take(): void {
    this.#clearIdle();
    this.#onClose = undefined;
    this.socket.ref();
  }

  #clearIdle(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /**
   * Sends the request (and its body, `out` of `length` bytes) and reads the answer's head; the rest of what was
   * read with it stays for `body`. Rejects with `Fallback` when the answer to a request without a body is not one
   * this module reads itself (`plainAnswer`). `early`: the answer came before the body was all sent (then the
   * sending stops and the connection must not be kept).
   */
  exchange(request: string, signal: AbortSignal, out?: OutBody, length = 0): Promise<{ head: Head; rest: Uint8Array; early: boolean }> {
    return new Promise((resolve, reject) => {
      let head = Buffer.alloc(0);
      let answered = false;
      let sent = out === undefined;
      const fail = (err: Error) => {
        if (answered) return;
        answered = true;
        this.#sink = undefined;
        this.#onClose = undefined;
        signal.removeEventListener("abort", onAbort);
        this.socket.destroy();
        reject(err);
      };
      const onAbort = () => fail(signal.reason as Error);
      signal.addEventListener("abort", onAbort, { once: true });
      this.#onClose = fail;
      this.#sink = (bytes) => {
        // Usually the whole head comes in the first read: it is looked for there, without a copy.
        let start = Math.max(0, head.length - 3);
        let all = head.length === 0 ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length) : Buffer.concat([head, bytes]);
        for (;;) {
          const end = all.indexOf("\r\n\r\n", start);
          if (end < 0) {
            if (all.length > MAX_HEAD_BYTES) fail(new Fallback("response head too large"));
            else head = Buffer.from(all);
            return true;
          }
          let parsed: Head;
          try {
            parsed = parseHead(all.toString("latin1", 0, end));
            if (out === undefined && !plainAnswer(parsed)) throw new Fallback(`answer ${parsed.status} not read in place`);
          } catch (err) {
            fail(err as Error);
            return false;
          }
          if (parsed.status < 200 && parsed.status !== 101) {
            // An interim answer (100 Continue, 103 Early Hints): the final one follows.
            all = all.subarray(end + 4);
            start = 0;
            head = Buffer.alloc(0);
            if (all.length === 0) return true;
            continue;
          }
          // Stop here: the socket pauses, so the read buffer keeps what came after the head (a view of it goes
          // to `body()`, which hands it on before it resumes the socket).
          answered = true;
          this.#sink = undefined;
          this.#onClose = undefined;
          signal.removeEventListener("abort", onAbort);
          resolve({ head: parsed, rest: new Uint8Array(all.buffer, all.byteOffset + end + 4, all.length - end - 4), early: !sent });
          return false;
        }
      };
      if (this.#closed) return fail(this.#closed);
      this.socket.write(request);
      // A kept-alive connection was paused after its last body.
      this.socket.resume();
      if (out !== undefined) {
        // A write error after the answer came changes nothing: the answer is what counts.
        this.#send(
          out,
          length,
          () => answered,
          () => void (sent = true),
        ).catch((err: unknown) => fail(err as Error));
      }
    });
  }

  /**
   * Writes a request body, pulling the next piece of a stream once the socket took the last one (so the caller
   * may reuse a piece's memory when it is asked for the next). Stops when `stop()` says so (the answer came);
   * `written()` once every byte was handed to the socket.
   */
  async #send(out: OutBody, length: number, stop: () => boolean, written: () => void): Promise<void> {
    if ("bytes" in out) {
      const w = out.bytes.length > 0 ? this.#write(out.bytes) : undefined;
      written();
      await w;
      return;
    }
    const reader = out.stream.getReader();
    let sent = 0;
    try {
      for (;;) {
        if (stop()) {
          await reader.cancel();
          return;
        }
        const { done, value } = await reader.read();
        if (done) break;
        if (!(value instanceof Uint8Array)) throw new TypeError("a request body stream gave something else than a Uint8Array");
        sent += value.length;
        if (sent > length) throw new Error(`the request body is longer than its Content-Length (${length})`);
        if (value.length > 0 && !stop()) {
          const w = this.#write(value);
          if (sent === length) written();
          await w;
        }
      }
    } catch (err) {
      reader.cancel(err).catch(() => undefined);
      throw err;
    }
    if (sent !== length) throw new Error(`the request body ended after ${sent} of its ${length} bytes (Content-Length)`);
  }

  /** Writes bytes; resolves once the socket took them (at once, or when it drained). */
  #write(bytes: Uint8Array): Promise<void> | undefined {
    if (this.#closed || this.socket.destroyed) return Promise.reject(this.#closed ?? new Error("the connection closed"));
    if (this.socket.write(bytes)) return undefined;
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        this.socket.off("drain", onDrain);
        this.socket.off("close", onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(this.#closed ?? new Error("the connection closed"));
      this.socket.on("drain", onDrain);
      this.socket.on("close", onClose);
    });
  }

  /**
   * Reads a body of `length` bytes whole, keeping at most `cap` of them (the connection is dropped past the cap);
   * `true` with the bytes when all of the body was read.
   */
  async whole(rest: Uint8Array, length: number, cap: number, signal: AbortSignal): Promise<[Uint8Array, boolean]> {
    const chunks: Uint8Array[] = [];
    let kept = 0;
    const how = await this.body(
      rest,
      length,
      (bytes) => {
        if (kept < cap) chunks.push(bytes.slice(0, cap - kept));
        kept += bytes.length;
        return kept >= cap && kept < length ? false : undefined;
      },
      signal,
      DEFAULT_BODY_STALL_MS,
    );
    return [Buffer.concat(chunks), how === "done"];
  }

  /**
   * Reads an answer's body that has no `Content-Length` (chunked, or ending when the connection closes), whole,
   * under `signal` and the stall clock (its `Content-Encoding` is the caller's to undo). At most
   * `MAX_UNFRAMED_BODY_BYTES`.
   */
  unframed(rest: Uint8Array, head: Head, signal: AbortSignal, stallMs: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      let got = Buffer.from(rest);
      let stall: ReturnType<typeof setTimeout> | undefined;
      let settled = false;
      const finish = (result: Uint8Array | Error) => {
        if (settled) return;
        settled = true;
        if (stall !== undefined) clearTimeout(stall);
        this.#sink = undefined;
        this.#onClose = undefined;
        signal.removeEventListener("abort", onAbort);
        if (result instanceof Error) {
          this.socket.destroy();
          reject(result);
        } else resolve(result);
      };
      const onAbort = () => finish(signal.reason as Error);
      const arm = () => {
        if (stall !== undefined) clearTimeout(stall);
        stall = setTimeout(() => finish(new Error(`stalled (no data moved for ${stallMs} ms)`)), stallMs);
      };
      const check = (): boolean => {
        if (got.length > MAX_UNFRAMED_BODY_BYTES) {
          finish(new Error(`an answer of more than ${MAX_UNFRAMED_BODY_BYTES} bytes without a Content-Length`));
          return false;
        }
        if (!head.chunked) return true;
        let body: Buffer | undefined;
        try {
          body = dechunk(got);
        } catch (err) {
          finish(err as Error);
          return false;
        }
        if (body === undefined) return true;
        finish(body);
        return false;
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      // Without chunks the body ends with the connection.
      this.#onClose = (err) => (head.chunked ? finish(err) : finish(got));
      this.#sink = (bytes) => {
        got = Buffer.concat([got, bytes]);
        arm();
        return check();
      };
      if (!check()) return;
      if (this.#closed) return this.#onClose(this.#closed);
      arm();
      this.socket.resume();
    });
  }

  /**
   * Reads `length` body bytes (the first of them in `rest`) into `onData`, under `signal` and a stall clock
   * (`stallMs` without a byte while the body is wanted). Resolves once the body is read (the connection can
   * then carry another request) or when `onData` asked to stop (the connection is dropped).
   */
  body(
    rest: Uint8Array,
    length: number,
    onData: InPlaceData,
    signal: AbortSignal,
    stallMs: number,
    target?: InPlaceTarget,
  ): Promise<"done" | "stopped"> {
    return new Promise((resolve, reject) => {
      let left = length;
      let stall: ReturnType<typeof setTimeout> | undefined;
      let settled = false;
      const arm = () => {
        if (stall !== undefined) clearTimeout(stall);
        stall = setTimeout(() => fail(new Error(`stalled (no data moved for ${stallMs} ms)`)), stallMs);
      };
      const disarm = () => {
        if (stall !== undefined) clearTimeout(stall);
        stall = undefined;
      };
      const finish = (how: "done" | "stopped" | Error) => {
        if (settled) return;
        settled = true;
        disarm();
        this.#sink = undefined;
        this.#target = undefined;
        this.#onClose = undefined;
        signal.removeEventListener("abort", onAbort);
        if (how instanceof Error) {
          this.socket.destroy();
          reject(how);
        } else {
          if (how === "stopped") this.socket.destroy();
          resolve(how);
        }
      };
      const fail = (err: Error) => finish(err);
      const onAbort = () => fail(signal.reason as Error);
      /** Hands bytes on; false when the socket must pause (the consumer asked for it, or it is done). */
      const deliver = (bytes: Uint8Array): boolean => {
        if (settled) return false;
        const n = Math.min(bytes.length, left);
        if (bytes.length > n) {
          // More than the body: the server is not speaking the protocol we expect.
          fail(new Error(`${bytes.length - n} bytes after the end of the body`));
          return false;
        }
        left -= n;
        let r: ReturnType<InPlaceData>;
        try {
          r = onData(bytes);
        } catch (err) {
          fail(new ReaderError(err));
          return false;
        }
        if (r === false) {
          finish("stopped");
          return false;
        }
        if (left === 0) {
          finish("done");
          return false;
        }
        if (r instanceof Promise) {
          // The consumer is busy: pause (and stop the stall clock) until it is ready.
          disarm();
          r.then(
            () => {
              if (settled) return;
              arm();
              this.socket.resume();
            },
            (err: unknown) => fail(new ReaderError(err)),
          );
          return false;
        }
        arm();
        return true;
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#onClose = (err) => fail(err);
      this.#sink = deliver;
      if (target) {
        this.#target = () => {
          if (settled || left === 0) return undefined;
          // Reads no larger than into the connection's buffer: measured on 1 GiB, reads of whole windows (MiBs at
          // once from the socket) left the decoding in bursts and the process 25-35 MiB larger, for no speed.
          const max = Math.min(left, READ_BUFFER_BYTES);
          let view: Uint8Array | undefined;
          try {
            view = target(max);
          } catch {
            return undefined; // a reader that cannot say takes the bytes as views of the connection's buffer
          }
          return view && view.length > 0 ? view.subarray(0, max) : undefined;
        };
      }
      if (this.#closed) return fail(this.#closed);
      if (length === 0) return finish("done");
      if (rest.length > 0 && !deliver(rest)) return;
      arm();
      this.socket.resume();
    });
  }
}

function parseHead(text: string): Head {
  const lines = text.split("\r\n");
  const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0] ?? "");
  if (!m) throw new Fallback(`not an HTTP/1.x answer: ${JSON.stringify((lines[0] ?? "").slice(0, 80))}`);
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i <= 0) throw new Fallback("malformed header line");
    headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const status = Number(m[2]);
  const cl = headers.get("content-length");
  const te = (headers.get("transfer-encoding") ?? "").toLowerCase();
  const ce = (headers.get("content-encoding") ?? "identity").toLowerCase();
  if (te !== "" && te !== "chunked") throw new Fallback(`transfer encoding ${te}`);
  if (cl !== null && !/^\d+$/.test(cl)) throw new Fallback("malformed Content-Length");
  const conn = (headers.get("connection") ?? "").toLowerCase();
  const chunked = te === "chunked";
  const keepAlive = (m[1] === "1" ? !conn.includes("close") : conn.includes("keep-alive")) && (chunked || cl !== null);
  return {
    status,
    statusText: m[3] ?? "",
    headers,
    // Answers that never have a body (RFC 9110 §6.4.1).
    length: status === 204 || status === 304 ? 0 : chunked || cl === null ? -1 : Number(cl),
    chunked,
    encoding: ce === "identity" ? undefined : ce,
    keepAlive,
  };
}

/** The body of a chunked answer once all of it is in `data` (trailers ignored); undefined while it is not. */
function dechunk(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf("\r\n", at);
    if (eol < 0) return undefined;
    const size = parseInt(data.toString("latin1", at, eol).split(";")[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0) throw new Error("malformed chunked answer");
    if (size === 0) {
      // The last chunk, then trailers up to an empty line.
      if (data.indexOf("\r\n\r\n", eol) < 0) return undefined;
      return Buffer.concat(parts);
    }
    if (data.length < eol + 2 + size + 2) return undefined;
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** Undoes an answer's `Content-Encoding`. */
function decoded(body: Uint8Array, encoding: string | undefined): Uint8Array {
  switch (encoding) {
    case undefined:
      return body;
    case "gzip":
    case "x-gzip":
      return gunzipSync(body);
    case "deflate":
      return inflateSync(body);
    case "br":
      return brotliDecompressSync(body);
    default:
      throw new Error(`an answer in an unknown Content-Encoding (${encoding})`);
  }
}

/** Idle connections by origin. */
const idle = new Map<string, Connection[]>();

/** The idle connection to `origin` parked last, if any was parked within `maxAgeMs`. */
function takeIdle(origin: string, maxAgeMs: number): Connection | undefined {
  const list = idle.get(origin);
  while (list && list.length > 0) {
    if (performance.now() - list[list.length - 1]!.parkedAt > maxAgeMs) return undefined;
    const c = list.pop()!;
    if (c.usable) {
      c.take();
      return c;
    }
  }
  return undefined;
}

function park(c: Connection): void {
  if (!c.usable) return;
  const list = idle.get(c.origin) ?? [];
  if (list.length >= MAX_IDLE_PER_ORIGIN) {
    c.socket.destroy();
    return;
  }
  list.push(c);
  idle.set(c.origin, list);
  c.reused = true;
  c.park(() => {
    const i = list.indexOf(c);
    if (i >= 0) list.splice(i, 1);
  });
}

/** The request's head; `length`: its body's, when it has one. */
function requestText(method: string, url: URL, headers: Headers, length: number | undefined): string {
  let text = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n`;
  headers.forEach((value, name) => {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new TypeError(`invalid header ${name}`);
    if (name !== "host" && name !== "connection" && name !== "content-length") text += `${name}: ${value}\r\n`;
  });
  if (length !== undefined) text += `Content-Length: ${length}\r\n`;
  return text + "Connection: keep-alive\r\n\r\n";
}

/**
 * The body of a POST or PUT as this module sends it, and its length; undefined when `fetch` must send it (a Blob,
 * form data, a stream without a declared length, a declared length the bytes do not have).
 */
function outBody(body: RequestInit["body"], headers: Headers): { out: OutBody; length: number } | undefined {
  const declared = headers.get("content-length");
  let bytes: Uint8Array | undefined;
  if (body == null) bytes = new Uint8Array(0);
  else if (typeof body === "string") {
    bytes = Buffer.from(body);
    if (!headers.has("content-type")) headers.set("content-type", "text/plain;charset=UTF-8");
  } else if (body instanceof Uint8Array) bytes = body;
  else if (body instanceof ArrayBuffer) bytes = new Uint8Array(body);
  else if (body instanceof ReadableStream) {
    if (declared === null || !/^\d+$/.test(declared)) return undefined;
    return { out: { stream: body as ReadableStream<Uint8Array> }, length: Number(declared) };
  }
  if (bytes === undefined || (declared !== null && declared !== String(bytes.length))) return undefined;
  return { out: { bytes }, length: bytes.length };
}

/** The stall clock of in-place bodies when the caller gives none. */
export const DEFAULT_BODY_STALL_MS = 30_000;

/**
 * A `fetch` for GETs and uploads (see the module documentation). With `inPlace`, the 2xx answers to GETs larger
 * than 64 KiB have a null `body`: read them with `inPlaceBody(res).read(onData)`. Other answers are ordinary
 * responses.
 */
export function rangeFetch(inPlace: boolean): typeof fetch {
  return inPlace ? IN_PLACE_FETCH : WHOLE_FETCH;
}

/** The two fetches, one of each kind for the process (callers recognise them: `isRangeFetch`). */
const IN_PLACE_FETCH = ((input: string | URL | Request, init?: RequestInit) => get(input, init ?? {}, true)) as typeof fetch;
const WHOLE_FETCH = ((input: string | URL | Request, init?: RequestInit) => get(input, init ?? {}, false)) as typeof fetch;

/** True for a fetch of `rangeFetch` (a caller's options may carry one). */
export function isRangeFetch(f: unknown): boolean {
  return f === IN_PLACE_FETCH || f === WHOLE_FETCH;
}

async function get(input: string | URL | Request, init: RequestInit, inPlace: boolean): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : input);
  const method = (init.method ?? "GET").toUpperCase();
  if ((url.protocol !== "http:" && url.protocol !== "https:") || input instanceof Request) return fetch(input, init);
  const headers = new Headers(init.headers);
  let upload: { out: OutBody; length: number } | undefined;
  if (method === "POST" || method === "PUT") {
    if (headers.has("transfer-encoding") || headers.has("expect")) return fetch(input, init);
    upload = outBody(init.body, headers);
    if (!upload) return fetch(input, init);
  } else if (method !== "GET" || init.body != null) return fetch(input, init);
  const signal = init.signal ?? new AbortController().signal;
  signal.throwIfAborted();
  const request = requestText(method, url, headers, upload?.length);
  const origin = `${url.protocol}//${url.host}`;
  /** A stream cannot be sent twice: a failure once it was read is the caller's to retry. */
  const replayable = upload === undefined || "bytes" in upload.out;
  // A kept-alive connection the server closed meanwhile fails before the first byte: then once more, anew.
  for (let tries = 0; ; tries++) {
    const idleConn = tries === 0 ? takeIdle(origin, replayable ? Infinity : FRESH_IDLE_MS) : undefined;
    const conn = idleConn || new Connection(url, origin);
    let answer: { head: Head; rest: Uint8Array; early: boolean };
    try {
      answer = await conn.exchange(request, signal, upload?.out, upload?.length);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      // An answer `fetch` knows better: asked again through it, unless it is an upload (the server has it now).
      if (err instanceof Fallback && !upload) return fetch(input, init);
      if (conn.reused && tries === 0 && replayable) continue;
      throw new TypeError("fetch failed", { cause: err });
    }
    const { head, rest } = answer;
    const ok = head.status >= 200 && head.status < 300;
    if (answer.early) head.keepAlive = false;
    if (!ok || !inPlace || upload || head.length <= SMALL_BODY_BYTES) {
      // A small answer (a reconstruction, an error, an upload's) is read whole into an ordinary response. An
      // error's body is capped: a connection whose body was not all read is not kept (a 404 of a dedup query is,
      // as its answer was read whole). An upload's answer is read whatever its framing (the
      // request cannot be handed to `fetch` now); a redirect is not followed (`fetch` does not follow one with a
      // stream body either).
      const cap = ok ? Infinity : MAX_ERROR_BODY_BYTES;
      let bytes: Uint8Array = new Uint8Array(0);
      let whole = false;
      try {
        if (head.length >= 0) [bytes, whole] = await conn.whole(rest, head.length, cap, signal);
        else [bytes, whole] = [await conn.unframed(rest, head, signal, DEFAULT_BODY_STALL_MS), true];
        bytes = decoded(bytes, head.encoding);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        if (ok) throw new TypeError("fetch failed", { cause: err });
      }
      if (whole && head.keepAlive) park(conn);
      else conn.socket.destroy();
      if (head.encoding !== undefined) {
        head.headers.delete("content-encoding");
        head.headers.delete("content-length");
      }
      return answerWith(head, url, head.status === 204 || head.status === 304 ? null : bytes);
    }
    // A large answer: read in place by whoever asks (`inPlaceBody`); until then the connection is paused,
    // and dropped if the request is aborted or the body cancelled.
    const res = answerWith(head, url, null);
    const drop = () => conn.socket.destroy();
    signal.addEventListener("abort", drop, { once: true });
    let used = false;
    const body: InPlaceBody = {
      length: head.length,
      async read(onData, opts = {}) {
        if (used) throw new TypeError("the body was already read");
        used = true;
        signal.removeEventListener("abort", drop);
        const s = opts.signal ?? signal;
        let how: "done" | "stopped";
        try {
          how = await conn.body(rest, head.length, onData, s, opts.stallMs ?? DEFAULT_BODY_STALL_MS, opts.target);
        } catch (err) {
          if (err instanceof ReaderError) throw err.error;
          if (s.aborted) throw s.reason;
          throw new Error(`the connection broke while the body was read: ${(err as Error).message}`, { cause: err });
        }
        if (how === "done" && head.keepAlive) park(conn);
        else conn.socket.destroy();
      },
      cancel() {
        if (used) return;
        used = true;
        signal.removeEventListener("abort", drop);
        drop();
      },
    };
    Object.defineProperty(res, IN_PLACE, { value: body });
    return res;
  }
}

function answerWith(head: Head, url: URL, body: Uint8Array | null): Response {
  const res = new Response(body as BodyInit | null, { status: head.status, statusText: head.statusText, headers: head.headers });
  Object.defineProperty(res, "url", { value: url.href });
  return res;
}

/**
 * True when requests must take the runtime's `fetch` route: a proxy configured in the environment, or a global
 * undici dispatcher of another kind than the default `Agent` (e.g. a `ProxyAgent` set with
 * `setGlobalDispatcher`). Node installs its default `Agent` there on the first `fetch`.
 */
export function mustUseFetch(): boolean {
  const env = process.env;
  if (env.HTTP_PROXY || env.HTTPS_PROXY || env.ALL_PROXY || env.http_proxy || env.https_proxy || env.all_proxy || env.NODE_USE_ENV_PROXY) {
    return true;
  }
  const dispatcher = (globalThis as Record<symbol, unknown>)[Symbol.for("undici.globalDispatcher.1")];
  return dispatcher !== undefined && (dispatcher as { constructor?: { name?: string } }).constructor?.name !== "Agent";
}
