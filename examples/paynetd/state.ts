/**
 * What paynetd remembers: registered devices, which devices got their first CoinCommand, and the
 * last reported state of every order. Kept in memory, and written to a JSON file after each change
 * when a path is given, so a restarted paynetd still knows its devices and orders.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { CoinState } from "../sdk/index.js";
import { isFinalCoinState } from "../shared/coin.js";
import { ExampleError } from "../shared/errors.js";

/** Last known state of one order. */
export interface OrderRecord {
  readonly orderId: string;
  readonly deviceId: string;
  readonly coins: number;
  state: number;
  progress: number;
  error: string;
  /** CoinAcks received for this order, repeats included. */
  acks: number;
  updatedAt: string;
}

interface StateData {
  /** Device serial number → device id. */
  devices: Record<string, string>;
  /** Device ids that already got their first CoinCommand. */
  commanded: string[];
  orders: Record<string, OrderRecord>;
}

/** Outcome of recording one CoinAck: applied to the order, or refused as another device's. */
export type AckOutcome =
  | {
      readonly order: OrderRecord;
      /** The ack did not move the order forward (repeated, late or after the final state). */
      readonly repeated: boolean;
    }
  | {
      /** The order belongs to this device, not to the one that sent the ack; nothing changed. */
      readonly foreign: string;
    };

export class PaynetdState {
  readonly #path: string | undefined;
  readonly #data: StateData;

  private constructor(path: string | undefined, data: StateData) {
    this.#path = path;
    this.#data = data;
  }

  /** Opens the state in `path` (empty when the file does not exist yet), or in memory only. */
  static open(path: string | undefined): PaynetdState {
    const empty: StateData = { devices: {}, commanded: [], orders: {} };
    if (path === undefined) return new PaynetdState(undefined, empty);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return new PaynetdState(path, empty);
      throw new ExampleError("STATE_FILE", `cannot read ${path}: ${String(error)}`, { cause: error });
    }
    try {
      const data = JSON.parse(text) as Partial<StateData>;
      return new PaynetdState(path, {
        devices: data.devices ?? {},
        commanded: data.commanded ?? [],
        orders: data.orders ?? {},
      });
    } catch (error) {
      throw new ExampleError("STATE_FILE", `${path} is not a paynetd state file: ${String(error)}`, {
        cause: error,
      });
    }
  }

  /** Registers `deviceSn` (idempotent): its device id and whether it is new. */
  register(deviceSn: string): { deviceId: string; isNew: boolean } {
    const known = this.#data.devices[deviceSn];
    if (known !== undefined) return { deviceId: known, isNew: false };
    const deviceId = `dev-${deviceSn}`;
    this.#data.devices[deviceSn] = deviceId;
    this.#save();
    return { deviceId, isNew: true };
  }

  /** The device id registered for `deviceSn`, if any (the certificate binding's login check). */
  deviceIdOf(deviceSn: string): string | undefined {
    return Object.hasOwn(this.#data.devices, deviceSn) ? this.#data.devices[deviceSn] : undefined;
  }

  isRegistered(deviceId: string): boolean {
    return Object.values(this.#data.devices).includes(deviceId);
  }

  /** Marks that `deviceId` got its first command; false when it had already. */
  markCommanded(deviceId: string): boolean {
    if (this.#data.commanded.includes(deviceId)) return false;
    this.#data.commanded.push(deviceId);
    this.#save();
    return true;
  }

  /**
   * Why `orderId` cannot be sent to `deviceId` with `coins`: it is known for another device or with
   * other coins. `undefined` when the order is new, or the same order again (a retry).
   */
  orderConflict(orderId: string, deviceId: string, coins: number): string | undefined {
    const known = this.#data.orders[orderId];
    if (known === undefined) return undefined;
    if (known.deviceId !== deviceId) return `order ${orderId} belongs to another device`;
    if (known.coins !== coins) {
      return `order ${orderId} was already sent with ${known.coins} coin(s), not ${coins}`;
    }
    return undefined;
  }

  /**
   * Starts tracking an order, or returns the known one (a repeated order id keeps its state).
   * Throws `ORDER_CONFLICT` when the order id is known for another device or with other coins.
   */
  addOrder(orderId: string, deviceId: string, coins: number): OrderRecord {
    const conflict = this.orderConflict(orderId, deviceId, coins);
    if (conflict !== undefined) throw new ExampleError("ORDER_CONFLICT", conflict);
    const known = this.#data.orders[orderId];
    if (known !== undefined) return known;
    const order: OrderRecord = {
      orderId,
      deviceId,
      coins,
      state: CoinState.COIN_ACCEPTED,
      progress: 0,
      error: "",
      acks: 0,
      updatedAt: new Date().toISOString(),
    };
    this.#data.orders[orderId] = order;
    this.#save();
    return order;
  }

  /** The order `orderId` of `deviceId`; another device's order is as unknown as a missing one. */
  order(deviceId: string, orderId: string): OrderRecord | undefined {
    const order = this.#data.orders[orderId];
    return order?.deviceId === deviceId ? order : undefined;
  }

  /**
   * Applies one CoinAck of `deviceId`. The state only moves forward (ACCEPTED → RUNNING →
   * DONE/FAILED) and a final state is never left, so repeated or late acks leave the order
   * consistent. An ack for an order of another device changes nothing (`foreign`).
   */
  recordAck(
    deviceId: string,
    ack: { orderId: string; state: number; progress: number; error: string },
  ): AckOutcome {
    const known = this.#data.orders[ack.orderId];
    if (known !== undefined && known.deviceId !== deviceId) return { foreign: known.deviceId };
    // An ack for an order we never sent (e.g. paynetd restarted without --state): remember it.
    const order = known ?? this.addOrder(ack.orderId, deviceId, 0);
    order.acks++;
    const forward =
      !isFinalCoinState(order.state) && (ack.state > order.state || ack.progress > order.progress);
    const first = order.acks === 1;
    if (forward || first) {
      order.state = isFinalCoinState(order.state) ? order.state : Math.max(order.state, ack.state);
      order.progress = Math.max(order.progress, ack.progress);
      order.error = ack.error;
    }
    order.updatedAt = new Date().toISOString();
    this.#save();
    return { order, repeated: !(forward || first) };
  }

  #save(): void {
    if (this.#path === undefined) return;
    // Write-then-rename: a crash mid-write never leaves a truncated state file.
    const temporary = `${this.#path}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(this.#data, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.#path);
  }
}
