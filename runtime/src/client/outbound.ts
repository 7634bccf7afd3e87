/**
 * The client's outbound path while the connection comes and goes: writes to the current link when
 * online, otherwise the bounded offline queue or a typed refusal, and the acks of guarded commands
 * held until the next login. After a login both are written at the pace the connection drains (a
 * backed-up socket is waited for, never overflowed), and what is sent meanwhile queues behind them,
 * so order holds. A `send()` that resolved is kept until it is written (or the client is stopped):
 * whatever cannot be kept is refused at `send()` with a typed error, never dropped later.
 */
import type { MessageDef } from "../codec.js";
import type { RecordedReply } from "../delivery/idempotency.js";
import {
  FrameTooLargeError,
  HandlerError,
  NotConnectedError,
  PaynetError,
  QueueFullError,
} from "../errors.js";
import { lengthFieldFor } from "../frame/encoder.js";
import type { LengthMode } from "../frame/options.js";
import type { Logger } from "../logger.js";
import type { ClientLink } from "./link.js";
import type { OfflineQueue } from "./offline-queue.js";

/** Acks of guarded commands held while offline; beyond this the oldest is reported and dropped. */
const MAX_HELD_ACKS = 1_024;

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
  isStopping(): boolean;
  /** `host:port` of the server, named in errors. */
  readonly peer: string;
  readonly logger: Logger;
  /** The client's `error` event. */
  report(error: PaynetError): void;
  /** The framing every connection of the client uses: a queued message must fit it to be kept. */
  readonly framing: { readonly maxFrame: number; readonly lengthMode: LengthMode | undefined };
}

/** See the module comment. */
export class Outbound {
  readonly #host: OutboundHost;
  readonly #queue: OfflineQueue | undefined;
  readonly #heldAcks: RecordedReply[] = [];
  /** The link the backlog is being written to (it waits for that link's drain when backed up). */
  #pumping: ClientLink | undefined;

  constructor(host: OutboundHost, queue: OfflineQueue | undefined) {
    this.#host = host;
    this.#queue = queue;
  }

  /** Messages and wire bytes waiting in the offline queue. */
  get queued(): { messages: number; bytes: number } {
    return { messages: this.#queue?.messages ?? 0, bytes: this.#queue?.bytes ?? 0 };
  }

  /**
   * Sends an encoded message: written when online (behind the backlog of the offline queue, while
   * one is being written); queued while offline when an offline queue is configured; else rejects
   * with `NotConnectedError`. A message the queue cannot keep rejects with `QueueFullError('offline')`,
   * one the connection could never write (over `maxFrame`) with `FrameTooLargeError`.
   */
  send(def: MessageDef<unknown>, payload: Uint8Array): Promise<void> {
    const link = this.#host.onlineLink();
    const queue = this.#queue;
    if (link !== undefined && (queue === undefined || queue.messages === 0))
      return write(link, def.type, payload);
    if (queue === undefined || this.#host.isStopping()) return Promise.reject(this.notConnected(def.name));
    try {
      this.#checkFits(def, payload);
      queue.push({ type: def.type, name: def.name, payload, queuedAt: Date.now() });
    } catch (error) {
      return Promise.reject(error);
    }
    if (link !== undefined) this.#pump(link);
    return Promise.resolve();
  }

  /** Sends a (not idempotency-guarded) reply to a message that arrived on `origin`. */
  sendReply(origin: ClientLink, def: MessageDef<unknown>, payload: Uint8Array): Promise<void> {
    const link = this.#host.replyLink(origin);
    return link === undefined ? this.send(def, payload) : write(link, def.type, payload);
  }

  /**
   * Sends a recorded reply of a guarded command; held until the next login when it cannot go out
   * now. Beyond {@link MAX_HELD_ACKS} the oldest held ack is reported and forgotten: it is in the
   * idempotency record, so the server's redelivery of its command is answered with it again.
   */
  sendAck(origin: ClientLink, reply: RecordedReply): void {
    const link = this.#host.replyLink(origin);
    if (link !== undefined && this.#heldAcks.length === 0) {
      try {
        link.write(reply.type, reply.payload);
        return;
      } catch (error) {
        this.#host.logger.warn(
          { peer: link.peer, error: String(error) },
          "ack held for the drain or the next login",
        );
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
    if (link !== undefined) this.#pump(link);
  }

  /** Right after login: held acks first (they answer commands), then the offline queue in order. */
  flush(link: ClientLink): void {
    this.#pump(link);
  }

  /**
   * The client stopped: the offline queue is emptied with one `error` event naming what was not
   * sent; held acks are forgotten (their replies are in the idempotency record).
   */
  clear(): void {
    this.#pumping = undefined;
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

  /**
   * A message the connection would refuse for good (Len above `maxFrame`) is refused here, before
   * it is queued: its `send()` must not resolve for a message that can never be written.
   */
  #checkFits(def: MessageDef<unknown>, payload: Uint8Array): void {
    const { maxFrame, lengthMode } = this.#host.framing;
    const len = lengthFieldFor(payload.length, lengthMode);
    if (len > maxFrame) {
      throw new FrameTooLargeError(len, maxFrame, {
        peer: this.#host.peer,
        frameType: def.type,
        messageName: def.name,
      });
    }
  }

  /** `NotConnectedError` for a message that could not be sent. */
  notConnected(messageName: string): NotConnectedError {
    return new NotConnectedError(`not connected: cannot send ${messageName}`, {
      peer: this.#host.peer,
      messageName,
    });
  }

  /**
   * Writes the backlog (held acks, then the offline queue) to `link` until it is empty, the link
   * backs up (then again at its drain) or the link is gone (the rest waits for the next login).
   */
  #pump(link: ClientLink): void {
    if (this.#pumping === link) return;
    this.#pumping = link;
    for (;;) {
      if (link.isClosed || this.#host.onlineLink() !== link) {
        this.#pumping = undefined;
        return;
      }
      const ack = this.#heldAcks[0];
      const entry = ack === undefined ? this.#queue?.peek() : undefined;
      const next = ack ?? entry;
      if (next === undefined) {
        this.#pumping = undefined;
        return;
      }
      try {
        link.write(next.type, next.payload);
      } catch (error) {
        if (error instanceof QueueFullError && error.queue === "outbound") {
          link.connection.whenWritable(() => {
            if (this.#pumping !== link) return;
            this.#pumping = undefined;
            this.#pump(link);
          });
          return;
        }
        // Closed under us, or a frame the connection refuses for good: queued messages were checked
        // against the framing at send(), so this is only a held ack of a command (it stays in the
        // idempotency record); reported and skipped, so one bad frame cannot hold up the rest.
        if (link.isClosed) {
          this.#pumping = undefined;
          return;
        }
        this.#host.report(asPaynetError(error, link.peer));
      }
      if (ack !== undefined) this.#heldAcks.shift();
      else this.#queue?.shift();
    }
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
