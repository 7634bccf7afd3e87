/**
 * Server-side at-least-once delivery: a request is encoded once, kept as a {@link PendingDelivery}
 * and re-sent with the same payload after every login of its device until a final reply (matched by
 * reply Type, correlation key and device) or its deadline.
 */
import type { DeliveryOptions, MessageDef, RequestSpec } from "../codec.js";
import {
  AbortedError,
  EncodeError,
  HandlerError,
  InvalidOptionsError,
  type PaynetError,
  PendingLimitError,
  RequestTimeoutError,
} from "../errors.js";
import type { Logger } from "../logger.js";
import { sharedTimerWheel, type TimerWheel, type WheelTimer } from "../timers.js";
import { ReplyQueue } from "./reply-queue.js";
import type { DeliveryOutcomes, DeliveryStats, PendingDelivery, PendingDeliveryStore } from "./types.js";

/** The {@link DeliveryOutcomes} counter an ended delivery adds to. */
function outcomeOf(outcome: "completed" | "cancelled" | Error): keyof DeliveryOutcomes {
  if (outcome === "completed" || outcome === "cancelled") return outcome;
  if (outcome instanceof RequestTimeoutError) return "timedOut";
  if (outcome instanceof AbortedError) return "aborted";
  return "failed";
}

/** Default deadline of a delivery: 5 minutes. */
export const DEFAULT_DELIVERY_DEADLINE_MS = 300_000;
/** Default bound of the pending set. */
export const DEFAULT_MAX_PENDING_DELIVERIES = 10_000;
/** Completed deliveries remembered so late duplicate replies are absorbed instead of reported. */
const RECENTLY_COMPLETED = 1_024;

/** In-process {@link PendingDeliveryStore}. Oldest-first order makes `oldestCreatedAt()` O(1). */
export class MemoryPendingDeliveryStore implements PendingDeliveryStore {
  // Insertion order is creation order, so the first entry is the oldest.
  readonly #all = new Map<string, PendingDelivery>();
  readonly #byDevice = new Map<string, Map<string, PendingDelivery>>();

  add(delivery: PendingDelivery): void {
    const id = idOf(delivery.deviceId, delivery.key);
    this.#all.delete(id);
    this.#all.set(id, delivery);
    let forDevice = this.#byDevice.get(delivery.deviceId);
    if (forDevice === undefined) {
      forDevice = new Map();
      this.#byDevice.set(delivery.deviceId, forDevice);
    }
    forDevice.set(delivery.key, delivery);
  }

  remove(deviceId: string, key: string): void {
    this.#all.delete(idOf(deviceId, key));
    const forDevice = this.#byDevice.get(deviceId);
    if (forDevice === undefined) return;
    forDevice.delete(key);
    if (forDevice.size === 0) this.#byDevice.delete(deviceId);
  }

  forDevice(deviceId: string): readonly PendingDelivery[] {
    const forDevice = this.#byDevice.get(deviceId);
    return forDevice === undefined ? [] : [...forDevice.values()];
  }

  size(): number {
    return this.#all.size;
  }

