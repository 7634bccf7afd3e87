/**
 * One node's place in the cluster: its liveness lease and its inbox.
 *
 * The lease (`SET PX`, renewed every third of its length) tells the other nodes this node is alive;
 * a node that dies stops renewing it, and its devices read as offline once it has expired.
 *
 * The inbox is a Redis stream only this node reads: other nodes append what they ask of it (push a
 * frame, close a replaced session, send pending deliveries, a reply for one of its waiters). A
 * pub/sub doorbell tells the node to read it now; pub/sub loses messages (a reconnect, a killed
 * subscriber), so the reconcile pass reads the inbox anyway every `reconcileMs`.
 */
import type { Logger } from "@paynet/runtime";
import type { ClusterRedis } from "./connection.js";
import type { ClusterKeys } from "./keys.js";

/** What one node asks of another, by kind. */
export type InboxMessage =
  /** Close the session of `d` whose epoch is `e` or older: the device logged in elsewhere. */
  | { readonly k: "kick"; readonly d: string; readonly e: number }
  /** The device `d` has pending deliveries: claim and send them in its current session. */
  | { readonly k: "ring"; readonly d: string }
  /** Send the payload as a frame of Type `t` to `d`; answer `ack` to node `from`. */
  | { readonly k: "push"; readonly d: string; readonly id: string; readonly from: string; readonly t: number }
  /** Result of a `push`: no code when queued. */
  | { readonly k: "ack"; readonly id: string; readonly code?: string; readonly msg?: string }
  /** Request of Type `t` to `d`; replies go to node `from` as `rep`, failures as `err`. */
  | {
      readonly k: "req";
      readonly d: string;
      readonly id: string;
      readonly from: string;
      readonly t: number;
      readonly ms: number;
      /** Who decides the final reply: the spec on the node holding the device, or the caller. */
      readonly fin: "spec" | "caller";
    }
  /** The caller of request `id` stopped waiting. */
  | { readonly k: "cancel"; readonly id: string }
  /** One reply (payload) to request `id`; `fin` when the node holding the device judged it final. */
  | { readonly k: "rep"; readonly id: string; readonly fin: boolean }
  /** Request `id` failed on the node holding the device. */
  | { readonly k: "err"; readonly id: string; readonly code: string; readonly msg: string }
  /** One recorded reply (payload) of delivery `key` to `d`, for the node that called `deliver()`. */
  | { readonly k: "drep"; readonly d: string; readonly key: string; readonly fin: boolean }
  /** Delivery `key` to `d` ended otherwise than by a reply (expired, aborted, ...). */
  | {
      readonly k: "dend";
      readonly d: string;
      readonly key: string;
      readonly outcome: string;
      readonly reason: string;
    };

/** Handles one inbox message; `payload` is empty when the message carries none. */
export type InboxHandler = (message: InboxMessage, payload: Buffer) => void;

/** Inbox entries read per XREAD. */
const BATCH = 512;
/** Approximate bound of an inbox (a node that stopped reading must not grow it without end). */
const MAX_INBOX = 100_000;

/** The lease and inbox of this node; see the module comment. */
export class ClusterNode {
  readonly id: string;
  readonly #redis: ClusterRedis;
  readonly #sub: ClusterRedis;
  readonly #keys: ClusterKeys;
  readonly #leaseMs: number;
  readonly #logger: Logger;
  #handler: InboxHandler = () => {};
  #lastId = "0-0";
  #draining: Promise<void> | undefined;
  #drainAgain = false;
  #leaseTimer: NodeJS.Timeout | undefined;
  #leaseFailing = false;
  #stopped = false;

  constructor(options: {
    id: string;
    redis: ClusterRedis;
    sub: ClusterRedis;
    keys: ClusterKeys;
    leaseMs: number;
    logger: Logger;
  }) {
    this.id = options.id;
    this.#redis = options.redis;
    this.#sub = options.sub;
    this.#keys = options.keys;
    this.#leaseMs = options.leaseMs;
    this.#logger = options.logger;
  }

