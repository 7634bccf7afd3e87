/**
 * {@link RedisPendingDeliveryStore}: the runtime's `PendingDeliveryStore` on Redis, for servers that
 * use the runtime's own delivery engine (`ServerOptions.deliveryStore`) but keep their pending
 * deliveries in Redis, so they survive a restart and are shared by the processes using the same
 * Redis. It honours the runtime's store contract (`pendingDeliveryStoreContract`): a removal or an
 * expiry is won by exactly one caller (one Lua step each). The full cluster (`redisCluster()`) does
 * more (presence, fencing, recorded outcomes) and needs no store.
 */
import type { PendingDelivery, PendingDeliveryStore } from "@paynet/runtime";
import { Redis, type RedisOptions } from "ioredis";

/** Options of {@link RedisPendingDeliveryStore.open}. */
export interface RedisPendingStoreOptions {
  /** Default `redis://127.0.0.1:6379`. */
  url?: string;
  redis?: RedisOptions;
  /** Key prefix; default `paynet`. */
  prefix?: string;
  /** A command slower than this fails. Default 2 000 ms. */
  commandTimeoutMs?: number;
}

/** KEYS: record, device index, due, created. ARGV: local member, global member, type, key, payload, created, deadline, attempts. */
const ADD = `
redis.call('HSET', KEYS[1], 'type', ARGV[3], 'key', ARGV[4], 'payload', ARGV[5], 'created', ARGV[6],
  'deadline', ARGV[7], 'attempts', ARGV[8])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[7], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[2])
local oldest = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
return {redis.call('ZCARD', KEYS[3]), oldest[2] or ''}
`;

/**
 * Removes one record if it is there: exactly one caller gets 1. KEYS as ADD; ARGV: local member,
 * global member. Returns {removed, count, oldest, type, key, payload, created, deadline, attempts}.
 */
const REMOVE = `
local f = redis.call('HMGET', KEYS[1], 'type', 'key', 'payload', 'created', 'deadline', 'attempts')
local removed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
local oldest = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
return {removed, redis.call('ZCARD', KEYS[3]), oldest[2] or '', f[1] or '', f[2] or '', f[3] or '',
  f[4] or '', f[5] or '', f[6] or ''}
`;

type Commands = {
  paynetStoreAdd(...args: Array<string | number | Buffer>): Promise<Array<number | string>>;
  paynetStoreRemoveBuffer(...args: Array<string | number>): Promise<Array<number | Buffer>>;
};

/**
 * The recent count and oldest creation time, shared by the handles of one process on one Redis, and
 * the records this process added and has not seen removed: a removal of one of them counts at once,
 * before Redis answers (the delivery engine does not wait for it).
 */
interface Summary {
  size: number;
  oldest: number | undefined;
  readonly added: Set<string>;
  /**
   * Removals of this process under way: a read waits for them, so it never sees a record gone
   * before the remover has learnt that it removed it (and, say, counted the completion).
   */
  readonly removing: Set<Promise<unknown>>;
}
/** Bound of {@link Summary.added} (records removed by other processes stay in it until then). */
const MAX_TRACKED = 100_000;
const summaries = new Map<string, Summary>();

export class RedisPendingDeliveryStore implements PendingDeliveryStore {
  readonly #redis: Redis & Commands;
  readonly #prefix: string;
  readonly #summary: Summary;

  private constructor(redis: Redis, prefix: string, summary: Summary) {
    this.#redis = redis as Redis & Commands;
    this.#prefix = prefix;
    this.#summary = summary;
  }

  /** Connects and reads the current count; rejects when Redis cannot be reached. */
  static async open(options: RedisPendingStoreOptions = {}): Promise<RedisPendingDeliveryStore> {
    const url = options.url ?? "redis://127.0.0.1:6379";
    const redis = new Redis(url, {
      ...options.redis,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 2_000,
    });
    redis.on("error", () => {});
    redis.defineCommand("paynetStoreAdd", { numberOfKeys: 4, lua: ADD });
    redis.defineCommand("paynetStoreRemove", { numberOfKeys: 4, lua: REMOVE });
    await redis.connect();
    const prefix = `${options.prefix ?? "paynet"}:pd`;
    const id = `${url}|${prefix}`;
    let summary = summaries.get(id);
    if (summary === undefined) {
      summary = { size: 0, oldest: undefined, added: new Set(), removing: new Set() };
      summaries.set(id, summary);
    }
    const store = new RedisPendingDeliveryStore(redis, prefix, summary);
    await store.refresh();
    return store;
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  /** Re-reads the count and the oldest creation time (other processes' changes included). */
  async refresh(): Promise<void> {
    const [size, oldest] = await Promise.all([
      this.#redis.zcard(`${this.#prefix}:due`),
      this.#redis.zrange(`${this.#prefix}:created`, 0, 0, "WITHSCORES"),
    ]);
    this.#summary.size = size;
    this.#summary.oldest = oldest[1] === undefined ? undefined : Number(oldest[1]);
  }

  #keys(deviceId: string, type: number, key: string): string[] {
    return [
      `${this.#prefix}:{${deviceId}}:${type}:${key}`,
      `${this.#prefix}:{${deviceId}}:index`,
      `${this.#prefix}:due`,
      `${this.#prefix}:created`,
    ];
  }

