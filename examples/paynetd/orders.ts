/**
 * Cloud → device coin commands: sent at-least-once (re-sent after every re-login until the final
 * CoinAck), with every CoinAck recorded and logged.
 */
import { randomBytes } from "node:crypto";
import type { DeliveryOptions } from "@paynet/runtime";
import type { CoinAck, CoinCommand } from "../sdk/index.js";
import { coinStateName, isFinalCoinState } from "../shared/coin.js";
import type { Log } from "../shared/log.js";
import type { OrderRecord, PaynetdState } from "./state.js";

/** What a coin command needs. */
export interface CoinOrder {
  readonly orderId: string;
  readonly coins: number;
  /** Seconds the device may take. */
  readonly timeout: number;
}

/** Default seconds a device gets to dispense. */
export const DEFAULT_COIN_TIMEOUT_S = 60;

/** At-least-once delivery of a CoinCommand (the generated `server.deliverCoinCommand`). */
export type DeliverCoinCommand = (
  deviceId: string,
  command: Partial<CoinCommand>,
  options: DeliveryOptions<CoinAck>,
) => AsyncIterable<CoinAck>;

/** Sends coin commands and follows their acks. */
export class OrderDesk {
  readonly #deliver: DeliverCoinCommand;
  readonly #state: PaynetdState;
  readonly #log: Log;
  /** Orders whose delivery is still running, so a concurrent duplicate can be told apart. */
  readonly #inFlight = new Set<string>();

  constructor(deliver: DeliverCoinCommand, state: PaynetdState, log: Log) {
    this.#deliver = deliver;
    this.#state = state;
    this.#log = log;
  }

  /** A fresh order id, e.g. `ORD-20240201-120000-9f3a`. */
  static newOrderId(now = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
    return `ORD-${stamp}-${randomBytes(2).toString("hex")}`;
  }

  isInFlight(orderId: string): boolean {
    return this.#inFlight.has(orderId);
  }

  /**
   * Sends `order` to `deviceId` and resolves with the order's final recorded state. Rejects with the
   * runtime's error when the delivery fails (deadline, server stopping).
   */
  async push(deviceId: string, order: CoinOrder): Promise<OrderRecord> {
    this.#inFlight.add(order.orderId);
    this.#state.addOrder(order.orderId, deviceId, order.coins);
    this.#log.info(
      `-> CoinCommand ${deviceId} order=${order.orderId} coins=${order.coins} timeout=${order.timeout}s`,
    );
    try {
      const acks = this.#deliver(deviceId, order, {
        isFinal: (ack) => isFinalCoinState(ack.state),
        // The device's own timeout plus slack for reconnects while it dispenses.
        deadlineMs: (order.timeout + 30) * 1000,
      });
      for await (const ack of acks) this.recordAck(deviceId, ack);
    } finally {
      this.#inFlight.delete(order.orderId);
    }
    const final = this.#state.order(order.orderId);
    if (final === undefined) throw new Error(`order ${order.orderId} vanished from the state`);
    return final;
  }

  /** Records and logs one CoinAck (from a delivery or arriving on its own, e.g. repeated). */
  recordAck(
    deviceId: string,
    ack: { orderId: string; state: number; progress: number; error: string },
  ): void {
    const { order, repeated } = this.#state.recordAck(deviceId, ack);
    const error = ack.error === "" ? "" : ` error="${ack.error}"`;
    const note = repeated ? ` (repeat; order stays ${coinStateName(order.state)} ${order.progress}%)` : "";
    this.#log.info(
      `<- CoinAck ${deviceId} order=${ack.orderId} state=${coinStateName(ack.state)} progress=${ack.progress}${error}${note}`,
    );
  }
}
