/**
 * Server-side at-least-once delivery: a request is encoded once, kept as a {@link PendingDelivery}
 * and re-sent with the same payload after every login of its device until a final reply (matched by
 * reply Type, correlation key and device) or its deadline.
 *
 * The store may be shared or persistent (see {@link PendingDeliveryStore}), so this process may hold
 * no waiter for a record: a final reply to such a record completes it all the same (and reaches the
 * handlers, since nobody here iterates it), a stopping server detaches its waiters and leaves the
 * records, and a once-a-second sweep expires records past their deadline, each exactly once.
 */
import type { DeliveryOptions, MessageDef, RequestSpec } from "../codec.js";
import {
  AbortedError,
  CorrelationMissingError,
  encodeFailure,
  InvalidOptionsError,
  messageOf,
  type PaynetError,
  PendingLimitError,
  QueueFullError,
  RequestTimeoutError,
} from "../errors.js";
import type { Logger } from "../logger.js";
import { sharedTimerWheel, type TimerWheel, type WheelTimer } from "../timers.js";
import { DeliverySends, type DeliveryTransport } from "./delivery-sends.js";
import { ExpirySweep } from "./expiry-sweep.js";
import { deliveryId, MemoryPendingDeliveryStore } from "./memory-pending-store.js";
import { RecentIds } from "./recent-ids.js";
import { DEFAULT_MAX_BUFFERED_REPLIES } from "./replies.js";
import { ReplyCallbacks } from "./reply-callbacks.js";
import { ReplyQueue } from "./reply-queue.js";
import { DeliverySpecs, type KnownSpec } from "./specs.js";
import type { DeliveryOutcomes, DeliveryStats, PendingDelivery, PendingDeliveryStore } from "./types.js";

/** Default deadline of a delivery: 5 minutes. */
export const DEFAULT_DELIVERY_DEADLINE_MS = 300_000;
/** Default bound of the pending set. */
export const DEFAULT_MAX_PENDING_DELIVERIES = 10_000;
/** Completed deliveries remembered so late duplicate replies are absorbed instead of reported. */
const RECENTLY_COMPLETED = 1_024;

/** Options of {@link DeliveryManager}. */
export interface DeliveryManagerOptions {
  transport: DeliveryTransport;
  store?: PendingDeliveryStore;
  maxPending?: number;
  /**
   * Unread non-final replies kept per delivery. Beyond, its iteration fails with
   * `QueueFullError('replies')` and the delivery stays pending in the store. Default 1 024.
   */
  maxBufferedReplies?: number;
  /** Specs whose deliveries this manager completes even when it did not start them. */
  // biome-ignore lint/suspicious/noExplicitAny: specs of every request and reply type
  specs?: readonly RequestSpec<any, any>[];
  logger: Logger;
  timers?: TimerWheel;
  now?: () => number;
  /**
   * Told about failures of user code run on an inbound reply (a throwing `replyKey`, `isFinal` or
   * `onReply`), as `HandlerError`s. They are logged either way; the session is never closed for them.
   */
  onError?: (error: PaynetError, deviceId: string) => void;
}

/** Local state of a delivery started by this process: who waits for its replies. */
interface ActiveDelivery {
  readonly id: string;
  readonly pending: PendingDelivery;
  readonly spec: KnownSpec;
  readonly isFinal: (reply: unknown) => boolean;
  readonly onReply: ((reply: unknown) => void) | undefined;
  readonly queue: ReplyQueue<unknown>;
  timer: WheelTimer | undefined;
  detachSignal: (() => void) | undefined;
  /** True until `#start` made its first send attempt (a re-login must not race it). */
  firstSendPending: boolean;
}

type Ending = "completed" | "cancelled" | Error;

/** The server's at-least-once delivery engine; see the module comment. */
export class DeliveryManager {
  readonly #sends: DeliverySends;
  readonly #store: PendingDeliveryStore;
  readonly #maxPending: number;
  readonly #maxBuffered: number;
  readonly #logger: Logger;
  readonly #timers: TimerWheel;
  readonly #now: () => number;
  readonly #specs = new DeliverySpecs();
  /** Delivery id → local waiter. */
  readonly #active = new Map<string, ActiveDelivery>();
  /** Device → how many local waiters it has (a frame of a device without any skips the id lookups). */
  readonly #activeDevices = new Map<string, number>();
  /** Ids of recently completed deliveries. */
  readonly #completed = new RecentIds(RECENTLY_COMPLETED);
  /** Ended deliveries by outcome. */
  readonly #outcomes: DeliveryOutcomes = { completed: 0, timedOut: 0, aborted: 0, cancelled: 0, failed: 0 };
  readonly #sweep: ExpirySweep;
  readonly #callbacks: ReplyCallbacks;

