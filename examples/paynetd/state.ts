/**
 * What paynetd remembers: registered devices (and whether they got their first CoinCommand) and the
 * last reported state of every order. Kept in memory in Maps (a serial or order id such as
 * `__proto__` is an ordinary key), bounded by count, and, when a path is given, written to a JSON
 * file asynchronously and atomically, many changes per write ({@link StateFileWriter}), so a
 * restarted paynetd still knows its devices and orders.
 */
import { readFileSync } from "node:fs";
import { CoinState } from "../sdk/index.js";
import { isFinalCoinState } from "../shared/coin.js";
import { ExampleError } from "../shared/errors.js";
import { StateFileWriter, type StateFileWriterOptions } from "./state-file.js";
import { type DeviceRecord, formatState, type OrderRecord, parseState } from "./state-format.js";

export type { DeviceRecord, OrderRecord } from "./state-format.js";

/** How much paynetd keeps; a registration or order beyond it is refused, nothing is evicted. */
export interface StateLimits {
  readonly maxDevices: number;
  readonly maxOrders: number;
}

export const DEFAULT_STATE_LIMITS: StateLimits = { maxDevices: 100_000, maxOrders: 100_000 };

/**
 * Longest serial paynetd registers: under mTLS the serial is the certificate's CN, which holds at
 * most 64 characters (X.520 ub-common-name).
 */
export const MAX_SERIAL_LENGTH = 64;
const SERIAL = /^[\x21-\x7e]+$/;
/** A device's error text is kept up to this length. */
const MAX_ERROR_LENGTH = 256;

export interface PaynetdStateOptions {
  /** The state file; in memory only when absent. */
  readonly path?: string;
  readonly limits?: Partial<StateLimits>;
  /** How the file is written (delay, failures of writes started by changes). */
  readonly writer?: StateFileWriterOptions;
}

/** Outcome of recording one CoinAck. */
export type AckOutcome =
  | {
      readonly order: OrderRecord;
      /** The ack did not move the order forward (repeated, late or after the final state). */
      readonly repeated: boolean;
    }
  | {
      /** The order belongs to this device, not to the one that sent the ack; nothing changed. */
      readonly foreign: string;
    }
  | {
      /** No such order (never sent, or sent by a paynetd that kept no state); nothing recorded. */
      readonly unknown: true;
    };

export class PaynetdState {
  readonly #limits: StateLimits;
  readonly #devicesBySerial = new Map<string, DeviceRecord>();
  readonly #devicesById = new Map<string, DeviceRecord>();
  readonly #orders = new Map<string, OrderRecord>();
  readonly #file: StateFileWriter | undefined;

