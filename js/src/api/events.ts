/**
 * Progress events from a running call to the consumer of its async generator (`commitIter`,
 * `uploadFilesWithProgress`, `copyFilesIter`…), without ever blocking the call.
 */

/** What the channel needs to know of an event to coalesce it. */
interface EventLike {
  event: string;
  state?: string;
  path?: string;
}

/**
 * A queue between a producer and a consumer that never blocks the producer. At most one `bytes` event and one
 * `hashing` event per file wait in the queue (a newer one replaces it in place), so the queue stays small
 * however slow the consumer is.
 */
export class EventChannel<E extends EventLike> {
  #queue: E[] = [];
  #notify: (() => void) | undefined;
  #closed = false;

  push(ev: E): void {
    if (ev.event === "bytes" || (ev.event === "fileProgress" && ev.state === "hashing")) {
      const i = this.#queue.findIndex(
        (q) => q.event === ev.event && (q.event === "bytes" || (q.state === "hashing" && q.path === ev.path)),
      );
      if (i >= 0) {
        this.#queue[i] = ev;
        return;
      }
    }
    this.#queue.push(ev);
    this.#notify?.();
  }

  close(): void {
    this.#closed = true;
    this.#notify?.();
  }

  async *drain(): AsyncGenerator<E> {
    for (;;) {
      const ev = this.#queue.shift();
      if (ev) {
        yield ev;
        continue;
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => (this.#notify = resolve));
      this.#notify = undefined;
    }
  }
}

/**
 * Runs `run` and yields the events it emits, then returns its result. Leaving the loop early aborts the run
 * (through the signal it is given, which also follows `signal`) and waits for it to settle.
 */
export async function* withEvents<E extends EventLike, T>(
  signal: AbortSignal | undefined,
  run: (signal: AbortSignal, emit: (ev: E) => void) => Promise<T>,
): AsyncGenerator<E, T> {
  const channel = new EventChannel<E>();
  const stop = new AbortController();
  const combined = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  let settled = false;
  const running = run(combined, (ev) => channel.push(ev)).finally(() => {
    settled = true;
    channel.close();
  });
  running.catch(() => undefined); // observed below; avoids an unhandled rejection while events drain
  try {
    yield* channel.drain();
    return await running;
  } finally {
    if (!settled) {
      stop.abort(new DOMException("the progress iterator was closed before the call finished", "AbortError"));
      await running.catch(() => undefined);
    }
  }
}
