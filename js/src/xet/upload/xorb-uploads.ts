/**
 * Xorb uploads: each xorb the assembly hands over is POSTed to the CAS (`/v1/xorbs/default/{hash}`), in the
 * order they closed, at most `maxXorbUploads` at once (the others wait for a slot with their bodies). A xorb
 * that an earlier run of the same upload stored is not sent again (resume: xet/resume.ts). This stage counts
 * what went on the wire and knows which xorbs are stored: all of those below `storedBelow`.
 */
import { rangeFetch, runtime } from "#platform";
import { ProtocolError } from "../../errors.js";
import { retryConfig, type RequestBody, type RetryOptions } from "../../http.js";
import { CasClient, callersFetch } from "../cas.js";
import type { UploadResume } from "../resume.js";
import type { UploadControl } from "./control.js";
import type { AssembledXorb, XorbBody } from "./xorb-assembly.js";

/** What the uploads tell the coordinator (called synchronously). */
export interface XorbUploadEvents {
  /** A xorb is stored: `storedBelow` may have moved. */
  stored(): void;
  /** Bytes of a streamed body went to the network: `sent` moved. */
  sending(): void;
}

/** Queued and uploading xorbs, and the counters of what went out. */
export class XorbUploads {
  readonly #cas: CasClient;
  readonly #retry: Required<RetryOptions>;
  readonly #max: number;
  readonly #stream: boolean;
  readonly #reusePieces: boolean;
  readonly #ctl: UploadControl;
  readonly #resume: UploadResume | undefined;
  readonly #events: XorbUploadEvents;
  /** Xorbs waiting for an upload slot. */
  #queue: AssembledXorb[] = [];
  readonly #inflight = new Set<Promise<void>>();
  #launched = 0;
  readonly #done = new Set<number>();
  #storedBelow = 0;
  #sentConfirmed = 0;
  readonly #sentPartial = new Map<number, number>();
  #toSend = 0;
  #uploaded = 0;
  #alreadyStored = 0;
  #bytesSent = 0;

  /** `cas`: the pipeline's client (its requests stop with the pipeline). */
  constructor(
    cas: CasClient,
    t: { maxXorbUploads: number; streamUploads: boolean },
    ctl: UploadControl,
    resume: UploadResume | undefined,
    events: XorbUploadEvents,
  ) {
    // The bodies go through the platform's light HTTP client (Node: a third of fetch's CPU) unless the caller
    // gave a fetch of their own.
    const own = callersFetch(cas.http.fetch) !== undefined;
    const fast = own ? undefined : rangeFetch(false);
    this.#cas = fast ? new CasClient(cas.tokens, { ...cas.http, fetch: fast }, cas.sessionId) : cas;
    this.#retry = retryConfig(cas.http.retry);
    this.#max = t.maxXorbUploads;
    this.#stream = t.streamUploads;
    // Node's own fetch and the light client are done with a piece of a streamed body when they pull the next
    // (xorb-assembly.ts).
    this.#reusePieces = t.streamUploads && runtime === "node" && !own;
    this.#ctl = ctl;
    this.#resume = resume;
    this.#events = events;
  }

  /** Xorbs queued or uploading (their bodies are in memory). */
  get pending(): number {
    return this.#inflight.size + this.#queue.length;
  }

  /** Every xorb with an index (in `add` order) below this is stored on the CAS. */
  get storedBelow(): number {
    return this.#storedBelow;
  }

