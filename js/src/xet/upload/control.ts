/**
 * The abort and failure policy of one upload, in one place. One internal AbortController stops every stage
 * (reads, dedup queries, xorb and shard uploads, retry waits) on the caller's abort or on the first failure
 * of any stage; the pipeline then rejects with the caller's abort reason or that first failure. The stages
 * also wake the coordinator through it when something changed (a task finished, an answer arrived).
 */
export class UploadControl {
  readonly #user: AbortSignal | undefined;
  readonly #ctl = new AbortController();
  #failure: { error: unknown } | undefined;
  #waiters: (() => void)[] = [];

  constructor(user: AbortSignal | undefined) {
    this.#user = user;
    if (user) {
      if (user.aborted) this.#ctl.abort(user.reason);
      else user.addEventListener("abort", () => this.#ctl.abort(user.reason), { once: true });
    }
    this.#ctl.signal.addEventListener("abort", () => this.wake(), { once: true });
  }

  /** Aborted on the caller's abort, the first failure, or `close`. */
  get signal(): AbortSignal {
    return this.#ctl.signal;
  }

  /** Throws the caller's abort reason or the first failure, if any. */
  check(): void {
    if (this.#user?.aborted) throw this.#user.reason;
    if (this.#failure) throw this.#failure.error;
    if (this.#ctl.signal.aborted) throw this.#ctl.signal.reason;
  }

  /** A stage failed in the background: the first failure stops everything (later ones are its echoes). */
  fail(error: unknown): void {
    if (this.#failure || this.#ctl.signal.aborted) return;
    this.#failure = { error };
    this.#ctl.abort(error);
  }

  /** Stops everything, unless it is stopped already. */
  stop(reason: unknown): void {
    if (!this.#ctl.signal.aborted) this.#ctl.abort(reason);
  }

  /** Something changed: every `wait` resolves. */
  wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Resolves at the next change (a task finished, an answer arrived, an abort). */
  wait(): Promise<void> {
    if (this.#ctl.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