  oldestCreatedAt(): number | undefined {
    for (const delivery of this.#all.values()) return delivery.createdAt;
    return undefined;
  }
}

function idOf(deviceId: string, key: string): string {
  return `${deviceId}\u0000${key}`;
}

/** How the delivery manager reaches devices. */
export interface DeliveryTransport {
  /**
   * Sends one frame to the device's current session. Returns false when the device is not online;
   * throws (e.g. `QueueFullError`) when the session cannot take it.
   */
  sendFrame(deviceId: string, type: number, payload: Uint8Array): boolean;
}

/** Options of {@link DeliveryManager}. */
export interface DeliveryManagerOptions {
  transport: DeliveryTransport;
  store?: PendingDeliveryStore;
  maxPending?: number;
  logger: Logger;
  timers?: TimerWheel;
  now?: () => number;
  /**
   * Told about failures of user code run on an inbound reply (a throwing `replyKey` or `isFinal`),
   * as `HandlerError`s. They are logged either way; the session is never closed for them.
   */
  onError?: (error: PaynetError, deviceId: string) => void;
}

type KeyOf = (reply: unknown) => string;

/** Local state of a delivery started by this process: who waits for its replies. */
interface ActiveDelivery {
  readonly pending: PendingDelivery;
  readonly replyDef: MessageDef<unknown>;
  readonly replyKey: KeyOf;
  readonly isFinal: (reply: unknown) => boolean;
  readonly queue: ReplyQueue<unknown>;
  timer: WheelTimer | undefined;
  detachSignal: (() => void) | undefined;
  /** True until `#start` made its first send attempt (a re-login must not race it). */
  firstSendPending: boolean;
}

/** The server's at-least-once delivery engine; see the module comment. */
export class DeliveryManager {
  readonly #transport: DeliveryTransport;
  readonly #store: PendingDeliveryStore;
  readonly #maxPending: number;
  readonly #logger: Logger;
  readonly #timers: TimerWheel;
  readonly #now: () => number;
  readonly #active = new Map<string, Map<string, ActiveDelivery>>();
  /** `deviceId\0key` → reply Type and key function of recently completed deliveries (bounded, LRU). */
  readonly #completed = new Map<string, { readonly type: number; readonly keyOf: KeyOf }>();
  /**
   * Reply Type → key functions of the remembered completed deliveries, with how many entries use
   * each: a late duplicate must be recognised even when no delivery to its device is active.
   */
  readonly #completedKeyOf = new Map<number, Map<KeyOf, number>>();
  readonly #onError: ((error: PaynetError, deviceId: string) => void) | undefined;
  /** Reply Type → definition, for every reply Type a delivery used (at most 255 entries). */
  readonly #replyDefs = new Map<number, MessageDef<unknown>>();
  #redelivered = 0;
  /** Counts successful sends; a delivery's last send number tells whether it went out after a login. */
  #sendCount = 0;
  readonly #lastSend = new WeakMap<PendingDelivery, number>();
  /** Ended deliveries by outcome. */
  readonly #outcomes: DeliveryOutcomes = { completed: 0, timedOut: 0, aborted: 0, cancelled: 0, failed: 0 };

  constructor(options: DeliveryManagerOptions) {
    this.#transport = options.transport;
    this.#store = options.store ?? new MemoryPendingDeliveryStore();
    this.#maxPending = options.maxPending ?? DEFAULT_MAX_PENDING_DELIVERIES;
    this.#logger = options.logger;
    this.#timers = options.timers ?? sharedTimerWheel();
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError;
  }

