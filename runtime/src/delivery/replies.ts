/**
 * Matching of inbound replies to the outstanding requests of one connection or session. Keyed
 * replies (a `replyKey` on the spec) go to the request with the same key; unkeyed replies go to the
 * oldest request waiting for that reply Type.
 */
import type { RequestOptions, RequestSpec } from "../codec.js";
import {
  AbortedError,
  type ErrorContext,
  type PaynetError,
  QueueFullError,
  RequestTimeoutError,
} from "../errors.js";
import { positiveInteger } from "../option-checks.js";
import { sharedTimerWheel, type TimerWheel, type WheelTimer } from "../timers.js";
import { ReplyQueue } from "./reply-queue.js";

/** Default time a request waits for its final reply. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Default bound of the replies a streamed request buffers before they are read. */
export const DEFAULT_MAX_BUFFERED_REPLIES = 1_024;

/** The reply side of one outstanding request. */
export interface ReplyWaiter<Rep> {
  /**
   * The first final reply; rejects with `RequestTimeoutError`, `AbortedError` or the reason given
   * to `cancel` / `failAll`. Never reported as an unhandled rejection when nobody awaits it. Asking
   * for it before calling `stream()` says only the final reply is wanted: non-final replies are
   * not kept from then on.
   */
  finalReply(): Promise<Rep>;
  /**
   * Every reply, in arrival order, ending after the final one; throws what `finalReply()` rejects with.
   * Replies arriving before they are read are buffered, up to `maxBufferedReplies` non-final ones:
   * beyond, the request fails with `QueueFullError` (`replies`). One iteration per waiter; leaving
   * the loop early cancels the request.
   */
  stream(): AsyncIterable<Rep>;
  /** Stops waiting: `finalReply()` rejects and the stream throws with `reason` (default `AbortedError`). */
  cancel(reason?: PaynetError): void;
}

/** Options of a {@link ReplyRouter}. */
export interface ReplyRouterOptions {
  /** Wheel for request timeouts. Default {@link sharedTimerWheel}. */
  wheel?: TimerWheel;
  /** Current peer name, for error messages. */
  peer?: () => string;
  /** Unread non-final replies kept per streamed request. Default {@link DEFAULT_MAX_BUFFERED_REPLIES}. */
  maxBufferedReplies?: number;
}

type KeyOf = (reply: unknown) => string;

class Waiter<Rep> implements ReplyWaiter<Rep> {
  readonly #result: Promise<Rep>;
  settled = false;
  /** Only `finalReply()` is used: non-final replies need not be kept. */
  #resultOnly = false;
  /** `stream()` was called: replies are kept for it. */
  #streamed = false;

  #resolve!: (reply: Rep) => void;
  #reject!: (error: PaynetError) => void;
  /** The replies for `stream()`; leaving its loop early cancels the request. */
  readonly #replies = new ReplyQueue<Rep>(() => this.cancel());
  #iterated = false;
  readonly #cleanup: Array<() => void> = [];

  constructor(
    readonly replyType: number,
    readonly key: string | undefined,
    readonly keyOf: KeyOf | undefined,
    readonly isFinal: (reply: Rep) => boolean,
    readonly context: ErrorContext,
    readonly onSettled: (waiter: Waiter<Rep>) => void,
    readonly maxBuffered: number,
  ) {
    this.#result = new Promise<Rep>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Mark as handled: callers that only use stream() must not see an unhandled rejection.
    this.#result.catch(() => {});
  }

  finalReply(): Promise<Rep> {
    if (!this.#streamed) {
      this.#resultOnly = true;
      this.#replies.discardBuffered();
    }
    return this.#result;
  }

  addCleanup(cleanup: () => void): void {
    this.#cleanup.push(cleanup);
  }

