/**
 * Redis key names of one cluster.
 *
 * On a single Redis (one shard) every key of one device carries the device id as hash tag
 * (`paynet:{dev-1}:at`), and the deadline index and outcome stream are one key each
 * (`paynet:due`, `paynet:outcomes`).
 *
 * Sharded (Redis Cluster, or `shards` > 1), every device belongs to one of N shards by a hash of its
 * id, and the shard is the hash tag (`paynet:{s3}:d:dev-1:at`); each shard has its own deadline index
 * and outcome stream (`paynet:{s3}:due`, `paynet:{s3}:outcomes`). Either way the keys one script
 * touches (a device's keys and its index/stream) share one hash slot. Node keys carry the node id
 * as their tag.
 */

/** Key names under one prefix. */
export class ClusterKeys {
  readonly prefix: string;
  /** Number of shards; 1 is the single-Redis layout. */
  readonly shards: number;
  readonly #sharded: boolean;

  /** `sharded` forces the shard layout with one shard (a Redis Cluster with `shards: 1`). */
  constructor(prefix: string, shards = 1, sharded = shards > 1) {
    this.prefix = prefix;
    this.shards = shards;
    this.#sharded = sharded;
  }

  /** The shard of a device (0 on a single Redis): FNV-1a of its id, modulo the shard count. */
  shardOf(deviceId: string): number {
    if (this.shards === 1) return 0;
    let hash = 0x811c9dc5;
    for (let i = 0; i < deviceId.length; i++) {
      hash ^= deviceId.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193);
    }
    return (hash >>> 0) % this.shards;
  }

  /** The prefix of every key of a device (its hash tag included). */
  #device(deviceId: string): string {
    return this.#sharded
      ? `${this.prefix}:{s${this.shardOf(deviceId)}}:d:${deviceId}`
      : `${this.prefix}:{${deviceId}}`;
  }

  #shardKey(shard: number, name: string): string {
    return this.#sharded ? `${this.prefix}:{s${shard}}:${name}` : `${this.prefix}:${name}`;
  }

  /** Login epoch counter of a device: only ever incremented, never deleted. */
  epoch(deviceId: string): string {
    return `${this.#device(deviceId)}:epoch`;
  }

  /** Presence hash of a device: `node`, `session`, `epoch` of the session holding it. */
  presence(deviceId: string): string {
    return `${this.#device(deviceId)}:at`;
  }

  /** Sorted set of a device's pending delivery keys, by creation time (redelivery order). */
  pending(deviceId: string): string {
    return `${this.#device(deviceId)}:pending`;
  }

  /** Prefix of a device's delivery records; the record of key `k` is this plus `k`. */
  deliveryPrefix(deviceId: string): string {
    return `${this.#device(deviceId)}:dl:`;
  }

  /** Hash of one delivery: request, state, attempts, replies and, once ended, its outcome. */
  delivery(deviceId: string, key: string): string {
    return this.deliveryPrefix(deviceId) + key;
  }

  /** Sorted set of the pending deliveries of a device's shard by deadline (members: {@link dueMember}). */
  due(deviceId: string): string {
    return this.#shardKey(this.shardOf(deviceId), "due");
  }

  /** Stream of the ended deliveries of a device's shard (`device`, `key`, `outcome`, ...). */
  outcomes(deviceId: string): string {
    return this.#shardKey(this.shardOf(deviceId), "outcomes");
  }

  /** Every shard's deadline index, by shard number. */
  dueKeys(): string[] {
    return Array.from({ length: this.shards }, (_, shard) => this.#shardKey(shard, "due"));
  }

  /** Every shard's outcome stream, by shard number. */
  outcomeKeys(): string[] {
    return Array.from({ length: this.shards }, (_, shard) => this.#shardKey(shard, "outcomes"));
  }

  /** Liveness lease of a node (`SET PX`, renewed while the node runs). */
  node(nodeId: string): string {
    return `${this.prefix}:node:{${nodeId}}`;
  }

  /** Inbox stream of a node: what other nodes ask of it. */
  inbox(nodeId: string): string {
    return `${this.prefix}:inbox:{${nodeId}}`;
  }

  /** Pub/sub channel ringing a node's doorbell (a hint to read its inbox now; may be lost). */
  bell(nodeId: string): string {
    return `${this.prefix}:bell:${nodeId}`;
  }

  /** Record of a correlated uplink request (server-side idempotency). */
  uplink(key: string): string {
    return `${this.prefix}:up:${key}`;
  }
}

/** The member of {@link ClusterKeys.due} naming one delivery. */
export function dueMember(deviceId: string, key: string): string {
  return JSON.stringify([deviceId, key]);
}

/** The device id and key of a {@link ClusterKeys.due} member, or `undefined` when malformed. */
export function parseDueMember(member: string): { deviceId: string; key: string } | undefined {
  try {
    const parsed = JSON.parse(member) as unknown;
    if (Array.isArray(parsed) && typeof parsed[0] === "string" && typeof parsed[1] === "string") {
      return { deviceId: parsed[0], key: parsed[1] };
    }
  } catch {
    // Not one of ours: reported as malformed.
  }
  return undefined;
}
