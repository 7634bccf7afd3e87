/**
 * Durable at-least-once deliveries shared by every node: the cluster's {@link DeliveryEngine}.
 *
 * `deliver()` writes the delivery record to Redis (one Lua step that also reads where the device is
 * and rings the node holding it), which claims the send for its session epoch (at most once per
 * epoch, in Lua) and sends it. That node matches the device's replies by key, records each one
 * (fenced by its epoch) and, on the final one, ends the record as completed and appends the outcome
 * to the stream; then it forwards the reply to the node that called `deliver()`, whose iterator
 * yields it. Every node's reconcile pass expires deliveries past their deadline (exactly one wins,
 * in Lua), so outcomes are recorded even when the caller died. A device logging in on any node gets
 * its pending deliveries re-sent there.
 *
 * The caller's side is delivery-waiters.ts, the holder's side delivery-sends.ts, the Redis steps
 * delivery-steps.ts; this module wires them and runs the expiry sweep.
 */
import type {
  DeliveryOptions,
  DeliveryOutcomes,
  DeliveryStats,
  MessageDef,
  PaynetError,
  RequestSpec,
  Session,
} from "@paynet/runtime";
import type { ClusterHost, DeliveryEngine } from "@paynet/runtime/cluster";
import { type ClusterRedis, isReady } from "./connection.js";
import { type DeliveryReplyEvent, DeliverySends } from "./delivery-sends.js";
import { DeliverySteps } from "./delivery-steps.js";
import { DeliveryWaiters } from "./delivery-waiters.js";
import type { ClusterKeys } from "./keys.js";
import type { ClusterNode } from "./node.js";
import type { ResolvedClusterOptions } from "./options.js";
import type { Presence } from "./presence.js";
import type { SpecTable } from "./specs.js";

export type { DeliveryReplyEvent } from "./delivery-sends.js";

/** Due deliveries expired per reconcile pass, node and shard. */
const SWEEP_BATCH = 200;

/** See the module comment. */
export class ClusterDeliveries implements DeliveryEngine {
  readonly #redis: ClusterRedis;
  readonly #keys: ClusterKeys;
  readonly #node: ClusterNode;
  readonly #steps: DeliverySteps;
  readonly #waiters: DeliveryWaiters;
  readonly #sends: DeliverySends;
  readonly #presence: Presence;
  readonly #outcomes: DeliveryOutcomes = { completed: 0, timedOut: 0, aborted: 0, cancelled: 0, failed: 0 };
  #pendingCount = 0;
  #host: ClusterHost | undefined;

