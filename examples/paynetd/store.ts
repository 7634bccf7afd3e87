/**
 * What paynetd's handlers, order desk and admin endpoint need from its state, whether it lives in
 * this process ({@link PaynetdState}, optionally in a JSON file) or in Redis shared by every node of
 * a cluster ({@link RedisPaynetdState}, `--redis`). Every method may answer synchronously or with a
 * promise; callers await either.
 */
import type { AckOutcome, OrderRecord } from "./state.js";

type Answer<T> = T | Promise<T>;

export interface PaynetdStore {
  /** Registers `deviceSn` (idempotent). Throws `DEVICE_SN_INVALID` / `DEVICES_FULL`. */
  register(deviceSn: string): Answer<{ deviceId: string; isNew: boolean }>;
  deviceIdOf(deviceSn: string): Answer<string | undefined>;
  isRegistered(deviceId: string): Answer<boolean>;
  /** Marks that `deviceId` got its first command; false when it had (cluster-wide, with Redis). */
  markCommanded(deviceId: string): Answer<boolean>;
  orderConflict(orderId: string, deviceId: string, coins: number): Answer<string | undefined>;
  /** Throws `ORDER_CONFLICT` / `ORDERS_FULL`. */
  addOrder(orderId: string, deviceId: string, coins: number): Answer<OrderRecord>;
  order(deviceId: string, orderId: string): Answer<OrderRecord | undefined>;
  recordAck(
    deviceId: string,
    ack: { orderId: string; state: number; progress: number; error: string },
  ): Answer<AckOutcome>;
  /** Registered devices and known orders (cluster-wide, with Redis). */
  counts(): Answer<{ readonly devices: number; readonly orders: number }>;
  /** Completed writes of the state file (0 where there is none). */
  readonly writes: number;
  /** Makes every change durable (file writes); a no-op where each change already is. */
  flush(): Promise<void>;
}
