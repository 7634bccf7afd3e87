/**
 * The client's outbound path while the connection comes and goes: writes to the current link when
 * online, otherwise the bounded offline queue (with its age-out timer) or a typed refusal, and the
 * acks of guarded commands held until the next login. Nothing is dropped without an error event.
 */
import type { MessageDef } from "../codec.js";
import type { RecordedReply } from "../delivery/idempotency.js";
import { HandlerError, NotConnectedError, PaynetError, QueueFullError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { TimerWheel, WheelTimer } from "../timers.js";
import type { ClientLink } from "./link.js";
import type { OfflineEntry, OfflineQueue } from "./offline-queue.js";

/** Acks of guarded commands held while offline; beyond this the oldest is reported and dropped. */
export const MAX_HELD_ACKS = 1_024;

/** What the outbound path needs from the client. */
export interface OutboundHost {
  /** The link of the logged-in connection, if the client is online. */
  onlineLink(): ClientLink | undefined;
  /**
   * The link a reply to a message that arrived on `origin` goes out on: the current link once
   * online, or `origin` itself during the login flow.
   */
  replyLink(origin: ClientLink): ClientLink | undefined;
  /** True once `stop()` began: nothing new is queued. */
  readonly stopping: boolean;
  /** `host:port` of the server, named in errors. */
  readonly peer: string;
  readonly logger: Logger;
  readonly wheel: TimerWheel;
  /** The client's `error` event. */
  report(error: PaynetError): void;
}

/** See the module comment. */
export class Outbound {
  readonly #host: OutboundHost;
  readonly #queue: OfflineQueue | undefined;
  readonly #heldAcks: RecordedReply[] = [];
  #expiryTimer: WheelTimer | undefined;

  constructor(host: OutboundHost, queue: OfflineQueue | undefined) {
    this.#host = host;
    this.#queue = queue;
  }

  /** Messages and wire bytes waiting in the offline queue. */
  get queued(): { messages: number; bytes: number } {
    return { messages: this.#queue?.messages ?? 0, bytes: this.#queue?.bytes ?? 0 };
  }

  /**
   * Sends an encoded message: written when online; queued while offline when an offline queue is
   * configured (`QueueFullError('offline')` when full); else rejects with `NotConnectedError`.
   */
  send(def: MessageDef<unknown>, payload: Uint8Array): Promise<void> {
    const link = this.#host.onlineLink();
    if (link !== undefined) return write(link, def.type, payload);
    const queue = this.#queue;
    if (queue === undefined || this.#host.stopping) return Promise.reject(this.notConnected(def.name));
    try {
      queue.push({ type: def.type, name: def.name, payload, queuedAt: Date.now() });
    } catch (error) {
      return Promise.reject(error);
    }
    this.#armExpiry();
    return Promise.resolve();
  }

  /** Sends a (not idempotency-guarded) reply to a message that arrived on `origin`. */
  sendReply(origin: ClientLink, def: MessageDef<unknown>, payload: Uint8Array): Promise<void> {
    const link = this.#host.replyLink(origin);
    return link === undefined ? this.send(def, payload) : write(link, def.type, payload);
  }

  /** Sends a recorded reply of a guarded command; held until the next login when it cannot go out now. */
  sendAck(origin: ClientLink, reply: RecordedReply): void {
    const link = this.#host.replyLink(origin);
    if (link !== undefined) {
      try {
        link.write(reply.type, reply.payload);
        return;
      } catch (error) {
        this.#host.logger.warn({ peer: link.peer, error: String(error) }, "ack held for the next login");
      }
    }
    if (this.#heldAcks.length >= MAX_HELD_ACKS) {
      const dropped = this.#heldAcks.shift() as RecordedReply;
      this.#host.report(
        new QueueFullError("offline", `${MAX_HELD_ACKS} held acks; dropped the oldest`, {
          peer: this.#host.peer,
          frameType: dropped.type,
        }),
      );
    }
    this.#heldAcks.push(reply);
  }

  /** Right after login: held acks first (they answer commands), then the offline queue in order. */
  flush(link: ClientLink): void {
    this.#flushHeldAcks(link);
    this.#flushOfflineQueue(link);
  }

  /**
   * The client stopped: the offline queue is emptied with one `error` event naming what was not
   * sent; held acks are forgotten (their replies are in the idempotency record).
   */
  clear(): void {
    this.#expiryTimer?.cancel();
    const dropped = this.#queue?.clear() ?? [];
    if (dropped.length > 0) {
      this.#host.report(
        new NotConnectedError(
          `client stopped: ${dropped.length} queued message(s) not sent (${dropped.map((e) => e.name).join(", ")})`,
          { peer: this.#host.peer },
        ),
      );
    }
    if (this.#heldAcks.length > 0) {
      // Recorded in the idempotency store: the server's redelivery will be answered from the record.
      this.#host.logger.info({ count: this.#heldAcks.length }, "client stopped with held acks");
      this.#heldAcks.length = 0;
    }
  }

  /** `NotConnectedError` for a message that could not be sent. */
  notConnected(messageName: string): NotConnectedError {
    return new NotConnectedError(`not connected: cannot send ${messageName}`, {
      peer: this.#host.peer,
      messageName,
    });
  }

  #flushHeldAcks(link: ClientLink): void {
    while (this.#heldAcks.length > 0) {
      const reply = this.#heldAcks[0] as RecordedReply;
      try {
        link.write(reply.type, reply.payload);
      } catch (error) {
        this.#host.report(asPaynetError(error, link.peer));
        return;
      }
      this.#heldAcks.shift();
    }
  }

  #flushOfflineQueue(link: ClientLink): void {
    const queue = this.#queue;
    if (queue === undefined) return;
    this.#expireQueued();
    for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) {
      try {
        link.write(entry.type, entry.payload);
      } catch (error) {
        this.#host.report(asPaynetError(error, link.peer));
      }
    }
    this.#expiryTimer?.cancel();
  }

  /** One wheel timer, due when the oldest queued message ages out. */
  #armExpiry(): void {
    const queue = this.#queue;
    const oldest = queue?.oldestQueuedAt;
    if (queue === undefined || oldest === undefined) {
      this.#expiryTimer?.cancel();
      return;
    }
    const delay = Math.max(0, oldest + queue.limits.maxAgeMs - Date.now());
    if (this.#expiryTimer === undefined)
      this.#expiryTimer = this.#host.wheel.schedule(delay, () => this.#expireQueued());
    else if (!this.#expiryTimer.active) this.#expiryTimer.reschedule(delay);
  }

  #expireQueued(): void {
    const queue = this.#queue;
    if (queue === undefined) return;
    for (const entry of queue.expire(Date.now())) this.#host.report(this.#expired(entry, queue));
    this.#armExpiry();
  }

  #expired(entry: OfflineEntry, queue: OfflineQueue): NotConnectedError {
    return new NotConnectedError(
      `${entry.name} dropped from the offline queue: not sent within maxAgeMs ${queue.limits.maxAgeMs} ms`,
      { peer: this.#host.peer, frameType: entry.type, messageName: entry.name },
    );
  }
}

/** Writes one frame; a refusal of the connection (queue full, closed) becomes a rejection. */
function write(link: ClientLink, type: number, payload: Uint8Array): Promise<void> {
  try {
    link.write(type, payload);
    return Promise.resolve();
  } catch (error) {
    return Promise.reject(asPaynetError(error, link.peer));
  }
}

/** A `PaynetError` as is; anything else wrapped as `HandlerError` naming the peer. */
export function asPaynetError(error: unknown, peer?: string): PaynetError {
  if (error instanceof PaynetError) return error;
  return new HandlerError({ ...(peer === undefined ? {} : { peer }), cause: error });
}
