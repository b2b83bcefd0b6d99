/**
 * Upload shards: once every xorb is stored, the session's shards (the files' reconstructions and the new
 * xorbs' chunk lists, xet-protocol.md §7) register the data with the CAS. `POST /v2/shards` answers with an
 * NDJSON stream of progress events up to a terminal `result` or `error` (retried with backoff while the
 * error says `retryable`); a CAS without it (404 / 501) gets `POST /v1/shards` from then on.
 */
import { ProtocolError, XetBucketsError } from "../../errors.js";
import { backoffDelay, retryConfig, sleep, type RetryOptions } from "../../http.js";
import type { CasClient } from "../cas.js";

/** Sends the shards of one upload, in order, and counts them. */
export class ShardUploads {
  readonly #cas: CasClient;
  readonly #retry: Required<RetryOptions>;
  readonly #signal: AbortSignal;
  #v1Only = false;
  #count = 0;
  #bytes = 0;

  /** `cas`: the pipeline's client; `signal`: the pipeline's (every wait stops with it). */
  constructor(cas: CasClient, signal: AbortSignal) {
    this.#cas = cas;
    this.#retry = retryConfig(cas.http.retry);
    this.#signal = signal;
  }

  /** Shards registered. */
  get count(): number {
    return this.#count;
  }

  /** Bytes of the shards registered. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Registers one shard (resolves once the CAS accepted it). */
  async upload(shard: Uint8Array): Promise<void> {
    await this.#send(shard);
    this.#count++;
    this.#bytes += shard.length;
  }

  /** `POST /v2/shards` (NDJSON to the terminal event), falling back to `POST /v1/shards` on 404 / 501. */
  async #send(shard: Uint8Array): Promise<void> {
    const start = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (this.#v1Only) {
        await this.#cas.requestRead(
          "/v1/shards",
          { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: shard, signal: this.#signal },
          (res) => res.text(),
        );
        return;
      }
      const outcome = await this.#cas.requestRead(
        "/v2/shards",
        {
          method: "POST",
          headers: { "Content-Type": "application/octet-stream", Accept: "application/x-ndjson" },
          body: shard,
          accept: [404, 501],
          signal: this.#signal,
        },
        async (res) => {
          if (res.status === 404 || res.status === 501) {
            await res.body?.cancel();
            return "fallback" as const;
          }
          return readShardStream(res);
        },
      );
      if (outcome === "fallback") {
        this.#v1Only = true;
        continue;
      }
      if (outcome.ok) return;
      const elapsed = Date.now() - start;
      const delay = backoffDelay(this.#retry, attempt);
      if (!outcome.retryable || attempt >= this.#retry.maxAttempts || elapsed + delay > this.#retry.budgetMs) {
        throw new XetBucketsError(
          "SHARD_REJECTED",
          `the CAS rejected the upload shard: ${outcome.message}${attempt > 1 ? ` (after ${attempt} attempts)` : ""}. ` +
            "Nothing was registered in the bucket; retry the upload, and report the message if it persists.",
        );
      }
      await sleep(delay, this.#signal);
    }
  }
}

type ShardOutcome = { ok: true } | { ok: false; message: string; retryable: boolean };

/**
 * Reads a `/v2/shards` NDJSON stream to its terminal event (while it works, the server repeats its last
 * progress event about every 20 s: within the stall timeout). A stream that ends before it is a broken
 * connection: a plain Error, which the retry loop sends again (a repeated shard is not an error for the CAS).
 */
async function readShardStream(res: Response): Promise<ShardOutcome> {
  if (!res.body) throw new Error("the /v2/shards answer has no body");
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const parse = (l: string): ShardOutcome | undefined => {
    let ev: { type?: unknown; message?: unknown; retryable?: unknown };
    try {
      ev = JSON.parse(l) as typeof ev;
    } catch {
      throw new ProtocolError(`malformed line in the /v2/shards stream: ${l.slice(0, 100)}`);
    }
    if (ev.type === "result") return { ok: true };
    if (ev.type === "error") {
      return { ok: false, message: typeof ev.message === "string" ? ev.message : JSON.stringify(ev), retryable: ev.retryable === true };
    }
    return undefined; // progress (validating, committing) and unknown types
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (value) {
        buf += value;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const l = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          const out = l ? parse(l) : undefined;
          if (out) return out;
        }
      }
      if (done) {
        const out = buf.trim() ? parse(buf.trim()) : undefined;
        if (out) return out;
        throw new Error("the /v2/shards stream ended without a result or error event");
      }
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
