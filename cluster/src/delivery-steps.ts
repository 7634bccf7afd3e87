/**
 * The Redis steps of a delivery, each one Lua script (scripts.ts) on the keys of one device: create
 * the record, claim the sends of a session epoch, record a reply, end it otherwise. The callers
 * (the caller's side, the holder's side, the expiry sweep) decide what to do with the answers.
 */
import { type ClusterRedis, isReady } from "./connection.js";
import { type ClusterKeys, dueMember } from "./keys.js";
import type { ResolvedClusterOptions } from "./options.js";

export class DeliverySteps {
  readonly #redis: ClusterRedis;
  readonly #keys: ClusterKeys;
  readonly #nodeId: string;
  readonly #options: ResolvedClusterOptions;

  constructor(redis: ClusterRedis, keys: ClusterKeys, nodeId: string, options: ResolvedClusterOptions) {
    this.#redis = redis;
    this.#keys = keys;
    this.#nodeId = nodeId;
    this.#options = options;
  }

  /** Whether Redis can take a step now (see `isReady`): otherwise it is kept for a later pass. */
  get ready(): boolean {
    return isReady(this.#redis);
  }

  /**
   * Writes a pending delivery (and rings the node holding the device from the script).
   * Resolves with `[status, created, deadline, holder node, holder epoch]`.
   */
  create(
    deviceId: string,
    key: string,
    type: number,
    payload: Uint8Array,
    replyType: number,
    deadlineMs: number,
  ): Promise<string[]> {
    const k = this.#keys;
    return this.#redis.paynetCreate(
      k.delivery(deviceId, key),
      k.pending(deviceId),
      k.due(deviceId),
      k.presence(deviceId),
      key,
      type,
      Buffer.from(payload),
      replyType,
      deadlineMs,
      this.#nodeId,
      dueMember(deviceId, key),
      Math.ceil(this.#options.maxPendingDeliveries / k.shards),
    );
  }

  /**
   * Claims the sends of `deviceId`'s pending deliveries for session `epoch`. `again`: this epoch's
   * previous claim failed without an answer, so deliveries already marked sent in this epoch are
   * returned too (the caller skips those it did send).
   */
  claimSends(deviceId: string, epoch: number, again: boolean): Promise<Buffer[]> {
    const k = this.#keys;
    return this.#redis.paynetClaimSendsBuffer(
      k.presence(deviceId),
      k.pending(deviceId),
      epoch,
      k.deliveryPrefix(deviceId),
      again ? 1 : 0,
    );
  }

  /** Records one reply of session `epoch`. Resolves with `[status, origin, replies or state]`. */
  reply(
    deviceId: string,
    key: string,
    epoch: number,
    replyType: number,
    payload: Uint8Array,
    final: boolean,
  ): Promise<string[]> {
    const k = this.#keys;
    return this.#redis.paynetReply(
      k.presence(deviceId),
      k.delivery(deviceId, key),
      k.pending(deviceId),
      k.due(deviceId),
      k.outcomes(deviceId),
      epoch,
      key,
      replyType,
      Buffer.from(payload),
      final ? 1 : 0,
      this.#nodeId,
      dueMember(deviceId, key),
      this.#options.outcomeRetentionMs,
      this.#options.maxOutcomes,
      deviceId,
    );
  }

  /** Ends a pending delivery with `state` (timedOut only once due). Resolves with `[status, origin, ...]`. */
  finish(deviceId: string, key: string, state: string, reason: string): Promise<string[]> {
    const k = this.#keys;
    return this.#redis.paynetFinish(
      k.presence(deviceId),
      k.delivery(deviceId, key),
      k.pending(deviceId),
      k.due(deviceId),
      k.outcomes(deviceId),
      "",
      key,
      state,
      reason,
      this.#nodeId,
      state === "timedOut" ? 1 : 0,
      dueMember(deviceId, key),
      this.#options.outcomeRetentionMs,
      this.#options.maxOutcomes,
      deviceId,
    );
  }
}
