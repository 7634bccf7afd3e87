/**
 * Presence with fencing: which node and session hold a device, with a login epoch that only grows.
 *
 * A login claims the device in one Lua step (`INCR` of its epoch counter, then the presence hash set
 * to this node, session and epoch): the last login wins cluster-wide. The node that held it before
 * is told through its inbox to close that session with `SESSION_REPLACED` (one hop). Until it has,
 * the old session is fenced: every shared step it could take (claiming a delivery's send, recording
 * a reply, releasing the device) checks its epoch against the presence hash in the same script and
 * is refused, so a loser can never claim a command or unbind the winner.
 */
import {
  ClusterUnavailableError,
  MemorySessionDirectory,
  type Session,
  SessionReplacedError,
} from "@paynet/runtime";
import type { ClusterHost, SessionDirectory } from "@paynet/runtime/cluster";
import { type ClusterRedis, guarded, isReady } from "./connection.js";
import type { ClusterKeys } from "./keys.js";
import type { ClusterNode } from "./node.js";

/** Where a device is, as the cluster knows it. */
export interface DeviceLocation {
  readonly node: string;
  readonly session: string;
  readonly epoch: number;
}

/** Releases that failed (Redis down) and are retried by the reconcile pass; bounded. */
const MAX_RETRIED_RELEASES = 100_000;

/** The cluster's {@link SessionDirectory}; see the module comment. */
export class Presence implements SessionDirectory {
  readonly #redis: ClusterRedis;
  readonly #keys: ClusterKeys;
  readonly #node: ClusterNode;
  readonly #local = new MemorySessionDirectory();
  /** Login epoch of each claimed session of this node. */
  readonly #epochs = new WeakMap<Session, number>();
  /** Sessions whose claim found no pending delivery for their device. */
  readonly #nothingPending = new WeakSet<Session>();
  readonly #releases = new Set<Promise<unknown>>();
  readonly #retryReleases = new Map<string, number>();
  /** Claims of this node still waiting for Redis, per device. */
  readonly #claiming = new Map<string, number>();
  /**
   * Kicks that came for a device while a claim of it was still waiting for Redis (the inbox and the
   * claim's reply travel on different connections, so a kick can overtake the claim it is about):
   * the newest epoch they named, judged once the claim's own epoch is known.
   */
  readonly #earlyKicks = new Map<string, number>();
  #host: ClusterHost | undefined;
  /** Told when a session of this node stops holding its device (closed, replaced, logged out). */
  onRelease: (deviceId: string, session: Session) => void = () => {};

  constructor(redis: ClusterRedis, keys: ClusterKeys, node: ClusterNode) {
    this.#redis = redis;
    this.#keys = keys;
    this.#node = node;
  }

  attach(host: ClusterHost): void {
    this.#host = host;
  }

