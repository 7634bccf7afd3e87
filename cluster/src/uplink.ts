/**
 * Server-side idempotency of correlated uplink requests, cluster-wide: the first node to see a key
 * claims it in Lua and runs the handler; every other copy (a device retrying on another node) is
 * dropped while it runs and answered with the recorded reply once it has.
 */
import type { UplinkDecision, UplinkIdempotency } from "@paynet/runtime/cluster";
import { type ClusterRedis, guarded } from "./connection.js";
import type { ClusterKeys } from "./keys.js";

export class RedisUplinkIdempotency implements UplinkIdempotency {
  readonly #redis: ClusterRedis;
  readonly #keys: ClusterKeys;
  readonly #nodeId: string;
  readonly #runningMs: number;
  readonly #retentionMs: number;

  constructor(
    redis: ClusterRedis,
    keys: ClusterKeys,
    nodeId: string,
    runningMs: number,
    retentionMs: number,
  ) {
    this.#redis = redis;
    this.#keys = keys;
    this.#nodeId = nodeId;
    this.#runningMs = runningMs;
    this.#retentionMs = retentionMs;
  }

  async claim(key: string): Promise<UplinkDecision> {
    const reply = await guarded(`uplink request ${key}`, () =>
      this.#redis.paynetUplinkClaimBuffer(this.#keys.uplink(key), this.#nodeId, this.#runningMs),
    );
    const status = reply[0]?.toString();
    if (status === "execute") return { kind: "execute" };
    if (status === "running") return { kind: "running" };
    const type = reply[1]?.toString() ?? "";
    return {
      kind: "duplicate",
      reply: type === "" ? undefined : { type: Number(type), payload: reply[2] ?? new Uint8Array(0) },
    };
  }

  async finish(
    key: string,
    reply: { type: number; payload: Uint8Array } | undefined,
    failed?: string,
  ): Promise<void> {
    const record = this.#keys.uplink(key);
    await guarded(`uplink request ${key}`, () =>
      this.#redis
        .multi()
        .hset(record, {
          state: "done",
          type: reply === undefined ? "" : String(reply.type),
          payload: reply === undefined ? "" : Buffer.from(reply.payload),
          failed: failed ?? "",
        })
        .pexpire(record, this.#retentionMs)
        .exec(),
    );
  }
}