  /** Serialized bytes handed to the network, each xorb counted once (retries do not count twice). */
  get sent(): number {
    let partial = 0;
    for (const v of this.#sentPartial.values()) partial += v;
    return this.#sentConfirmed + partial;
  }

  /** Serialized bytes of the xorbs added so far. */
  get toSend(): number {
    return this.#toSend;
  }

  /** For the report: xorbs uploaded, of which the CAS already had, and their bytes. */
  get uploaded(): number {
    return this.#uploaded;
  }
  get alreadyStored(): number {
    return this.#alreadyStored;
  }
  get bytesSent(): number {
    return this.#bytesSent;
  }
  /** The xorbs the CAS holds now (stored by this upload, or found stored): a later attempt need not send them. */
  readonly stored = new Set<string>();
  /** The xorbs whose POST started (the CAS may hold them even when the answer never came). */
  readonly posted = new Set<string>();

  /** The uploads in flight (to wait for them to settle). */
  running(): Promise<void>[] {
    return [...this.#inflight];
  }

  /** Queues a closed xorb; `launch` starts it when a slot is free. */
  add(x: AssembledXorb): void {
    this.#toSend += x.body.size;
    this.#queue.push(x);
  }

  /** Starts queued uploads while slots are free. */
  launch(): void {
    while (this.#queue.length > 0 && this.#inflight.size < this.#max && !this.#ctl.signal.aborted) {
      this.#launch(this.#queue.shift()!, this.#launched++);
    }
  }

  /** Drops the queued xorbs (the upload is over). */
  close(): void {
    this.#queue = [];
  }

  #launch(x: AssembledXorb, idx: number): void {
    const p: Promise<void> = this.#upload(x, idx)
      .then(() => {
        this.#done.add(idx);
        while (this.#done.delete(this.#storedBelow)) this.#storedBelow++;
        this.#events.stored();
      })
      .catch((err: unknown) => this.#ctl.fail(err))
      .finally(() => {
        this.#inflight.delete(p);
        this.launch();
        this.#ctl.wake();
      });
    this.#inflight.add(p);
  }

  /** `POST /v1/xorbs/default/{hash}` with the serialized xorb; 200 `{was_inserted: false}` is fine too. */
  async #upload(x: AssembledXorb, idx: number): Promise<void> {
    const { hash, body: xorb } = x;
    const size = xorb.size;
    // A streamed body is under the stall clock while it is sent (http.ts), the answer timeout runs once it is.
    // A buffered one is sent within the answer timeout: it may take as long as the body needs at a slow
    // 128 KiB/s, on top of the usual timeout.
    const retry =
      this.#cas.http.retry === false || this.#stream
        ? this.#cas.http.retry
        : { ...this.#cas.http.retry, attemptTimeoutMs: this.#retry.attemptTimeoutMs + Math.ceil(size / 131072) * 1000 };
    const cas = new CasClient(this.#cas.tokens, { ...this.#cas.http, retry }, this.#cas.sessionId);
    const onBytes = (n: number) => {
      if (n > (this.#sentPartial.get(idx) ?? 0)) this.#sentPartial.set(idx, n);
      this.#events.sending();
    };
    const body = (): RequestBody => xorb.request(this.#stream, onBytes, this.#reusePieces);
    // Resume: a xorb an earlier run of this upload stored is not sent again (xet/resume.ts).
    if (this.#resume && (await this.#resume.alreadyStored(this.#cas, hash, size, this.#ctl.signal))) {
      xorb.release();
      this.#sentConfirmed += size;
      this.stored.add(hash);
      return;
    }
    // Sources read again for this body must not have changed (SOURCE_CHANGED); a buffered body is built now.
    await xorb.prepare(this.#stream);
    this.#resume?.posting(hash);
    this.posted.add(hash);
    const json = await this.#post(cas, hash, size, body, xorb);
    // The server answered after reading the whole body: no write uses it any more.
    xorb.release();
    this.#sentPartial.delete(idx);
    this.#sentConfirmed += size;
    this.#bytesSent += size;
    this.#uploaded++;
    if (json.was_inserted === false) this.#alreadyStored++;
    this.stored.add(hash);
    this.#resume?.accepted(hash);
  }

  /** The POST itself; a failure to read a source again is reported as such, not as the network error it caused. */
  async #post(cas: CasClient, hash: string, size: number, body: () => RequestBody, xorb: XorbBody): Promise<{ was_inserted?: unknown }> {
    try {
      return await this.#postOnce(cas, hash, size, body);
    } catch (err) {
      if (xorb.failure !== undefined && !this.#ctl.signal.aborted) throw xorb.failure;
      throw err;
    }
  }

  async #postOnce(cas: CasClient, hash: string, size: number, body: () => RequestBody): Promise<{ was_inserted?: unknown }> {
    return cas.requestRead(
      `/v1/xorbs/default/${hash}`,
      {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream", "Content-Length": String(size) },
        body,
        signal: this.#ctl.signal,
      },
      async (res) => {
        const text = await res.text();
        try {
          return text ? (JSON.parse(text) as { was_inserted?: unknown }) : {};
        } catch {
          throw new ProtocolError(`the CAS answered a xorb upload with a body that is not JSON: ${text.slice(0, 100)}`);
        }
      },
    );
  }
}
