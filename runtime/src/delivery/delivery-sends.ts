/**
 * The sends of pending deliveries: through the transport to the device's current session, counted
 * (a record's attempts, the redeliveries) and numbered, so that the re-send after a login skips a
 * delivery that already went out on the new session.
 */
import { messageOf } from "../errors.js";
import type { Logger } from "../logger.js";
import type { PendingDelivery } from "./types.js";

/** How the delivery manager reaches devices. */
export interface DeliveryTransport {
  /**
   * Sends one frame to the device's current session. Returns false when the device is not online;
   * throws (e.g. `QueueFullError`) when the session cannot take it.
   */
  sendFrame(deviceId: string, type: number, payload: Uint8Array): boolean;
}

export class DeliverySends {
  readonly #transport: DeliveryTransport;
  readonly #logger: Logger;
  #redelivered = 0;
  /** Counts successful sends; a delivery's last send number tells whether it went out after a login. */
  #count = 0;
  readonly #lastSend = new WeakMap<PendingDelivery, number>();

  constructor(transport: DeliveryTransport, logger: Logger) {
    this.#transport = transport;
    this.#logger = logger;
  }

  /** Sends that were not a delivery's first. */
  get redelivered(): number {
    return this.#redelivered;
  }

  /** A mark of this moment: {@link sentSince} tells whether a delivery went out after it. */
  mark(): number {
    return this.#count;
  }

  sentSince(pending: PendingDelivery, mark: number): boolean {
    return (this.#lastSend.get(pending) ?? 0) > mark;
  }

  /** Sends `pending` if its device is online; a session that cannot take it keeps it pending. */
  send(pending: PendingDelivery): void {
    try {
      if (!this.#transport.sendFrame(pending.deviceId, pending.type, pending.payload)) return;
    } catch (error) {
      this.#logger.warn(
        { deviceId: pending.deviceId, key: pending.key, error: messageOf(error) },
        "delivery not sent; kept pending for the next login",
      );
      return;
    }
    if (pending.attempts > 0) this.#redelivered++;
    pending.attempts++;
    this.#lastSend.set(pending, ++this.#count);
  }
}
