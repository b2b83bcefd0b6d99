/**
 * The hub's budget for request bodies held in memory at once. Shard and batch bodies are read whole (up to
 * 64 MiB each) and a xorb stored already is kept while it is uploaded again (65 MiB; other xorb bodies pass
 * through), so without a budget the hub's memory grows with the number of clients uploading at the same time. A request takes its share (its `Content-Length`, or the endpoint's limit when
 * the length is not announced; at most the whole budget) before it reads its body, and gives it back when
 * it is done; requests that do not fit wait in arrival order, their bodies held back by TCP flow control.
 * A client that disconnects while waiting leaves the queue.
 */
import type { IncomingMessage } from "node:http";
import { InvalidArgumentError } from "xet-buckets";

export class BodyBudget {
  readonly capacity: number;
  #used = 0;
  #queue: Array<{ n: number; grant: () => void }> = [];
  /** Highest number of bytes held at once (tests and diagnostics). */
  peak = 0;
  /** Requests that had to wait (tests and diagnostics). */
  waited = 0;

  constructor(capacity: number) {
    if (!(Number.isFinite(capacity) && capacity > 0))
      throw new InvalidArgumentError(`the body budget must be a positive number, got ${capacity}`);
    this.capacity = capacity;
  }

  get inUse(): number {
    return this.#used;
  }

  /** Waits until the request's body fits; resolves with the function that gives the share back. */
  async acquire(req: IncomingMessage, limit: number): Promise<() => void> {
    const declared = Number(req.headers["content-length"]);
    const n = Math.max(1, Math.min(Number.isFinite(declared) && declared >= 0 ? Math.min(declared, limit) : limit, this.capacity));
    if (this.#queue.length > 0 || this.#used + n > this.capacity) {
      this.waited++;
      await new Promise<void>((resolve, reject) => {
        const onClose = () => {
          const i = this.#queue.indexOf(w);
          if (i >= 0) this.#queue.splice(i, 1);
          this.#pump();
          reject(new Error("client went away"));
        };
        const w = {
          n,
          grant: () => {
            req.off("close", onClose);
            resolve();
          },
        };
        this.#queue.push(w);
        req.once("close", onClose);
      });
    } else {
      this.#take(n);
    }
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.#used -= n;
      this.#pump();
    };
  }

  #take(n: number): void {
    this.#used += n;
    if (this.#used > this.peak) this.peak = this.#used;
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#used + this.#queue[0]!.n <= this.capacity) {
      const w = this.#queue.shift()!;
      this.#take(w.n);
      w.grant();
    }
  }
}
