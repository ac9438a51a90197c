/**
 * Bounded concurrency with a bounded queue: at most `concurrency` generations run, at most
 * `queueSize` wait; anyone beyond that is turned away at once (the server answers 429).
 *
 * @module
 */

/** Thrown by {@link Limiter.acquire} when the queue is full. */
export class QueueFullError extends Error {
  constructor(queueSize: number) {
    super(`the server is busy: ${queueSize} request(s) already waiting`);
    this.name = "QueueFullError";
  }
}

interface Waiter {
  grant: (release: () => void) => void;
  cancel: (reason: unknown) => void;
}

/**
 * A counting semaphore with a FIFO queue of bounded length.
 *
 * @example
 * ```ts
 * import { Limiter } from "./limiter.ts";
 * const limiter = new Limiter(1, 4);
 * const release = await limiter.acquire();
 * limiter.inFlight; // 1
 * release();
 * ```
 */
export class Limiter {
  #running = 0;
  readonly #queue: Waiter[] = [];

  constructor(readonly concurrency: number, readonly queueSize: number) {
    if (!(concurrency >= 1) || !(queueSize >= 0)) {
      throw new RangeError(`need concurrency ≥ 1 and queue ≥ 0, got ${concurrency}, ${queueSize}`);
    }
  }

  /** Work running now. */
  get inFlight(): number {
    return this.#running;
  }

  /** Work waiting for a slot. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Waits for a slot and returns the function that gives it back (call it exactly once).
   * Throws {@link QueueFullError} at once when the queue is full, and the signal's reason
   * when it aborts while waiting (the place in the queue is given up).
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.#running < this.concurrency) {
      this.#running++;
      return Promise.resolve(this.#releaser());
    }
    if (this.#queue.length >= this.queueSize) throw new QueueFullError(this.queueSize);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
        cancel: reject,
      };
      const onAbort = () => {
        this.#queue.splice(this.#queue.indexOf(waiter), 1);
        waiter.cancel(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      // The slot passes straight to the next waiter, so nobody can overtake the queue.
      if (next) next.grant(this.#releaser());
      else this.#running--;
    };
  }
}