  /**
   * Starts an at-least-once delivery and returns its replies. Validation errors are thrown; a full
   * pending set, the deadline and an abort end the iterable with `PendingLimitError`,
   * `RequestTimeoutError` and `AbortedError`. Stopping the iteration early cancels the delivery.
   */
  deliver<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options: DeliveryOptions<Rep> = {},
  ): AsyncIterable<Rep> {
    const { requestKey, replyKey } = spec;
    if (requestKey === undefined || replyKey === undefined) {
      throw new InvalidOptionsError(
        `spec ${spec.request.name}`,
        "deliver() needs requestKey and replyKey to match replies to the request",
      );
    }
    const deadlineMs = options.deadlineMs ?? DEFAULT_DELIVERY_DEADLINE_MS;
    if (!Number.isInteger(deadlineMs) || deadlineMs <= 0) {
      throw new InvalidOptionsError("deadlineMs", `expected a positive integer, got ${deadlineMs}`);
    }
    const key = requestKey(message);
    let active: ActiveDelivery | undefined;
    const queue = new ReplyQueue<unknown>(() => {
      if (active !== undefined) this.#finish(active, "cancelled");
    });
    const peer = `device ${deviceId}`;
    if (options.signal?.aborted) {
      queue.fail(new AbortedError({ peer, messageName: spec.request.name }));
    } else if (this.#activeFor(deviceId, key) !== undefined) {
      queue.fail(
        new InvalidOptionsError("key", `a delivery with key ${key} to device ${deviceId} is already pending`),
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
      active = {
        pending,
        replyDef: spec.reply as MessageDef<unknown>,
        replyKey: replyKey as KeyOf,
        isFinal: (options.isFinal ?? (() => true)) as (reply: unknown) => boolean,
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
    const { deviceId, key } = active.pending;
    let forDevice = this.#active.get(deviceId);
    if (forDevice === undefined) {
      forDevice = new Map();
      this.#active.set(deviceId, forDevice);
    }
    forDevice.set(key, active);
    this.#replyDefs.set(active.replyDef.type, active.replyDef);
    const context = { peer: `device ${deviceId}`, messageName: active.replyDef.name };
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
        if (!active.queue.closed) this.#send(active.pending);
      },
      (error: unknown) => this.#finish(active, asError(error)),
    );
  }

  /**
   * The device logged in: returns the (re-)send of its pending deliveries (same payload and key), to
   * run once the login is answered. Deliveries sent after this call (e.g. started by an `online`
   * listener) or not yet sent at all (their first send is on its way) are skipped, so nothing goes
   * out twice on the new session. Store or send failures are logged; deliveries stay pending.
   */
  resendAfterLogin(deviceId: string): () => Promise<void> {
    const sendsAtLogin = this.#sendCount;
    return async () => {
      let deliveries: readonly PendingDelivery[];
      try {
        deliveries = await this.#store.forDevice(deviceId);
      } catch (error) {
        this.#logger.error({ deviceId, error: asError(error).message }, "pending delivery store failed");
        return;
      }
      const now = this.#now();
      for (const stored of deliveries) {
        if (stored.deadline <= now) continue;
        const active = this.#activeFor(deviceId, stored.key);
        if (active?.firstSendPending) continue;
        const pending = active?.pending ?? stored;
        if ((this.#lastSend.get(pending) ?? 0) > sendsAtLogin) continue;
        this.#send(pending);
      }
    };
  }

  #send(pending: PendingDelivery): void {
    try {
      if (!this.#transport.sendFrame(pending.deviceId, pending.type, pending.payload)) return;
    } catch (error) {
      this.#logger.warn(
        {
          deviceId: pending.deviceId,
          key: pending.key,
          error: asError(error).message,
        },
        "delivery not sent; kept pending for the next login",
      );
      return;
    }
    if (pending.attempts > 0) this.#redelivered++;
    pending.attempts++;
    this.#lastSend.set(pending, ++this.#sendCount);
  }

  /**
   * The reply definition of a Type that deliveries are answered with, so replies (late duplicates
   * included) decode even when their Type has no registration of its own.
   */
  replyDef(type: number): MessageDef<unknown> | undefined {
    return this.#replyDefs.get(type);
  }

  /**
   * Offers a decoded inbound message of `deviceId`. Returns true when it answered a delivery (it is
   * yielded; a final one completes the delivery) or duplicates the final reply of a recently
   * completed one (absorbed, even when no delivery to that device is active any more). A throwing
   * `replyKey` skips that delivery and a throwing `isFinal` counts as final (as for `request()`);
   * both are reported through `onError`, never thrown.
   */
  offer(deviceId: string, type: number, message: unknown): boolean {
    // Every frame of a logged-in device comes through here: most are of a Type no delivery ever
    // expected as its reply (heartbeats, uplink reports), and that is one Map lookup.
    if (!this.#replyDefs.has(type)) return false;
    const forDevice = this.#active.get(deviceId);
    if (forDevice === undefined && this.#completed.size === 0) return false;
    // One key computation per key function, whatever the number of deliveries using it.
    const keys = new Map<KeyOf, string | undefined>();
    const keyOf = (fn: KeyOf) => {
      if (!keys.has(fn)) keys.set(fn, this.#userKey(deviceId, fn, message));
      return keys.get(fn);
    };
    for (const active of forDevice?.values() ?? []) {
      if (active.replyDef.type !== type) continue;
      if (active.pending.key !== keyOf(active.replyKey)) continue;
      active.queue.push(message);
      if (this.#userIsFinal(active, message)) this.#finish(active, "completed");
      return true;
    }
    for (const fn of this.#completedKeyOf.get(type)?.keys() ?? []) {
      const key = keyOf(fn);
      if (key === undefined || this.#completed.get(idOf(deviceId, key))?.type !== type) continue;
      this.#logger.debug({ deviceId, key }, "late duplicate reply of a completed delivery absorbed");
      return true;
    }
    return false;
  }

  #userKey(deviceId: string, keyOf: KeyOf, message: unknown): string | undefined {
    try {
      return keyOf(message);
    } catch (cause) {
      this.#userCodeFailed(deviceId, "replyKey", cause);
      return undefined;
    }
  }

  #userIsFinal(active: ActiveDelivery, message: unknown): boolean {
    try {
      return active.isFinal(message);
    } catch (cause) {
      this.#userCodeFailed(active.pending.deviceId, "isFinal", cause, active.replyDef.name);
      // Like request(): a reply that cannot be judged ends the delivery rather than leaving it hanging.
      return true;
    }
  }

  #userCodeFailed(deviceId: string, what: string, cause: unknown, messageName?: string): void {
    const error = new HandlerError({
      peer: `device ${deviceId}`,
      ...(messageName === undefined ? {} : { messageName }),
      cause: new Error(`${what} threw: ${asError(cause).message}`, { cause }),
    });
    this.#logger.error({ deviceId }, error.message);
    try {
      this.#onError?.(error, deviceId);
    } catch (reportError) {
      this.#logger.error({ error: asError(reportError).message }, "delivery onError threw");
    }
  }

  /**
   * Ends every delivery with `error` (server stop). Pending records are removed from the store,
   * unless `keepStored` (a drain: another node sharing the store delivers them after the device
   * reconnected there).
   */
  failAll(error: PaynetError, options: { keepStored?: boolean } = {}): void {
    for (const forDevice of [...this.#active.values()]) {
      for (const active of [...forDevice.values()]) this.#finish(active, error, options.keepStored === true);
    }
  }

  /** Pending count, oldest age and lifetime counters. */
  stats(): DeliveryStats {
    const oldest = this.#store.oldestCreatedAt();
    return {
      pending: this.#store.size(),
      oldestAgeMs: oldest === undefined ? 0 : Math.max(0, this.#now() - oldest),
      redelivered: this.#redelivered,
      completed: this.#outcomes.completed,
      timedOut: this.#outcomes.timedOut,
      outcomes: { ...this.#outcomes },
    };
  }

  #activeFor(deviceId: string, key: string): ActiveDelivery | undefined {
    return this.#active.get(deviceId)?.get(key);
  }

  #finish(active: ActiveDelivery, outcome: "completed" | "cancelled" | Error, keepStored = false): void {
    const { deviceId, key } = active.pending;
    const forDevice = this.#active.get(deviceId);
    if (forDevice?.get(key) !== active) return;
    forDevice.delete(key);
    if (forDevice.size === 0) this.#active.delete(deviceId);
    active.timer?.cancel();
    active.detachSignal?.();
    if (!keepStored) {
      Promise.resolve(this.#store.remove(deviceId, key)).catch((error: unknown) =>
        this.#logger.error({ deviceId, key, error: asError(error).message }, "pending delivery store failed"),
      );
    }
    this.#outcomes[outcomeOf(outcome)]++;
    if (outcome === "completed") {
      this.#rememberCompleted(idOf(deviceId, key), active.replyDef.type, active.replyKey);
      active.queue.end();
    } else if (outcome !== "cancelled") {
      active.queue.fail(outcome);
    }
  }

  #rememberCompleted(id: string, type: number, keyOf: KeyOf): void {
    this.#forgetCompleted(id);
    this.#completed.set(id, { type, keyOf });
    let counts = this.#completedKeyOf.get(type);
    if (counts === undefined) {
      counts = new Map();
      this.#completedKeyOf.set(type, counts);
    }
    counts.set(keyOf, (counts.get(keyOf) ?? 0) + 1);
    if (this.#completed.size > RECENTLY_COMPLETED) {
      const oldest = this.#completed.keys().next().value;
      if (oldest !== undefined) this.#forgetCompleted(oldest);
    }
  }

  #forgetCompleted(id: string): void {
    const entry = this.#completed.get(id);
    if (entry === undefined) return;
    this.#completed.delete(id);
    const counts = this.#completedKeyOf.get(entry.type);
    const left = (counts?.get(entry.keyOf) ?? 1) - 1;
    if (left > 0) counts?.set(entry.keyOf, left);
    else {
      counts?.delete(entry.keyOf);
      if (counts?.size === 0) this.#completedKeyOf.delete(entry.type);
    }
  }
}

/** Encodes a delivery's request once; a throwing codec becomes an `EncodeError` (thrown by deliver()). */
function encodeRequest<Req>(def: MessageDef<Req>, message: Req, peer: string): Uint8Array {
  try {
    return def.codec.encode(message);
  } catch (cause) {
    // A broken size bound already names message, field and limit, and keeps its own code.
    if (cause instanceof EncodeError) throw cause;
    throw new EncodeError(`cannot encode ${def.name}: ${asError(cause).message}`, {
      peer,
      frameType: def.type,
      messageName: def.name,
      cause,
    });
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
