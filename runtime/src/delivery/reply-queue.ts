/**
 * A single-consumer async queue of replies: the producer pushes replies and ends or fails it, the
 * consumer iterates with `for await`. Values pushed before the consumer starts are kept; the
 * producer bounds them (it reads {@link ReplyQueue.buffered}). The one reply stream of the runtime:
 * request streams (`replies.ts`), deliveries (`pending.ts`) and the cluster's use it.
 */

/** Producer side of a {@link ReplyQueue}. */
export interface ReplySink<T> {
  push(value: T): void;
  end(): void;
  fail(error: Error): void;
}

/** See the module comment. `onReturn` runs when the consumer stops early (`break`, `return`). */
export class ReplyQueue<T> implements AsyncIterable<T>, ReplySink<T> {
  readonly #values: T[] = [];
  #waiter: { resolve: (result: IteratorResult<T>) => void; reject: (error: Error) => void } | undefined;
  #done = false;
  #error: Error | undefined;

  readonly #onReturn: () => void;

  constructor(onReturn: () => void = () => {}) {
    this.#onReturn = onReturn;
  }

  /** Whether the queue was ended or failed. */
  get closed(): boolean {
    return this.#done;
  }

  /** Values pushed and not read yet. */
  get buffered(): number {
    return this.#values.length;
  }

  /** Drops the values pushed and not read yet (nobody is going to read them). */
  discardBuffered(): void {
    this.#values.length = 0;
  }

  push(value: T): void {
    if (this.#done) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve({ value, done: false });
    } else {
      this.#values.push(value);
    }
  }

  end(): void {
    this.#close(undefined);
  }

  fail(error: Error): void {
    this.#close(error);
  }

  #close(error: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter === undefined) return;
    if (error === undefined) waiter.resolve({ value: undefined, done: true });
    else waiter.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.#values.length > 0)
          return Promise.resolve({ value: this.#values.shift() as T, done: false });
        if (this.#done) {
          if (this.#error !== undefined) {
            const error = this.#error;
            // Report a failure once; later calls see a plain end.
            this.#error = undefined;
            return Promise.reject(error);
          }
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve, reject) => {
          this.#waiter = { resolve, reject };
        });
      },
      return: () => {
        if (!this.#done) {
          this.#done = true;
          this.#values.length = 0;
          this.#onReturn();
        }
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/** A reply stream that fails at once: its first `next()` rejects with `error`. */
export function failedIterable<T>(error: unknown): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }),
  };
}