  /** A reply arrived for this waiter. */
  deliver(reply: Rep): void {
    if (this.settled) return;
    let final: boolean;
    try {
      final = this.isFinal(reply);
    } catch {
      // A throwing isFinal must not leave the request hanging: treat the reply as final.
      final = true;
    }
    if (!final && !this.#resultOnly && this.#replies.buffered >= this.maxBuffered) {
      // Nobody reads the stream: fail the request rather than grow without bound.
      this.fail(new QueueFullError("replies", `${this.maxBuffered} unread replies`, this.context));
      return;
    }
    if (!this.#resultOnly || final) this.#replies.push(reply);
    if (final) {
      this.#settle();
      this.#replies.end();
      this.#resolve(reply);
    }
  }

  fail(reason: PaynetError): void {
    if (this.settled) return;
    this.#settle();
    this.#replies.fail(reason);
    this.#reject(reason);
  }

  cancel(reason?: PaynetError): void {
    this.fail(reason ?? new AbortedError(this.context));
  }

  stream(): AsyncIterable<Rep> {
    this.#streamed = true;
    this.#resultOnly = false;
    return {
      [Symbol.asyncIterator]: () => {
        if (this.#iterated) throw new TypeError("ReplyWaiter.stream() can be iterated only once");
        this.#iterated = true;
        return this.#replies[Symbol.asyncIterator]();
      },
    };
  }

  #settle(): void {
    this.settled = true;
    for (const cleanup of this.#cleanup) cleanup();
    this.#cleanup.length = 0;
    this.onSettled(this);
  }
}

/**
 * Routes inbound replies to the outstanding requests of ONE connection or session. Every waiter is
 * removed when it ends (final reply, timeout, abort, cancel, `failAll`), so `size` returns to 0.
 */
export class ReplyRouter {
  readonly #wheel: TimerWheel;
  readonly #peer: (() => string) | undefined;
  readonly #maxBuffered: number;
  /** reply Type → key function → key → waiters (oldest first). */
  readonly #keyed = new Map<number, Map<KeyOf, Map<string, Waiter<unknown>[]>>>();
  /** reply Type → waiters without a key (oldest first). */
  readonly #fifo = new Map<number, Waiter<unknown>[]>();
  #size = 0;

  constructor(options: ReplyRouterOptions = {}) {
    this.#wheel = options.wheel ?? sharedTimerWheel();
    this.#peer = options.peer;
    this.#maxBuffered = positiveInteger(
      "maxBufferedReplies",
      options.maxBufferedReplies ?? DEFAULT_MAX_BUFFERED_REPLIES,
    );
  }

  /** Outstanding waiters. */
  get size(): number {
    return this.#size;
  }

  /**
   * Registers interest in the reply to one request. Call it before sending the request so a fast
   * reply cannot slip past. With `key` and `spec.replyKey`, only replies with that key match;
   * otherwise replies of `spec.reply.type` are matched in FIFO order.
   * (`Req` defaults to `any` so `expect<Ack>(commandSpec, ...)` accepts any request type.)
   */
  // biome-ignore lint/suspicious/noExplicitAny: the request type is irrelevant here and specs are contravariant in it
  expect<Rep, Req = any>(
    spec: RequestSpec<Req, Rep>,
    key: string | undefined,
    options: RequestOptions<Rep> = {},
  ): ReplyWaiter<Rep> {
    const replyType = spec.reply.type;
    const keyOf = key !== undefined && spec.replyKey !== undefined ? (spec.replyKey as KeyOf) : undefined;
    const context: ErrorContext = { frameType: spec.request.type, messageName: spec.request.name };
    const peer = this.#peer?.();
    if (peer !== undefined) context.peer = peer;
    const waiter = new Waiter<Rep>(
      replyType,
      keyOf === undefined ? undefined : key,
      keyOf,
      options.isFinal ?? spec.isFinal ?? (() => true),
      context,
      (w) => this.#remove(w as Waiter<unknown>),
      this.#maxBuffered,
    );

    const signal = options.signal;
    if (signal?.aborted) {
      waiter.cancel(new AbortedError({ ...context, cause: signal.reason })); // never indexed
      return waiter;
    }

    this.#add(waiter as Waiter<unknown>);
    const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    if (Number.isFinite(timeoutMs)) {
      const timer: WheelTimer = this.#wheel.schedule(Math.max(0, timeoutMs), () =>
        waiter.fail(new RequestTimeoutError(timeoutMs, context)),
      );
      waiter.addCleanup(() => timer.cancel());
    }
    if (signal !== undefined) {
      const onAbort = () => waiter.cancel(new AbortedError({ ...context, cause: signal.reason }));
      signal.addEventListener("abort", onAbort, { once: true });
      waiter.addCleanup(() => signal.removeEventListener("abort", onAbort));
    }
    return waiter;
  }