  /**
   * Claims `deviceId` for `session` cluster-wide and binds it locally; resolves with the local
   * session it replaced (the server closes it). A session on another node is closed through that
   * node's inbox. Rejects with `ClusterUnavailableError` when Redis cannot be reached.
   */
  async bind(deviceId: string, session: Session): Promise<Session | undefined> {
    if (!isReady(this.#redis)) {
      throw new ClusterUnavailableError(`login of ${deviceId}: Redis unavailable`, { peer: session.peer });
    }
    this.#claiming.set(deviceId, (this.#claiming.get(deviceId) ?? 0) + 1);
    let claim: string[];
    let earlyKick: number | undefined;
    try {
      claim = await guarded(`login of ${deviceId}`, () =>
        this.#redis.paynetClaim(
          this.#keys.epoch(deviceId),
          this.#keys.presence(deviceId),
          this.#keys.pending(deviceId),
          this.#node.id,
          session.id,
        ),
      );
    } finally {
      earlyKick = this.#earlyKicks.get(deviceId);
      const left = this.#claiming.get(deviceId)! - 1;
      if (left > 0) this.#claiming.set(deviceId, left);
      else {
        this.#claiming.delete(deviceId);
        this.#earlyKicks.delete(deviceId);
      }
    }
    const [epochText, previousNode, , previousEpoch, pending] = claim;
    const epoch = Number(epochText);
    this.#epochs.set(session, epoch);
    if (pending === "0") this.#nothingPending.add(session);
    if (previousNode !== undefined && previousNode !== "" && previousNode !== this.#node.id) {
      this.#node
        .send(previousNode, { k: "kick", d: deviceId, e: Number(previousEpoch) })
        .catch((error: unknown) =>
          // The loser stays fenced by its epoch; it is closed at its next shared step.
          this.#host?.logger.warn(
            { deviceId, node: previousNode, error: String(error) },
            "replaced session not told",
          ),
        );
    }
    const previous = this.#local.bind(deviceId, session);
    if (previous !== undefined) this.onRelease(deviceId, previous);
    // After the login bookkeeping, as a kick that came after the claim would be handled.
    if (earlyKick !== undefined && epoch <= earlyKick) queueMicrotask(() => this.fenced(deviceId, session));
    return previous;
  }

  /** Unbinds locally and releases the device in Redis if this session's epoch still holds it. */
  unbind(deviceId: string, session: Session): Promise<void> {
    this.#local.unbind(deviceId, session);
    this.onRelease(deviceId, session);
    const epoch = this.#epochs.get(session);
    if (epoch === undefined) return Promise.resolve();
    this.#epochs.delete(session);
    return this.#release(deviceId, epoch);
  }

  #release(deviceId: string, epoch: number): Promise<void> {
    const release = this.#redis.paynetRelease(this.#keys.presence(deviceId), epoch).then(
      () => {
        this.#retryReleases.delete(deviceId);
      },
      () => {
        // Redis down: the presence would point at a session that is gone; retried later.
        if (this.#retryReleases.size < MAX_RETRIED_RELEASES) this.#retryReleases.set(deviceId, epoch);
      },
    );
    this.#releases.add(release);
    void release.finally(() => this.#releases.delete(release));
    return release;
  }

  /** The reconcile pass: retries the releases that failed while Redis was away. */
  retryReleases(): void {
    if (this.#retryReleases.size === 0 || !isReady(this.#redis)) return;
    for (const [deviceId, epoch] of [...this.#retryReleases].slice(0, 1_000)) {
      this.#retryReleases.delete(deviceId);
      void this.#release(deviceId, epoch);
    }
  }

  /** Resolves once every release under way is done (before leaving the cluster). */
  async settled(): Promise<void> {
    while (this.#releases.size > 0) await Promise.all([...this.#releases]);
  }

  /** The local session of `deviceId` once its claim succeeded. */
  lookup(deviceId: string): Session | undefined {
    return this.#local.lookup(deviceId);
  }

  size(): number {
    return this.#local.size();
  }

  /**
   * Whether the device had pending deliveries when `session` claimed it (true when not known): a
   * login with none needs no pass to send them.
   */
  hadPendingAtClaim(session: Session): boolean {
    return !this.#nothingPending.has(session);
  }

  /** The login epoch of a claimed local session. */
  epochOf(session: Session): number | undefined {
    return this.#epochs.get(session);
  }

  /**
   * Where `deviceId` is online: its presence, if the node holding it is alive (a dead node's
   * devices read as offline once its lease expired). Rejects when Redis cannot be reached.
   */
  async locate(deviceId: string): Promise<DeviceLocation | undefined> {
    const [node, session, epoch] = await guarded(`presence of ${deviceId}`, () =>
      this.#redis.hmget(this.#keys.presence(deviceId), "node", "session", "epoch"),
    );
    if (node === null || node === undefined || session === null || epoch === null) return undefined;
    const alive = await guarded(`presence of ${deviceId}`, () => this.#node.alive(node));
    return alive ? { node, session: session ?? "", epoch: Number(epoch) } : undefined;
  }

  /**
   * Another node took `deviceId` with a newer epoch than `epoch`: closes this node's session of it
   * if its epoch is `epoch` or older.
   */
  kick(deviceId: string, epoch: number): void {
    if (this.#claiming.has(deviceId)) {
      this.#earlyKicks.set(deviceId, Math.max(epoch, this.#earlyKicks.get(deviceId) ?? 0));
    }
    const session = this.#local.lookup(deviceId);
    if (session === undefined) return;
    const own = this.#epochs.get(session);
    if (own !== undefined && own <= epoch) this.fenced(deviceId, session);
  }

  /** `session` was found not to hold `deviceId` any more: it is closed with `SESSION_REPLACED`. */
  fenced(deviceId: string, session: Session): void {
    this.#host?.logger.info({ deviceId, conn: session.id }, "session replaced by a login on another node");
    this.#host?.closeSession(session, new SessionReplacedError(deviceId, { peer: session.peer }));
  }
}