  #summarise(size: unknown, oldest: unknown): void {
    this.#summary.size = Number(size);
    const text = String(oldest ?? "");
    this.#summary.oldest = text === "" ? undefined : Number(text);
  }

  async add(delivery: PendingDelivery): Promise<void> {
    const { deviceId, type, key } = delivery;
    const [size, oldest] = await this.#redis.paynetStoreAdd(
      ...this.#keys(deviceId, type, key),
      `${type}:${key}`,
      JSON.stringify([deviceId, type, key]),
      type,
      key,
      Buffer.from(delivery.payload),
      delivery.createdAt,
      delivery.deadline,
      delivery.attempts,
    );
    this.#summarise(size, oldest);
    if (this.#summary.added.size >= MAX_TRACKED) this.#summary.added.clear();
    this.#summary.added.add(JSON.stringify([deviceId, type, key]));
  }

  remove(deviceId: string, type: number, key: string): Promise<boolean> {
    const removal = this.#remove(deviceId, type, key).then((removed) => removed !== undefined);
    const removing = this.#summary.removing;
    removing.add(removal);
    void removal.finally(() => removing.delete(removal)).catch(() => {});
    return removal;
  }

  /** Lets this process's removals under way finish (their callers see their result first). */
  async #settled(): Promise<void> {
    if (this.#summary.removing.size > 0) await Promise.allSettled([...this.#summary.removing]);
  }

  /** Removes one record; the record when this call removed it. */
  async #remove(deviceId: string, type: number, key: string): Promise<PendingDelivery | undefined> {
    const member = JSON.stringify([deviceId, type, key]);
    if (this.#summary.added.delete(member)) this.#summary.size = Math.max(0, this.#summary.size - 1);
    const reply = await this.#redis.paynetStoreRemoveBuffer(
      ...this.#keys(deviceId, type, key),
      `${type}:${key}`,
      member,
    );
    this.#summarise(reply[1], reply[2]?.toString());
    if (Number(reply[0]) !== 1) return undefined;
    const text = (i: number) => reply[i]?.toString() ?? "";
    return {
      deviceId,
      key,
      type,
      payload: (reply[5] as Buffer | undefined) ?? new Uint8Array(0),
      createdAt: Number(text(6)),
      deadline: Number(text(7)),
      attempts: Number(text(8)),
    };
  }

  async forDevice(deviceId: string): Promise<readonly PendingDelivery[]> {
    await this.#settled();
    const members = await this.#redis.zrange(`${this.#prefix}:{${deviceId}}:index`, 0, -1);
    if (members.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const member of members) pipeline.hgetallBuffer(`${this.#prefix}:{${deviceId}}:${member}`);
    const results = (await pipeline.exec()) ?? [];
    const deliveries: PendingDelivery[] = [];
    for (const [error, value] of results) {
      const fields = value as Record<string, Buffer> | null;
      if (error !== null || fields === null || fields.type === undefined) continue;
      deliveries.push({
        deviceId,
        key: fields.key?.toString() ?? "",
        type: Number(fields.type.toString()),
        payload: fields.payload ?? new Uint8Array(0),
        createdAt: Number(fields.created?.toString()),
        deadline: Number(fields.deadline?.toString()),
        attempts: Number(fields.attempts?.toString() ?? 0),
      });
    }
    return deliveries;
  }

  async expire(now: number): Promise<readonly PendingDelivery[]> {
    const due = await this.#redis.zrangebyscore(`${this.#prefix}:due`, "-inf", now, "LIMIT", 0, 500);
    const expired: PendingDelivery[] = [];
    for (const member of due) {
      const [deviceId, type, key] = JSON.parse(member) as [string, number, string];
      const removed = await this.#remove(deviceId, type, key);
      if (removed !== undefined) expired.push(removed);
    }
    return expired;
  }

  size(): number {
    return this.#summary.size;
  }

  oldestCreatedAt(): number | undefined {
    return this.#summary.oldest;
  }
}