  constructor(deps: {
    redis: ClusterRedis;
    keys: ClusterKeys;
    node: ClusterNode;
    presence: Presence;
    specs: SpecTable;
    options: ResolvedClusterOptions;
  }) {
    this.#redis = deps.redis;
    this.#keys = deps.keys;
    this.#node = deps.node;
    this.#presence = deps.presence;
    this.#steps = new DeliverySteps(deps.redis, deps.keys, deps.node.id, deps.options);
    this.#waiters = new DeliveryWaiters({
      ...deps,
      steps: this.#steps,
      outcomes: this.#outcomes,
      ring: (nodeId, deviceId) => this.ring(nodeId, deviceId),
    });
    this.#sends = new DeliverySends({
      ...deps,
      steps: this.#steps,
      outcomes: this.#outcomes,
      replied: (deviceId, key, payload, final) => this.#waiters.replied(deviceId, key, payload, final),
    });
  }

  /** Told of every reply this node recorded, once Redis has it (see `RedisCluster` "reply"). */
  set onRecorded(listener: (event: DeliveryReplyEvent) => void) {
    this.#sends.onRecorded = listener;
  }

  attach(host: ClusterHost): void {
    this.#host = host;
    this.#sends.attach(host);
    this.#waiters.attach(host.logger);
  }

  detach(): void {
    this.#waiters.detach();
  }

  deliver<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: DeliveryOptions<Rep>,
  ): AsyncIterable<Rep> {
    return this.#waiters.deliver(deviceId, spec, message, options);
  }

  /** Tells node `nodeId` (this one included) that `deviceId` has pending deliveries. */
  ring(nodeId: string, deviceId: string): void {
    if (nodeId === this.#node.id) {
      void this.sendPending(deviceId);
      return;
    }
    this.#node.send(nodeId, { k: "ring", d: deviceId }).catch((error: unknown) =>
      // The reconcile pass rings again, and the device's next login sends it anyway.
      this.#host?.logger.warn({ deviceId, node: nodeId, error: String(error) }, "delivery doorbell not rung"),
    );
  }

  /** A recorded reply of a delivery this node called `deliver()` for (from the inbox). */
  replied(deviceId: string, key: string, payload: Uint8Array, final: boolean): void {
    this.#waiters.replied(deviceId, key, payload, final);
  }

  /** A delivery this node called `deliver()` for ended otherwise than by a reply, on another node. */
  ended(deviceId: string, key: string, outcome: string, reason: string): void {
    this.#waiters.ended(deviceId, key, outcome, reason);
  }

  resendAfterLogin(deviceId: string, session: Session): () => Promise<void> {
    // The login's claim counted the device's pending deliveries in the same step: with none there
    // is nothing to send (one created after the claim sees the new presence and rings this node).
    if (!this.#presence.hadPendingAtClaim(session)) return () => Promise.resolve();
    return () => this.sendPending(deviceId);
  }

  /** Claims and sends the pending deliveries of `deviceId` on its session here (see delivery-sends.ts). */
  sendPending(deviceId: string): Promise<void> {
    return this.#sends.sendPending(deviceId);
  }

  offer(deviceId: string, type: number, message: unknown, session: Session): boolean {
    return this.#sends.offer(deviceId, type, message, session);
  }

  replyDef(type: number): MessageDef<unknown> | undefined {
    return this.#sends.replyDef(type);
  }

  failAll(error: PaynetError): void {
    this.#waiters.failAll(error);
  }

  /**
   * The reconcile pass: expires due deliveries (any node's), checks the deliveries this node waits
   * for against their records, and retries the claims and replies Redis did not answer.
   */
  async reconcile(): Promise<void> {
    if (!isReady(this.#redis)) return;
    this.#sends.retry();
    await this.#sweep().catch(() => {});
    await this.#waiters.check().catch(() => {});
    this.#pendingCount = await Promise.all(this.#keys.dueKeys().map((due) => this.#redis.zcard(due))).then(
      (counts) => counts.reduce((sum, n) => sum + n, 0),
      () => this.#pendingCount,
    );
  }

  async #sweep(): Promise<void> {
    // A shard whose master is unreachable (Redis Cluster failover) is retried at the next pass.
    for (const dueKey of this.#keys.dueKeys()) await this.#sweepShard(dueKey).catch(() => {});
  }

  async #sweepShard(dueKey: string): Promise<void> {
    const due = await this.#redis.zrangebyscore(dueKey, "-inf", Date.now(), "LIMIT", 0, SWEEP_BATCH);
    for (const member of due) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(member);
      } catch {
        parsed = undefined;
      }
      if (!Array.isArray(parsed) || typeof parsed[0] !== "string" || typeof parsed[1] !== "string") {
        await this.#redis.zrem(dueKey, member);
        continue;
      }
      const [deviceId, key] = parsed as [string, string];
      const result = await this.#steps.finish(deviceId, key, "timedOut", "deadline passed");
      if (result[0] !== "ok") continue;
      this.#outcomes.timedOut++;
      const origin = result[1] ?? "";
      if (origin === this.#node.id) this.#waiters.ended(deviceId, key, "timedOut", "deadline passed");
      else if (origin !== "") {
        this.#node
          .send(origin, { k: "dend", d: deviceId, key, outcome: "timedOut", reason: "deadline passed" })
          .catch(() => {});
      }
    }
  }

  stats(): DeliveryStats {
    return {
      pending: this.#pendingCount,
      oldestAgeMs: 0,
      redelivered: this.#sends.redelivered,
      completed: this.#outcomes.completed,
      timedOut: this.#outcomes.timedOut,
      outcomes: { ...this.#outcomes },
    };
  }
}