  /** Takes the lease and subscribes to the doorbell. Rejects when Redis cannot be reached. */
  async start(handler: InboxHandler): Promise<void> {
    this.#handler = handler;
    await this.#renewLease();
    const bell = this.#keys.bell(this.id);
    this.#sub.on("message", (channel: string) => {
      if (channel === bell) this.drain();
    });
    // After a reconnect the subscription is restored by ioredis; what rang meanwhile is in the inbox.
    this.#sub.on("ready", () => this.drain());
    await this.#sub.subscribe(bell);
    this.#leaseTimer = setInterval(
      () => void this.#renewLease().catch(() => {}),
      Math.floor(this.#leaseMs / 3),
    );
    this.#leaseTimer.unref();
  }

  /** Gives up the lease and the inbox (other nodes see this node gone at once). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#leaseTimer);
    await this.#draining;
    try {
      await this.#redis.del(this.#keys.node(this.id), this.#keys.inbox(this.id));
    } catch (error) {
      this.#logger.warn(
        { node: this.id, error: String(error) },
        "cluster lease not released; it expires by itself",
      );
    }
  }

  /** Whether node `nodeId`'s lease is alive. Rejects when Redis cannot be reached. */
  async alive(nodeId: string): Promise<boolean> {
    if (nodeId === this.id) return !this.#stopped;
    return (await this.#redis.exists(this.#keys.node(nodeId))) === 1;
  }

  /** Appends `message` to node `nodeId`'s inbox and rings its doorbell. */
  async send(nodeId: string, message: InboxMessage, payload?: Uint8Array): Promise<void> {
    const inbox = this.#keys.inbox(nodeId);
    const fields: Array<string | Buffer> = ["m", JSON.stringify(message)];
    if (payload !== undefined && payload.length > 0)
      fields.push("p", Buffer.from(payload.buffer, payload.byteOffset, payload.length));
    await this.#redis
      .multi()
      .xadd(inbox, "MAXLEN", "~", MAX_INBOX, "*", ...fields)
      // An inbox outlives its node by a few leases at most.
      .pexpire(inbox, this.#leaseMs * 10)
      .publish(this.#keys.bell(nodeId), "1")
      .exec()
      .then((results) => {
        const failed = results?.find(([error]) => error !== null);
        if (failed !== undefined) throw failed[0];
      });
  }

  /** Reads the inbox now (coalesced: at most one read runs, another follows if asked meanwhile). */
  drain(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#draining !== undefined) {
      this.#drainAgain = true;
      return this.#draining;
    }
    this.#draining = this.#drainLoop().finally(() => {
      this.#draining = undefined;
      if (this.#drainAgain) {
        this.#drainAgain = false;
        void this.drain();
      }
    });
    return this.#draining;
  }

  async #drainLoop(): Promise<void> {
    const inbox = this.#keys.inbox(this.id);
    for (;;) {
      let result: Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
      try {
        result = (await this.#redis.xreadBuffer(
          "COUNT",
          BATCH,
          "STREAMS",
          inbox,
          this.#lastId,
        )) as typeof result;
      } catch (error) {
        this.#logger.debug({ error: String(error) }, "cluster inbox not read; the reconcile pass retries");
        return;
      }
      const entries = result?.[0]?.[1] ?? [];
      for (const [id, fields] of entries) {
        this.#lastId = id.toString();
        this.#deliver(fields);
      }
      if (entries.length > 0) {
        // Everything up to lastId is handled: trim it (XTRIM MINID keeps ids >= the bound).
        const [ms, seq] = this.#lastId.split("-");
        await this.#redis.xtrim(inbox, "MINID", `${ms}-${Number(seq) + 1}`).catch(() => {});
      }
      if (entries.length < BATCH) return;
    }
  }

  #deliver(fields: Buffer[]): void {
    let message: InboxMessage | undefined;
    let payload: Buffer = Buffer.alloc(0);
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i]!.toString();
      if (name === "m") message = JSON.parse(fields[i + 1]!.toString()) as InboxMessage;
      else if (name === "p") payload = fields[i + 1]!;
    }
    if (message === undefined) return;
    try {
      this.#handler(message, payload);
    } catch (error) {
      this.#logger.error({ kind: message.k, error: String(error) }, "cluster inbox message failed");
    }
  }

  async #renewLease(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#redis.set(
        this.#keys.node(this.id),
        JSON.stringify({ pid: process.pid, since: Date.now() }),
        "PX",
        this.#leaseMs,
      );
      if (this.#leaseFailing) this.#logger.info({ node: this.id }, "cluster lease renewed again");
      this.#leaseFailing = false;
    } catch (error) {
      if (!this.#leaseFailing) {
        this.#logger.warn({ node: this.id, error: String(error) }, "cluster lease not renewed; retrying");
      }
      this.#leaseFailing = true;
      throw error;
    }
  }
}