  constructor(options: DeliveryManagerOptions) {
    this.#store = options.store ?? new MemoryPendingDeliveryStore();
    this.#maxPending = options.maxPending ?? DEFAULT_MAX_PENDING_DELIVERIES;
    this.#maxBuffered = options.maxBufferedReplies ?? DEFAULT_MAX_BUFFERED_REPLIES;
    if (!Number.isInteger(this.#maxBuffered) || this.#maxBuffered < 1) {
      throw new InvalidOptionsError(
        "maxBufferedReplies",
        `expected an integer >= 1, got ${this.#maxBuffered}`,
      );
    }
    this.#logger = options.logger;
    this.#sends = new DeliverySends(options.transport, this.#logger);
    this.#timers = options.timers ?? sharedTimerWheel();
    this.#now = options.now ?? Date.now;
    this.#callbacks = new ReplyCallbacks(this.#logger, options.onError);
    this.#sweep = new ExpirySweep(this.#store, this.#timers, this.#now, this.#logger, (record) =>
      this.#expired(record),
    );
    for (const spec of options.specs ?? []) this.#specs.learn(spec);
    // Records left by an earlier run (a persistent store) expire like any other.
    if (this.#store.size() > 0) this.#sweep.arm();
  }

  /**
   * Starts an at-least-once delivery and returns its replies. Validation errors are thrown (an
   * empty correlation key with `CorrelationMissingError`); a full pending set, the deadline and an
   * abort end the iterable with `PendingLimitError`, `RequestTimeoutError` and `AbortedError`, and
   * replies nobody reads with `QueueFullError` (the delivery then stays pending). Stopping the
   * iteration early cancels the delivery.
   */
  deliver<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options: DeliveryOptions<Rep> = {},
  ): AsyncIterable<Rep> {
    const isFinal = options.isFinal as ((reply: unknown) => boolean) | undefined;
    const known = this.#specs.learn(spec as RequestSpec<unknown, unknown>, isFinal);
    const deadlineMs = options.deadlineMs ?? DEFAULT_DELIVERY_DEADLINE_MS;
    if (!Number.isInteger(deadlineMs) || deadlineMs <= 0) {
      throw new InvalidOptionsError("deadlineMs", `expected a positive integer, got ${deadlineMs}`);
    }
    const peer = `device ${deviceId}`;
    const key = (spec.requestKey as (message: Req) => string)(message);
    if (key === "") throw new CorrelationMissingError({ peer, messageName: spec.request.name });
    const id = deliveryId(deviceId, spec.request.type, key);
    let active: ActiveDelivery | undefined;
    const queue = new ReplyQueue<unknown>(() => {
      if (active !== undefined) this.#finish(active, "cancelled");
    });
    if (options.signal?.aborted) {
      queue.fail(new AbortedError({ peer, messageName: spec.request.name }));
    } else if (this.#active.has(id)) {
      queue.fail(
        new InvalidOptionsError(
          "key",
          `a delivery of ${spec.request.name} with key ${key} to device ${deviceId} is already pending`,
        ),
      );
    } else if (this.#store.size() >= this.#maxPending) {
      queue.fail(new PendingLimitError(this.#maxPending, { peer, messageName: spec.request.name }));
    } else {
      const now = this.#now();
      const pending: PendingDelivery = {
        deviceId,
        key,
        type: spec.request.type,
        payload: encodeRequest(spec.request, message, peer),
        createdAt: now,
        deadline: now + deadlineMs,
        attempts: 0,
      };
      const onReply = options.onReply as ((reply: unknown) => void) | undefined;
      active = {
        id,
        pending,
        spec: known,
        isFinal: isFinal ?? known.isFinal,
        onReply,
        queue,
        timer: undefined,
        detachSignal: undefined,
        firstSendPending: true,
      };
      this.#start(active, deadlineMs, options.signal);
    }
    return queue as AsyncIterable<Rep>;
  }

  #start(active: ActiveDelivery, deadlineMs: number, signal: AbortSignal | undefined): void {
    const { deviceId } = active.pending;
    this.#active.set(active.id, active);
    this.#activeDevices.set(deviceId, (this.#activeDevices.get(deviceId) ?? 0) + 1);
    const context = { peer: `device ${deviceId}`, messageName: active.spec.replyDef.name };
    active.timer = this.#timers.schedule(deadlineMs, () => {
      this.#finish(active, new RequestTimeoutError(deadlineMs, context));
    });
    if (signal !== undefined) {
      const onAbort = () => this.#finish(active, new AbortedError(context));
      signal.addEventListener("abort", onAbort, { once: true });
      active.detachSignal = () => signal.removeEventListener("abort", onAbort);
    }
    // Persist before the first send, so a reply can never overtake its pending record.
    Promise.resolve(this.#store.add(active.pending)).then(
      () => {
        active.firstSendPending = false;
        this.#sweep.arm();
        if (!active.queue.closed) this.#sends.send(active.pending);
      },
      (error: unknown) =>
        this.#finish(active, error instanceof Error ? error : new Error(String(error)), true),
    );
  }

  /**
   * The device logged in: returns the (re-)send of its pending deliveries (same payload and key), to
   * run once the login is answered. Deliveries sent after this call (e.g. started by an `online`
   * listener) or not yet sent at all (their first send is on its way) are skipped, so nothing goes
   * out twice on the new session. Store or send failures are logged; deliveries stay pending.
   */
  resendAfterLogin(deviceId: string): () => Promise<void> {
    const sendsAtLogin = this.#sends.mark();
    return async () => {
      let deliveries: readonly PendingDelivery[];
      try {
        deliveries = await this.#store.forDevice(deviceId);
      } catch (error) {
        this.#logger.error({ deviceId, error: messageOf(error) }, "pending delivery store failed");
        return;
      }
      const now = this.#now();
      for (const stored of deliveries) {
        if (stored.deadline <= now) continue;
        const active = this.#active.get(deliveryId(deviceId, stored.type, stored.key));
        if (active?.firstSendPending) continue;
        const pending = active?.pending ?? stored;
        if (this.#sends.sentSince(pending, sendsAtLogin)) continue;
        this.#sends.send(pending);
      }
    };
  }

  /**
   * The reply definition of a Type that deliveries are answered with, so replies (late duplicates
   * included) decode even when their Type has no registration of its own.
   */
  replyDef(type: number): MessageDef<unknown> | undefined {
    return this.#specs.replyDef(type);
  }

  /**
   * Offers a decoded inbound message of `deviceId`. Returns true when it answered a delivery this
   * process waits for (it is yielded, after `onReply`; a final one completes the delivery) or
   * duplicates the final reply of a recently completed one (absorbed). A final reply to a stored
   * delivery nobody here waits for completes that record and returns false: the handlers see it.
   * A throwing `replyKey` skips that delivery and a throwing `isFinal` counts as final (as for
   * `request()`); both are reported through `onError`, never thrown.
   */
  offer(deviceId: string, type: number, message: unknown): boolean {
    // Every frame of a logged-in device comes through here: most are of a Type no delivery is
    // answered with (heartbeats, uplink reports), and that is one Map lookup.
    const specs = this.#specs.byReply(type);
    if (specs === undefined) return false;
    const waiting = this.#activeDevices.has(deviceId);
    if (!waiting && this.#completed.size === 0 && this.#store.size() === 0) return false;
    // Replies of several requests may share a Type (a coin command and a refund of one order, both
    // answered with CoinAck): a waiting delivery takes the reply before any record is judged.
    const keys = specs.map((spec) => this.#callbacks.key(deviceId, spec.replyKey, message));
    if (waiting) {
      for (let i = 0; i < specs.length; i++) {
        const key = keys[i];
        if (key === undefined || key === "") continue;
        const active = this.#active.get(deliveryId(deviceId, specs[i]!.requestType, key));
        if (active !== undefined) return this.#answer(active, message);
      }
    }
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const key = keys[i];
      if (key === undefined || key === "") continue;
      const id = deliveryId(deviceId, spec.requestType, key);
      if (this.#completed.has(id)) {
        this.#logger.debug({ deviceId, key }, "late duplicate reply of a completed delivery absorbed");
        return true;
      }
      if (this.#callbacks.isFinal(deviceId, spec.isFinal, message, spec.replyDef.name)) {
        this.#completeStored(deviceId, spec, key, id);
      }
    }
    return false;
  }

  /** A reply to a local waiter: bounded, `onReply` first, then the iteration; a final one ends it. */
  #answer(active: ActiveDelivery, message: unknown): boolean {
    const { deviceId } = active.pending;
    const final = this.#callbacks.isFinal(deviceId, active.isFinal, message, active.spec.replyDef.name);
    if (!final && active.queue.buffered >= this.#maxBuffered) {
      // Nobody reads the replies: stop waiting here rather than grow; the delivery stays stored and
      // its final reply still completes it. This reply goes to the handlers, so it is not lost.
      this.#finish(
        active,
        new QueueFullError("replies", `${this.#maxBuffered} unread replies`, {
          peer: `device ${deviceId}`,
          messageName: active.spec.replyDef.name,
        }),
        true,
      );
      return false;
    }
    if (active.onReply !== undefined) {
      this.#callbacks.onReply(deviceId, active.onReply, message, active.spec.replyDef.name);
    }
    active.queue.push(message);
    if (final) this.#finish(active, "completed");
    return true;
  }

  /** A final reply to a record this process does not wait for: removed, and counted, once. */
  #completeStored(deviceId: string, spec: KnownSpec, key: string, id: string): void {
    Promise.resolve(this.#store.remove(deviceId, spec.requestType, key)).then(
      (removed) => {
        if (!removed) return;
        this.#outcomes.completed++;
        this.#completed.add(id);
        this.#logger.debug(
          { deviceId, key, request: spec.requestName },
          "stored delivery completed by its final reply",
        );
      },
      (error: unknown) =>
        this.#logger.error({ deviceId, key, error: messageOf(error) }, "pending delivery store failed"),
    );
  }

  /**
   * The server stops: every local waiter ends with `error`. The records stay in the store, for the
   * next run of a persistent store or another process sharing it; with the default memory store they
   * are redelivered if this server starts again.
   */
  failAll(error: PaynetError): void {
    for (const active of [...this.#active.values()]) this.#finish(active, error, true);
    this.#sweep?.cancel();
  }

  /** Pending count, oldest age and lifetime counters. */
  stats(): DeliveryStats {
    const oldest = this.#store.oldestCreatedAt();
    return {
      pending: this.#store.size(),
      oldestAgeMs: oldest === undefined ? 0 : Math.max(0, this.#now() - oldest),
      redelivered: this.#sends.redelivered,
      completed: this.#outcomes.completed,
      timedOut: this.#outcomes.timedOut,
      outcomes: { ...this.#outcomes },
    };
  }

  #finish(active: ActiveDelivery, outcome: Ending, keepStored = false): void {
    if (this.#active.get(active.id) !== active) return;
    this.#active.delete(active.id);
    const { deviceId, type, key } = active.pending;
    const left = (this.#activeDevices.get(deviceId) ?? 1) - 1;
    if (left > 0) this.#activeDevices.set(deviceId, left);
    else this.#activeDevices.delete(deviceId);
    active.timer?.cancel();
    active.detachSignal?.();
    if (!keepStored) {
      Promise.resolve(this.#store.remove(deviceId, type, key)).catch((error: unknown) =>
        this.#logger.error({ deviceId, key, error: messageOf(error) }, "pending delivery store failed"),
      );
    }
    this.#outcomes[outcomeOf(outcome)]++;
    if (outcome === "completed") {
      this.#completed.add(active.id);
      active.queue.end();
    } else if (outcome !== "cancelled") {
      active.queue.fail(outcome);
    }
  }

  /** A record past its deadline, swept out of the store: its waiter here (if any) ends. */
  #expired(record: PendingDelivery): void {
    const active = this.#active.get(deliveryId(record.deviceId, record.type, record.key));
    if (active === undefined) {
      this.#outcomes.timedOut++;
      this.#logger.warn(
        { deviceId: record.deviceId, key: record.key, type: record.type },
        "stored delivery expired without its final reply",
      );
      return;
    }
    const deadlineMs = record.deadline - record.createdAt;
    const context = { peer: `device ${record.deviceId}`, messageName: active.spec.replyDef.name };
    this.#finish(active, new RequestTimeoutError(deadlineMs, context), true);
  }
}

/** The {@link DeliveryOutcomes} counter an ended delivery adds to. */
function outcomeOf(outcome: Ending): keyof DeliveryOutcomes {
  if (outcome === "completed" || outcome === "cancelled") return outcome;
  if (outcome instanceof RequestTimeoutError) return "timedOut";
  if (outcome instanceof AbortedError) return "aborted";
  return "failed";
}

/** Encodes a delivery's request once; a throwing codec becomes an `EncodeError` (thrown by deliver()). */
function encodeRequest<Req>(def: MessageDef<Req>, message: Req, peer: string): Uint8Array {
  try {
    return def.codec.encode(message);
  } catch (cause) {
    // A broken size bound (an EncodeError already) names message, field and limit: kept as it is.
    throw encodeFailure(def.name, cause, { peer, frameType: def.type });
  }
}