  /**
   * Offers one decoded inbound message. Returns true when an outstanding request consumed it (keyed
   * waiters are tried before unkeyed ones of the same Type); false when nobody waits for it.
   */
  offer(type: number, message: unknown): boolean {
    const byKeyOf = this.#keyed.get(type);
    if (byKeyOf !== undefined) {
      for (const [keyOf, byKey] of byKeyOf) {
        let key: string;
        try {
          key = keyOf(message);
        } catch {
          continue;
        }
        const waiter = byKey.get(key)?.[0];
        if (waiter !== undefined) {
          waiter.deliver(message);
          return true;
        }
      }
    }
    const waiter = this.#fifo.get(type)?.[0];
    if (waiter === undefined) return false;
    waiter.deliver(message);
    return true;
  }

  /** Fails every outstanding waiter with `reason` (e.g. the connection closed). */
  failAll(reason: PaynetError): void {
    const all: Waiter<unknown>[] = [];
    for (const waiters of this.#fifo.values()) all.push(...waiters);
    for (const byKeyOf of this.#keyed.values()) {
      for (const byKey of byKeyOf.values()) for (const waiters of byKey.values()) all.push(...waiters);
    }
    for (const waiter of all) waiter.fail(reason);
  }

  #add(waiter: Waiter<unknown>): void {
    this.#size++;
    if (waiter.keyOf === undefined || waiter.key === undefined) {
      let list = this.#fifo.get(waiter.replyType);
      if (list === undefined) {
        list = [];
        this.#fifo.set(waiter.replyType, list);
      }
      list.push(waiter);
      return;
    }
    let byKeyOf = this.#keyed.get(waiter.replyType);
    if (byKeyOf === undefined) {
      byKeyOf = new Map();
      this.#keyed.set(waiter.replyType, byKeyOf);
    }
    let byKey = byKeyOf.get(waiter.keyOf);
    if (byKey === undefined) {
      byKey = new Map();
      byKeyOf.set(waiter.keyOf, byKey);
    }
    const list = byKey.get(waiter.key);
    if (list === undefined) byKey.set(waiter.key, [waiter]);
    else list.push(waiter);
  }

  #remove(waiter: Waiter<unknown>): void {
    if (waiter.keyOf === undefined || waiter.key === undefined) {
      const list = this.#fifo.get(waiter.replyType);
      if (list === undefined || !removeFrom(list, waiter)) return;
      if (list.length === 0) this.#fifo.delete(waiter.replyType);
    } else {
      const byKeyOf = this.#keyed.get(waiter.replyType);
      const byKey = byKeyOf?.get(waiter.keyOf);
      const list = byKey?.get(waiter.key);
      if (list === undefined || !removeFrom(list, waiter)) return;
      if (list.length === 0) byKey!.delete(waiter.key);
      if (byKey!.size === 0) byKeyOf!.delete(waiter.keyOf);
      if (byKeyOf!.size === 0) this.#keyed.delete(waiter.replyType);
    }
    this.#size--;
  }
}

function removeFrom<T>(list: T[], item: T): boolean {
  const index = list.indexOf(item);
  if (index < 0) return false;
  list.splice(index, 1);
  return true;
}