  private constructor(options: PaynetdStateOptions) {
    this.#limits = { ...DEFAULT_STATE_LIMITS, ...options.limits };
    this.#file =
      options.path === undefined
        ? undefined
        : new StateFileWriter(
            options.path,
            () =>
              formatState({
                devices: [...this.#devicesBySerial.values()],
                orders: [...this.#orders.values()],
              }),
            options.writer,
          );
  }

  /**
   * Opens the state in `options.path` (empty when the file does not exist yet), or in memory only.
   * A file holding more than the limits is loaded whole; new entries are refused until it shrinks.
   * Throws `STATE_FILE` when the file cannot be read or is not a state file.
   */
  static open(options: PaynetdStateOptions = {}): PaynetdState {
    const state = new PaynetdState(options);
    const { path } = options;
    if (path === undefined) return state;
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return state;
      throw new ExampleError("STATE_FILE", `cannot read ${path}: ${String(error)}`, { cause: error });
    }
    const content = parseState(text, path);
    for (const device of content.devices) {
      state.#devicesBySerial.set(device.serial, device);
      state.#devicesById.set(device.deviceId, device);
    }
    for (const order of content.orders) state.#orders.set(order.orderId, order);
    return state;
  }

  /** Registered devices and known orders. */
  get size(): { readonly devices: number; readonly orders: number } {
    return { devices: this.#devicesBySerial.size, orders: this.#orders.size };
  }

  /** Registered devices and known orders (see {@link PaynetdStore.counts}). */
  counts(): { readonly devices: number; readonly orders: number } {
    return this.size;
  }

  /** Completed writes of the state file (0 in memory). */
  get writes(): number {
    return this.#file?.writes ?? 0;
  }

  /**
   * Registers `deviceSn` (idempotent): its device id and whether it is new. Throws
   * `DEVICE_SN_INVALID` for a serial that is empty, too long or not printable ASCII, and
   * `DEVICES_FULL` when `maxDevices` devices are registered.
   */
  register(deviceSn: string): { deviceId: string; isNew: boolean } {
    const known = this.#devicesBySerial.get(deviceSn);
    if (known !== undefined) return { deviceId: known.deviceId, isNew: false };
    if (deviceSn.length > MAX_SERIAL_LENGTH || !SERIAL.test(deviceSn)) {
      throw new ExampleError(
        "DEVICE_SN_INVALID",
        `device_sn must be 1 to ${MAX_SERIAL_LENGTH} printable ASCII characters without spaces`,
      );
    }
    if (this.#devicesBySerial.size >= this.#limits.maxDevices) {
      throw new ExampleError(
        "DEVICES_FULL",
        `the device registry is full (${this.#limits.maxDevices} devices, --max-devices)`,
      );
    }
    const device: DeviceRecord = { serial: deviceSn, deviceId: `dev-${deviceSn}`, commanded: false };
    this.#devicesBySerial.set(deviceSn, device);
    this.#devicesById.set(device.deviceId, device);
    this.#file?.changed();
    return { deviceId: device.deviceId, isNew: true };
  }

  /** The device id registered for `deviceSn`, if any (the certificate binding's login check). */
  deviceIdOf(deviceSn: string): string | undefined {
    return this.#devicesBySerial.get(deviceSn)?.deviceId;
  }

  isRegistered(deviceId: string): boolean {
    return this.#devicesById.has(deviceId);
  }

  /** Marks that the registered `deviceId` got its first command; false when it had, or is unknown. */
  markCommanded(deviceId: string): boolean {
    const device = this.#devicesById.get(deviceId);
    if (device === undefined || device.commanded) return false;
    device.commanded = true;
    this.#file?.changed();
    return true;
  }

  /**
   * Why `orderId` cannot be sent to `deviceId` with `coins`: it is known for another device or with
   * other coins. `undefined` when the order is new, or the same order again (a retry).
   */
  orderConflict(orderId: string, deviceId: string, coins: number): string | undefined {
    const known = this.#orders.get(orderId);
    if (known === undefined) return undefined;
    if (known.deviceId !== deviceId) return `order ${orderId} belongs to another device`;
    if (known.coins !== coins) {
      return `order ${orderId} was already sent with ${known.coins} coin(s), not ${coins}`;
    }
    return undefined;
  }

  /**
   * Starts tracking an order, or returns the known one (a repeated order id keeps its state).
   * Throws `ORDER_CONFLICT` when the order id is known for another device or with other coins, and
   * `ORDERS_FULL` when `maxOrders` orders are known.
   */
  addOrder(orderId: string, deviceId: string, coins: number): OrderRecord {
    const conflict = this.orderConflict(orderId, deviceId, coins);
    if (conflict !== undefined) throw new ExampleError("ORDER_CONFLICT", conflict);
    const known = this.#orders.get(orderId);
    if (known !== undefined) return known;
    if (this.#orders.size >= this.#limits.maxOrders) {
      throw new ExampleError(
        "ORDERS_FULL",
        `the order book is full (${this.#limits.maxOrders} orders, --max-orders)`,
      );
    }
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
    this.#orders.set(orderId, order);
    this.#file?.changed();
    return order;
  }

  /** The order `orderId` of `deviceId`; another device's order is as unknown as a missing one. */
  order(deviceId: string, orderId: string): OrderRecord | undefined {
    const order = this.#orders.get(orderId);
    return order?.deviceId === deviceId ? order : undefined;
  }

  /**
   * Applies one CoinAck of `deviceId`. The state only moves forward (ACCEPTED → RUNNING →
   * DONE/FAILED) and a final state is never left, so repeated or late acks leave the order
   * consistent. An ack for another device's order (`foreign`) or for no known order (`unknown`)
   * changes nothing: a device cannot make paynetd store orders it never sent.
   */
  recordAck(
    deviceId: string,
    ack: { orderId: string; state: number; progress: number; error: string },
  ): AckOutcome {
    const order = this.#orders.get(ack.orderId);
    if (order === undefined) return { unknown: true };
    if (order.deviceId !== deviceId) return { foreign: order.deviceId };
    order.acks++;
    const forward =
      !isFinalCoinState(order.state) && (ack.state > order.state || ack.progress > order.progress);
    const first = order.acks === 1;
    if (forward || first) {
      order.state = isFinalCoinState(order.state) ? order.state : Math.max(order.state, ack.state);
      order.progress = Math.max(order.progress, ack.progress);
      order.error = ack.error.slice(0, MAX_ERROR_LENGTH);
    }
    order.updatedAt = new Date().toISOString();
    this.#file?.changed();
    return { order, repeated: !(forward || first) };
  }

  /** Writes every change made so far to the state file (a no-op in memory). Rejects with `STATE_FILE`. */
  flush(): Promise<void> {
    return this.#file?.flush() ?? Promise.resolve();
  }
}
