/**
 * Redis key names of one cluster. Every key of one device carries the device id as hash tag
 * (`{dev-1}`), so a device's presence, epoch and deliveries live in one hash slot and each Lua script
 * about one device touches one slot. Node keys carry the node id as theirs.
 */

/** Key names under one prefix. */
export class ClusterKeys {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** Login epoch counter of a device: only ever incremented, never deleted. */
  epoch(deviceId: string): string {
    return `${this.prefix}:{${deviceId}}:epoch`;
  }

  /** Presence hash of a device: `node`, `session`, `epoch` of the session holding it. */
  presence(deviceId: string): string {
    return `${this.prefix}:{${deviceId}}:at`;
  }

  /** Sorted set of a device's pending delivery keys, by creation time (redelivery order). */
  pending(deviceId: string): string {
    return `${this.prefix}:{${deviceId}}:pending`;
  }

  /** Prefix of a device's delivery records; the record of key `k` is this plus `k`. */
  deliveryPrefix(deviceId: string): string {
    return `${this.prefix}:{${deviceId}}:dl:`;
  }

  /** Hash of one delivery: request, state, attempts, replies and, once ended, its outcome. */
  delivery(deviceId: string, key: string): string {
    return this.deliveryPrefix(deviceId) + key;
  }

  /** Cluster-wide sorted set of pending deliveries by deadline (members: {@link dueMember}). */
  get due(): string {
    return `${this.prefix}:due`;
  }

  /** Cluster-wide stream of ended deliveries (`device`, `key`, `outcome`, ...). */
  get outcomes(): string {
    return `${this.prefix}:outcomes`;
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
