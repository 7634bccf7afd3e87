/**
 * The state file's JSON: `{"version": 2, "devices": [...], "orders": [...]}`. Lists of records, not
 * objects keyed by wire values, so a serial or order id such as `__proto__` round-trips like any
 * other. Version 1 files (objects keyed by serial and order id) are still read.
 */
import { ExampleError } from "../shared/errors.js";

/** One registered device. */
export interface DeviceRecord {
  readonly serial: string;
  readonly deviceId: string;
  /** It already got the CoinCommand paynetd sends after a device's first login. */
  commanded: boolean;
}

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

export interface StateContent {
  readonly devices: readonly DeviceRecord[];
  readonly orders: readonly OrderRecord[];
}

/** The file's text for `content`. */
export function formatState(content: StateContent): string {
  return `${JSON.stringify({ version: 2, devices: content.devices, orders: content.orders })}\n`;
}

/** Reads the file's text; throws `STATE_FILE` naming `path` and the faulty entry. */
export function parseState(text: string, path: string): StateContent {
  const fail = (what: string): never => {
    throw new ExampleError("STATE_FILE", `${path} is not a paynetd state file: ${what}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail(String(error));
  }
  if (!isObject(json)) return fail("expected a JSON object");
  const { version } = json;
  if (version === 2) {
    if (!Array.isArray(json.devices) || !Array.isArray(json.orders))
      return fail("expected devices and orders lists");
    return {
      devices: json.devices.map((entry, index) => device(entry) ?? fail(`devices[${index}] is malformed`)),
      orders: json.orders.map((entry, index) => order(entry) ?? fail(`orders[${index}] is malformed`)),
    };
  }
  if (version !== undefined) return fail(`unknown version ${JSON.stringify(version)}`);
  // Version 1: {"devices": {serial: id}, "commanded": [id], "orders": {orderId: record}}.
  const devices = json.devices ?? {};
  const commanded = json.commanded ?? [];
  const orders = json.orders ?? {};
  if (!isObject(devices) || !Array.isArray(commanded) || !isObject(orders))
    return fail("malformed version 1 file");
  const commandedIds = new Set(commanded);
  return {
    devices: Object.entries(devices).map(
      ([serial, deviceId]) =>
        device({ serial, deviceId, commanded: commandedIds.has(deviceId) }) ??
        fail(`devices[${JSON.stringify(serial)}] is malformed`),
    ),
    orders: Object.entries(orders).map(
      ([orderId, entry]) =>
        (order(entry)?.orderId === orderId ? order(entry) : undefined) ??
        fail(`orders[${JSON.stringify(orderId)}] is malformed`),
    ),
  };
}

function device(entry: unknown): DeviceRecord | undefined {
  if (!isObject(entry)) return undefined;
  const { serial, deviceId, commanded } = entry;
  if (typeof serial !== "string" || typeof deviceId !== "string" || typeof commanded !== "boolean")
    return undefined;
  return { serial, deviceId, commanded };
}

function order(entry: unknown): OrderRecord | undefined {
  if (!isObject(entry)) return undefined;
  const { orderId, deviceId, coins, state, progress, error, acks, updatedAt } = entry;
  const counts = [coins, state, progress, acks];
  if (
    typeof orderId !== "string" ||
    typeof deviceId !== "string" ||
    typeof error !== "string" ||
    typeof updatedAt !== "string" ||
    !counts.every((value) => Number.isSafeInteger(value) && (value as number) >= 0)
  )
    return undefined;
  return {
    orderId,
    deviceId,
    coins: coins as number,
    state: state as number,
    progress: progress as number,
    error,
    acks: acks as number,
    updatedAt,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
