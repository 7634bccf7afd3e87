/**
 * paynetd's state in Redis (`--redis`): registered devices, orders and their states shared by every
 * node of the cluster, so a device registered on one node logs in on any other, an order pushed
 * through any node is queried on any, and the command after the first login goes out once per device
 * cluster-wide. Each read-modify-write is one Lua script. Limits and rules are those of the
 * in-process {@link PaynetdState}.
 */
import type { Redis } from "ioredis";
import { CoinState } from "../sdk/index.js";
import { ExampleError } from "../shared/errors.js";
import type { Log } from "../shared/log.js";
import {
  type AckOutcome,
  DEFAULT_STATE_LIMITS,
  MAX_SERIAL_LENGTH,
  type OrderRecord,
  type StateLimits,
} from "./state.js";
import type { PaynetdStore } from "./store.js";

const SERIAL = /^[\x21-\x7e]+$/;
const MAX_ERROR_LENGTH = 256;
const FINAL_STATES = `${CoinState.COIN_DONE},${CoinState.COIN_FAILED}`;

/** KEYS: serial hash, device id key, serial set. ARGV: serial, device id, max devices. */
const REGISTER = `
local known = redis.call('HGET', KEYS[1], 'deviceId')
if known then return {known, '0'} end
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[3]) then return {'', 'full'} end
redis.call('HSET', KEYS[1], 'deviceId', ARGV[2], 'commanded', '0')
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
return {ARGV[2], '1'}
`;

/** KEYS: device id key. ARGV: prefix of serial hashes. Returns 1 the first time only. */
const MARK_COMMANDED = `
local serial = redis.call('GET', KEYS[1])
if not serial then return 0 end
local device = ARGV[1] .. serial
if redis.call('HGET', device, 'commanded') == '1' then return 0 end
redis.call('HSET', device, 'commanded', '1')
return 1
`;

/** KEYS: order hash, order set. ARGV: order id, device id, coins, max orders, now, accepted state. */
const ADD_ORDER = `
local f = redis.call('HMGET', KEYS[1], 'deviceId', 'coins')
if f[1] then
  if f[1] ~= ARGV[2] then return {'conflict', 'order ' .. ARGV[1] .. ' belongs to another device'} end
  if f[2] ~= ARGV[3] then
    return {'conflict', 'order ' .. ARGV[1] .. ' was already sent with ' .. f[2] .. ' coin(s), not ' .. ARGV[3]}
  end
  return {'known'}
end
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[4]) then return {'full'} end
redis.call('HSET', KEYS[1], 'orderId', ARGV[1], 'deviceId', ARGV[2], 'coins', ARGV[3], 'state', ARGV[6],
  'progress', 0, 'error', '', 'acks', 0, 'updatedAt', ARGV[5])
redis.call('SADD', KEYS[2], ARGV[1])
return {'new'}
`;

/**
 * The state only moves forward and a final state is never left (see PaynetdState.recordAck).
 * KEYS: order hash. ARGV: device id, state, progress, error, now, final states ("2,3").
 */
const RECORD_ACK = `
local f = redis.call('HMGET', KEYS[1], 'deviceId', 'state', 'progress')
if not f[1] then return {'unknown'} end
if f[1] ~= ARGV[1] then return {'foreign', f[1]} end
local acks = redis.call('HINCRBY', KEYS[1], 'acks', 1)
local state, progress = tonumber(f[2]), tonumber(f[3])
local final = false
for s in string.gmatch(ARGV[6], '[^,]+') do if tonumber(s) == state then final = true end end
local ackState, ackProgress = tonumber(ARGV[2]), tonumber(ARGV[3])
local forward = (not final) and (ackState > state or ackProgress > progress)
local applied = forward or acks == 1
if applied then
  if not final then state = math.max(state, ackState) end
  redis.call('HSET', KEYS[1], 'state', state, 'progress', math.max(progress, ackProgress), 'error', ARGV[4])
end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[5])
return {applied and 'applied' or 'repeated'}
`;

type Scripts = {
  paynetdRegister(...args: Array<string | number>): Promise<string[]>;
  paynetdMarkCommanded(...args: Array<string | number>): Promise<number>;
  paynetdAddOrder(...args: Array<string | number>): Promise<string[]>;
  paynetdRecordAck(...args: Array<string | number>): Promise<string[]>;
};

/** See the module comment. Uses the cluster's connection (it fails fast while Redis is down). */
export class RedisPaynetdState implements PaynetdStore {
  readonly #redis: Redis & Scripts;
  readonly #prefix: string;
  readonly #limits: StateLimits;

  constructor(redis: Redis, prefix: string, limits: Partial<StateLimits> = {}) {
    redis.defineCommand("paynetdRegister", { numberOfKeys: 3, lua: REGISTER });
    redis.defineCommand("paynetdMarkCommanded", { numberOfKeys: 1, lua: MARK_COMMANDED });
    redis.defineCommand("paynetdAddOrder", { numberOfKeys: 2, lua: ADD_ORDER });
    redis.defineCommand("paynetdRecordAck", { numberOfKeys: 1, lua: RECORD_ACK });
    this.#redis = redis as Redis & Scripts;
    this.#prefix = `${prefix}:paynetd`;
    this.#limits = { ...DEFAULT_STATE_LIMITS, ...limits };
  }

