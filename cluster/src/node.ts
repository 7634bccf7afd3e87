/**
 * One node's place in the cluster: its liveness lease and its inbox.
 *
 * The lease (`SET PX`, renewed every third of its length) tells the other nodes this node is alive;
 * a node that dies stops renewing it, and its devices read as offline once it has expired.
 *
 * The inbox is a Redis stream only this node reads: other nodes append what they ask of it (push a
 * frame, close a replaced session, send pending deliveries, a reply for one of its waiters), and in
 * the same script publish the message on the node's pub/sub doorbell. The node acts on the doorbell
 * copy at once (no read of the stream: one round trip per message, the sender's). Pub/sub loses
 * messages (a reconnect, a killed subscriber), so the reconcile pass reads the stream anyway every
 * `reconcileMs`; entry ids make every message handled once, whichever copy arrives first.
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
/** Ids handled from the doorbell and not yet passed by the stream read; beyond, the read catches up. */
const MAX_SEEN = 100_000;
/** How long another node's live lease is believed without asking Redis again. */
const ALIVE_CACHE_MS = 1_000;
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
  /** Id of the last inbox entry read from the stream (everything up to it is handled). */
  #lastId = "0-0";
  /** Entry ids after {@link #lastId} already handled from their doorbell copy. */
  readonly #seen = new Set<string>();
  /** Whether entries were read since the last trim. */
  #trimDue = false;
  /** Nodes seen alive recently: id → until when (ms) that is believed. */
  readonly #alive = new Map<string, number>();
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
    this.#sub.on("messageBuffer", (channel: Buffer, message: Buffer) => {
      if (channel.toString() === bell) this.#rung(message);
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

  /**
   * Whether node `nodeId`'s lease is alive (a live answer is believed for up to a second, so a dead
   * node's devices read as offline within `leaseMs` + 1 s). Rejects when Redis cannot be reached.
   */
  async alive(nodeId: string): Promise<boolean> {
    if (nodeId === this.id) return !this.#stopped;
    const now = Date.now();
    if ((this.#alive.get(nodeId) ?? 0) > now) return true;
    const alive = (await this.#redis.exists(this.#keys.node(nodeId))) === 1;
    if (alive) {
      if (this.#alive.size > 10_000) this.#alive.clear();
      this.#alive.set(nodeId, now + Math.min(ALIVE_CACHE_MS, this.#leaseMs / 3));
    } else this.#alive.delete(nodeId);
    return alive;
  }

  /** Appends `message` to node `nodeId`'s inbox and rings its doorbell with it: one round trip. */
  async send(nodeId: string, message: InboxMessage, payload?: Uint8Array): Promise<void> {
    await this.#redis.paynetInboxAdd(
      this.#keys.inbox(nodeId),
      MAX_INBOX,
      // An inbox outlives its node by a few leases at most.
      this.#leaseMs * 10,
      this.#keys.bell(nodeId),
      JSON.stringify(message),
      payload === undefined || payload.length === 0
        ? ""
        : Buffer.from(payload.buffer, payload.byteOffset, payload.length),
    );
  }

  /**
   * A doorbell message: `<entry id>\n<message>\n<payload>` (see INBOX_ADD), handled unless its
   * entry was already (from the stream, or an earlier copy).
   */
  #rung(message: Buffer): void {
    if (this.#stopped) return;
    const idEnd = message.indexOf(10);
    const jsonEnd = idEnd < 1 ? -1 : message.indexOf(10, idEnd + 1);
    if (jsonEnd < 0) {
      // Not one of INBOX_ADD's: read the stream.
      void this.drain();
      return;
    }
    const id = message.subarray(0, idEnd).toString();
    if (this.#seen.has(id) || compareIds(id, this.#lastId) <= 0) return;
    if (this.#seen.size >= MAX_SEEN) {
      // The stream read is far behind: let it catch up rather than remember more.
      void this.drain();
      return;
    }
    this.#seen.add(id);
    this.#handle(message.subarray(idEnd + 1, jsonEnd), message.subarray(jsonEnd + 1));
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
      for (const [rawId, fields] of entries) {
        const id = rawId.toString();
        this.#lastId = id;
        this.#trimDue = true;
        // Handled already from its doorbell copy.
        if (this.#seen.delete(id)) continue;
        let message: Buffer | undefined;
        let payload: Buffer = Buffer.alloc(0);
        for (let i = 0; i + 1 < fields.length; i += 2) {
          const name = fields[i]!.toString();
          if (name === "m") message = fields[i + 1]!;
          else if (name === "p") payload = fields[i + 1]!;
        }
        if (message !== undefined) this.#handle(message, payload);
      }
      if (entries.length < BATCH) {
        // Doorbell ids the read has passed cannot come again (their entries were trimmed or read).
        for (const id of this.#seen) if (compareIds(id, this.#lastId) <= 0) this.#seen.delete(id);
        return;
      }
    }
  }

  /**
   * The reconcile pass: reads the inbox (what the doorbell lost) and trims what has been handled
   * (XTRIM MINID keeps ids from the bound on).
   */
  async reconcile(): Promise<void> {
    await this.drain();
    if (!this.#trimDue || this.#stopped) return;
    this.#trimDue = false;
    const [ms, seq] = this.#lastId.split("-");
    await this.#redis.xtrim(this.#keys.inbox(this.id), "MINID", `${ms}-${Number(seq) + 1}`).catch(() => {
      this.#trimDue = true;
    });
  }

  #handle(json: Buffer, payload: Buffer): void {
    let message: InboxMessage;
    try {
      message = JSON.parse(json.toString()) as InboxMessage;
    } catch (error) {
      this.#logger.error({ error: String(error) }, "cluster inbox message is not JSON");
      return;
    }
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

/** Orders two stream entry ids (`<ms>-<seq>`): negative, zero or positive. */
export function compareIds(a: string, b: string): number {
  const [am = "0", as = "0"] = a.split("-");
  const [bm = "0", bs = "0"] = b.split("-");
  return Number(am) - Number(bm) || Number(as) - Number(bs);
}
