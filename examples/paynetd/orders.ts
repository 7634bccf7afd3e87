/**
 * Cloud → device coin commands: sent at-least-once (re-sent after every re-login until the final
 * CoinAck), with every CoinAck recorded and logged.
 */
import { randomBytes } from "node:crypto";
import type { DeliveryOptions } from "@paynet/runtime";
import type { CoinAck, CoinCommand } from "../sdk/index.js";
import { coinStateName, isFinalCoinState } from "../shared/coin.js";
import { ExampleError } from "../shared/errors.js";
import { type Log, wireText } from "../shared/log.js";
import type { OrderRecord } from "./state.js";
import type { PaynetdStore } from "./store.js";

/** What a coin command needs. */
export interface CoinOrder {
  readonly orderId: string;
  readonly coins: number;
  /** Seconds the device may take. */
  readonly timeout: number;
}

/** Default seconds a device gets to dispense. */
export const DEFAULT_COIN_TIMEOUT_S = 60;
/** Acks for unknown orders are logged once per window; the others in between are only counted. */
const UNKNOWN_ACK_LOG_WINDOW_MS = 10_000;

/** At-least-once delivery of a CoinCommand (the generated `server.deliverCoinCommand`). */
export type DeliverCoinCommand = (
  deviceId: string,
  command: Partial<CoinCommand>,
  options: DeliveryOptions<CoinAck>,
) => AsyncIterable<CoinAck>;

/** Plain (not tracked) send of a CoinCommand frame (the generated `server.sendCoinCommand`). */
export type SendCoinCommand = (deviceId: string, command: Partial<CoinCommand>) => Promise<void>;

/** An order whose delivery is still running. */
interface RunningOrder {
  readonly deviceId: string;
  readonly done: Promise<OrderRecord>;
}

/** Sends coin commands and follows their acks. */
export class OrderDesk {
  readonly #deliver: DeliverCoinCommand;
  readonly #send: SendCoinCommand;
  readonly #state: PaynetdStore;
  readonly #log: Log;
  /** Orders whose delivery is still running, so a concurrent duplicate joins it. */
  readonly #running = new Map<string, RunningOrder>();
  #unknownAcks = 0;
  /** Unknown-order acks since the last line about them, and when the next line may be printed. */
  #unknownAcksUnlogged = 0;
  #nextUnknownAckLogAt = 0;
  readonly #acksRecordedByHolder: boolean;

  /**
   * `options.acksRecordedByHolder`: in a cluster the node holding the device records every CoinAck
   * (`RedisCluster` "reply" event, also when the node that pushed is gone); the pushing node only
   * waits for the end and then reads the order's state.
   */
  constructor(
    deliver: DeliverCoinCommand,
    send: SendCoinCommand,
    state: PaynetdStore,
    log: Log,
    options: { acksRecordedByHolder?: boolean } = {},
  ) {
    this.#deliver = deliver;
    this.#send = send;
    this.#state = state;
    this.#log = log;
    this.#acksRecordedByHolder = options.acksRecordedByHolder ?? false;
  }

  /** CoinAcks that named no known order (ignored, not stored). */
  get unknownAcks(): number {
    return this.#unknownAcks;
  }

  /** A fresh order id, e.g. `ORD-20240201-120000-9f3a`. */
  static newOrderId(now = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
    return `ORD-${stamp}-${randomBytes(2).toString("hex")}`;
  }