  #serialKey(serial: string): string {
    return `${this.#prefix}:sn:${serial}`;
  }

  #idKey(deviceId: string): string {
    return `${this.#prefix}:id:${deviceId}`;
  }

  #orderKey(orderId: string): string {
    return `${this.#prefix}:order:${orderId}`;
  }

  async register(deviceSn: string): Promise<{ deviceId: string; isNew: boolean }> {
    const known = await this.deviceIdOf(deviceSn);
    if (known !== undefined) return { deviceId: known, isNew: false };
    if (deviceSn.length > MAX_SERIAL_LENGTH || !SERIAL.test(deviceSn)) {
      throw new ExampleError(
        "DEVICE_SN_INVALID",
        `device_sn must be 1 to ${MAX_SERIAL_LENGTH} printable ASCII characters without spaces`,
      );
    }
    const [deviceId, status] = await this.#redis.paynetdRegister(
      this.#serialKey(deviceSn),
      this.#idKey(`dev-${deviceSn}`),
      `${this.#prefix}:devices`,
      deviceSn,
      `dev-${deviceSn}`,
      this.#limits.maxDevices,
    );
    if (status === "full") {
      throw new ExampleError(
        "DEVICES_FULL",
        `the device registry is full (${this.#limits.maxDevices} devices, --max-devices)`,
      );
    }
    return { deviceId: deviceId ?? `dev-${deviceSn}`, isNew: status === "1" };
  }

  async deviceIdOf(deviceSn: string): Promise<string | undefined> {
    return (await this.#redis.hget(this.#serialKey(deviceSn), "deviceId")) ?? undefined;
  }

  async isRegistered(deviceId: string): Promise<boolean> {
    return (await this.#redis.exists(this.#idKey(deviceId))) === 1;
  }

  async markCommanded(deviceId: string): Promise<boolean> {
    return (await this.#redis.paynetdMarkCommanded(this.#idKey(deviceId), `${this.#prefix}:sn:`)) === 1;
  }

  async orderConflict(orderId: string, deviceId: string, coins: number): Promise<string | undefined> {
    const [owner, known] = await this.#redis.hmget(this.#orderKey(orderId), "deviceId", "coins");
    if (owner === null || owner === undefined) return undefined;
    if (owner !== deviceId) return `order ${orderId} belongs to another device`;
    if (Number(known) !== coins)
      return `order ${orderId} was already sent with ${known} coin(s), not ${coins}`;
    return undefined;
  }

  async addOrder(orderId: string, deviceId: string, coins: number): Promise<OrderRecord> {
    const [status, reason] = await this.#redis.paynetdAddOrder(
      this.#orderKey(orderId),
      `${this.#prefix}:orders`,
      orderId,
      deviceId,
      coins,
      this.#limits.maxOrders,
      new Date().toISOString(),
      CoinState.COIN_ACCEPTED,
    );
    if (status === "conflict")
      throw new ExampleError("ORDER_CONFLICT", reason ?? `order ${orderId} conflicts`);
    if (status === "full") {
      throw new ExampleError(
        "ORDERS_FULL",
        `the order book is full (${this.#limits.maxOrders} orders, --max-orders)`,
      );
    }
    const order = await this.order(deviceId, orderId);
    if (order === undefined) throw new ExampleError("STATE_REDIS", `order ${orderId} vanished from Redis`);
    return order;
  }

  async order(deviceId: string, orderId: string): Promise<OrderRecord | undefined> {
    const fields = await this.#redis.hgetall(this.#orderKey(orderId));
    if (fields.deviceId !== deviceId) return undefined;
    return {
      orderId,
      deviceId,
      coins: Number(fields.coins),
      state: Number(fields.state),
      progress: Number(fields.progress),
      error: fields.error ?? "",
      acks: Number(fields.acks),
      updatedAt: fields.updatedAt ?? "",
    };
  }

  async recordAck(
    deviceId: string,
    ack: { orderId: string; state: number; progress: number; error: string },
  ): Promise<AckOutcome> {
    const [status, owner] = await this.#redis.paynetdRecordAck(
      this.#orderKey(ack.orderId),
      deviceId,
      ack.state,
      ack.progress,
      ack.error.slice(0, MAX_ERROR_LENGTH),
      new Date().toISOString(),
      FINAL_STATES,
    );
    if (status === "unknown") return { unknown: true };
    if (status === "foreign") return { foreign: owner ?? "" };
    const order = await this.order(deviceId, ack.orderId);
    if (order === undefined) return { unknown: true };
    return { order, repeated: status === "repeated" };
  }

  /**
   * The cluster's admin token: `token` if no node stored one yet, else the stored one (so every node
   * accepts the same token, whichever started first).
   */
  async sharedAdminToken(token: string, log: Log): Promise<string> {
    const key = `${this.#prefix}:admin-token`;
    await this.#connected();
    await this.#redis.set(key, token, "NX");
    const shared = (await this.#redis.get(key)) ?? token;
    if (shared !== token) log.info("admin token: the cluster's (stored in Redis by the first node)");
    return shared;
  }

  /** Connects the shared connection when the cluster has not yet (before the server starts). */
  async #connected(): Promise<void> {
    if (this.#redis.status === "wait") await this.#redis.connect();
  }

  async counts(): Promise<{ devices: number; orders: number }> {
    const [devices, orders] = await Promise.all([
      this.#redis.scard(`${this.#prefix}:devices`),
      this.#redis.scard(`${this.#prefix}:orders`),
    ]);
    return { devices, orders };
  }

  /** No file: every change is in Redis when its command returns. */
  readonly writes = 0;

  flush(): Promise<void> {
    return Promise.resolve();
  }
}