  /**
   * Sends `order` to `deviceId` and resolves with the order's final recorded state. Rejects with
   * `ORDER_CONFLICT` ({@link ExampleError}) when the order id is known for another device or with
   * other coins, and with the runtime's error when the delivery fails (deadline, server stopping).
   *
   * The same order while its delivery still runs (an operator retrying) is sent to the device once
   * more, as a duplicate on the wire: the device must answer it from its record, not dispense again.
   * The answer is the running delivery's.
   */
  async push(deviceId: string, order: CoinOrder): Promise<OrderRecord> {
    const conflict = await this.#state.orderConflict(order.orderId, deviceId, order.coins);
    if (conflict !== undefined) throw new ExampleError("ORDER_CONFLICT", conflict);
    const running = this.#running.get(order.orderId);
    if (running !== undefined) {
      this.#log.info(
        { event: "delivery", phase: "resent", deviceId, orderId: order.orderId, coins: order.coins },
        `-> CoinCommand ${deviceId} order=${order.orderId} coins=${order.coins} timeout=${order.timeout}s (again, while it runs)`,
      );
      await this.#send(deviceId, order);
      return running.done;
    }
    const done = this.#deliverAndFollow(deviceId, order);
    this.#running.set(order.orderId, { deviceId, done });
    try {
      return await done;
    } finally {
      this.#running.delete(order.orderId);
    }
  }

  async #deliverAndFollow(deviceId: string, order: CoinOrder): Promise<OrderRecord> {
    await this.#state.addOrder(order.orderId, deviceId, order.coins);
    this.#log.info(
      { event: "delivery", phase: "sent", deviceId, orderId: order.orderId, coins: order.coins },
      `-> CoinCommand ${deviceId} order=${order.orderId} coins=${order.coins} timeout=${order.timeout}s`,
    );
    // Ends on the first CoinAck in a (paynet.final) state (COIN_DONE, COIN_FAILED): the SDK knows them.
    const acks = this.#deliver(deviceId, order, {
      // The device's own timeout plus slack for reconnects while it dispenses.
      deadlineMs: (order.timeout + 30) * 1000,
      // Recorded the moment each ack arrives, before the device's next frame is handled: a QueryReq
      // sent right behind the final CoinAck must read the final state (read-your-writes). In a
      // cluster the node holding the device records it (RedisCluster "reply"), wherever this runs.
      ...(this.#acksRecordedByHolder
        ? {}
        : { onReply: (ack: CoinAck) => void this.recordAck(deviceId, ack) }),
    });
    for await (const _ack of acks) {
      // Recorded by onReply, or by the node holding the device in a cluster; the loop only waits
      // for the final ack (or the deadline).
    }
    const final = await this.#finalState(deviceId, order.orderId);
    if (final === undefined) throw new Error(`order ${order.orderId} vanished from the state`);
    return final;
  }

  /** The order once its state is final (in a cluster the holder's record of the last ack may lag a little). */
  async #finalState(deviceId: string, orderId: string): Promise<OrderRecord | undefined> {
    let order = await this.#state.order(deviceId, orderId);
    for (
      let i = 0;
      this.#acksRecordedByHolder && i < 40 && order !== undefined && !isFinalCoinState(order.state);
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      order = await this.#state.order(deviceId, orderId);
    }
    return order;
  }

  /**
   * Records and logs one CoinAck (from a delivery or arriving on its own, e.g. repeated). An ack
   * for another device's order is ignored with a warning; one for an order paynetd does not know is
   * ignored and counted, with one warning per window (a device sending thousands costs no log).
   */
  async recordAck(
    deviceId: string,
    ack: { orderId: string; state: number; progress: number; error: string },
  ): Promise<void> {
    const outcome = await this.#state.recordAck(deviceId, ack);
    const error = ack.error === "" ? "" : ` error=${wireText(ack.error, true)}`;
    const what = `CoinAck ${deviceId} order=${wireText(ack.orderId)} state=${coinStateName(ack.state)} progress=${ack.progress}${error}`;
    if ("foreign" in outcome) {
      this.#log.warn(`<- ${what} ignored: the order belongs to another device`);
      return;
    }
    if ("unknown" in outcome) {
      this.#unknownAck(what);
      return;
    }
    const { order, repeated } = outcome;
    const note = repeated ? ` (repeat; order stays ${coinStateName(order.state)} ${order.progress}%)` : "";
    this.#log.info(`<- ${what}${note}`);
  }

  #unknownAck(what: string): void {
    this.#unknownAcks++;
    const now = Date.now();
    if (now < this.#nextUnknownAckLogAt) {
      this.#unknownAcksUnlogged++;
      return;
    }
    const since =
      this.#unknownAcksUnlogged === 0 ? "" : `; ${this.#unknownAcksUnlogged} more since the last such line`;
    this.#log.warn(`<- ${what} ignored: no such order (${this.#unknownAcks} unknown-order acks${since})`);
    this.#unknownAcksUnlogged = 0;
    this.#nextUnknownAckLogAt = now + UNKNOWN_ACK_LOG_WINDOW_MS;
  }
}
