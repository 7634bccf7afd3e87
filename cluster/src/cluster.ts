/**
 * {@link RedisCluster}: one node of a paynet cluster on Redis, plugged into a server with
 * `new PaynetServer({ ..., cluster: redisCluster({ url, specs }) })`. See docs/cluster.md.
 */

import { EventEmitter } from "node:events";
import {
  InvalidOptionsError,
  type MessageDef,
  type RequestOptions,
  type RequestSpec,
  ServerStoppedError,
} from "@paynet/runtime";
import type { ClusterHost, ServerCluster } from "@paynet/runtime/cluster";
import type { Cluster, Redis } from "ioredis";
import { type ClusterRedis, guarded, openRedis, roundTripsOf, unavailable } from "./connection.js";
import { ClusterDeliveries, type DeliveryReplyEvent } from "./deliveries.js";
import { ClusterKeys } from "./keys.js";
import { ClusterNode, compareIds, type InboxMessage } from "./node.js";
import { type RedisClusterOptions, type ResolvedClusterOptions, resolveClusterOptions } from "./options.js";
import { Presence } from "./presence.js";
import { type DeliveryRecord, readRecord } from "./records.js";
import { RemotePush } from "./remote.js";
import { SpecTable } from "./specs.js";
import { RedisUplinkIdempotency } from "./uplink.js";

/** One entry of the outcome stream (`XRANGE <prefix>:outcomes`). */
export interface DeliveryOutcomeEvent {
  /** Stream entry id (`<ms>-<seq>`): pass it as `after` to read on from there. */
  readonly id: string;
  readonly deviceId: string;
  readonly key: string;
  readonly outcome: "completed" | "timedOut" | "aborted" | "cancelled" | "failed";
  /** Node that recorded the end. */
  readonly node: string;
  readonly replies: number;
  readonly reason: string;
  /** The final reply (completed), else the last one recorded, if any. */
  readonly reply: Uint8Array | undefined;
}

/** Creates one node of a Redis cluster; see {@link RedisClusterOptions}. */
export function redisCluster(options?: RedisClusterOptions): RedisCluster {
  return new RedisCluster(options);
}

/** Events of a {@link RedisCluster}. */
export interface RedisClusterEvents {
  /**
   * A device's reply to a delivery, recorded in Redis by this node (the one holding the device),
   * whichever node called `deliver()` and even when that node is gone: the place to apply replies
   * to an application's own state in a cluster.
   */
  reply: [event: DeliveryReplyEvent];
}

/** See the module comment. A cluster object serves one server. */
export class RedisCluster extends EventEmitter<RedisClusterEvents> implements ServerCluster {
  /** This node's id in the cluster. */
  readonly nodeId: string;
  readonly directory: Presence;
  readonly deliveries: ClusterDeliveries;
  readonly uplink: RedisUplinkIdempotency;
  readonly #options: ResolvedClusterOptions;
  readonly #keys: ClusterKeys;
  readonly #redis: ClusterRedis;
  readonly #sub: ClusterRedis;
  readonly #node: ClusterNode;
  readonly #remote: RemotePush;
  #host: ClusterHost | undefined;
  #reconcileTimer: NodeJS.Timeout | undefined;
  #reconciling = false;

  /** Validates `options` (throws `InvalidOptionsError`); connects at `start()`. */
  constructor(options?: RedisClusterOptions) {
    super();
    this.#options = resolveClusterOptions(options);
    this.nodeId = this.#options.nodeId;
    this.#keys = new ClusterKeys(
      this.#options.prefix,
      this.#options.shards,
      this.#options.shards > 1 || this.#options.nodes.length > 0,
    );
    this.#redis = openRedis(this.#options, "cmd");
    this.#sub = openRedis(this.#options, "sub");
    const silent = { debug() {}, info() {}, warn() {}, error() {} };
    this.#node = new ClusterNode({
      id: this.nodeId,
      redis: this.#redis,
      sub: this.#sub,
      keys: this.#keys,
      leaseMs: this.#options.leaseMs,
      logger: {
        ...silent,
        warn: (f, m) => this.#host?.logger.warn(f, m),
        error: (f, m) => this.#host?.logger.error(f, m),
        info: (f, m) => this.#host?.logger.info(f, m),
      },
    });
    const specs = new SpecTable(this.#options.specs);
    this.directory = new Presence(this.#redis, this.#keys, this.#node);
    this.deliveries = new ClusterDeliveries({
      redis: this.#redis,
      keys: this.#keys,
      node: this.#node,
      presence: this.directory,
      specs,
      options: this.#options,
    });
    this.deliveries.onRecorded = (event) => this.emit("reply", event);
    this.#remote = new RemotePush({
      node: this.#node,
      presence: this.directory,
      specs,
      options: this.#options,
    });
    this.uplink = new RedisUplinkIdempotency(
      this.#redis,
      this.#keys,
      this.nodeId,
      this.#options.uplinkRunningMs,
      this.#options.uplinkRetentionMs,
    );
  }

  /**
   * The node's command connection (fail-fast settings), for an application's own shared state: a
   * `Redis`, or a `Cluster` with `nodes` (Redis Cluster).
   */
  get redis(): Redis | Cluster {
    return this.#redis;
  }

  /**
   * Round trips this node made to Redis so far (a command, pipeline or script counts once; the
   * subscriber connection included): what the benchmark divides by deliveries and heartbeats.
   */
  redisRoundTrips(): number {
    return roundTripsOf(this.#redis).count + roundTripsOf(this.#sub).count;
  }

  /** The key prefix of this cluster. */
  get prefix(): string {
    return this.#options.prefix;
  }

  async start(host: ClusterHost): Promise<void> {
    if (this.#host !== undefined)
      throw new InvalidOptionsError("cluster", "a cluster object serves one server");
    this.#host = host;
    try {
      // The application may have connected the command connection already (its own state).
      if (this.#redis.status === "wait") await this.#redis.connect();
      await this.#sub.connect();
      this.directory.attach(host);
      this.deliveries.attach(host);
      this.#remote.attach(host);
      await this.#node.start((message, payload) => this.#onInbox(message, payload));
    } catch (error) {
      this.#redis.disconnect();
      this.#sub.disconnect();
      throw unavailable(`node ${this.nodeId} joining the cluster`, error);
    }
    this.#reconcileTimer = setInterval(() => void this.#reconcile(), this.#options.reconcileMs);
    this.#reconcileTimer.unref();
    host.logger.info({ node: this.nodeId, prefix: this.#options.prefix }, "joined the cluster");
  }

  async stop(): Promise<void> {
    clearInterval(this.#reconcileTimer);
    this.deliveries.detach();
    this.#remote.detach(new ServerStoppedError());
    await this.directory.settled();
    await this.#node.stop();
    await Promise.all([
      this.#redis.quit().catch(() => this.#redis.disconnect()),
      this.#sub.quit().catch(() => this.#sub.disconnect()),
    ]);
  }

  send<T>(deviceId: string, def: MessageDef<T>, message: T): Promise<void> {
    return this.#remote.send(deviceId, def, message);
  }

  request<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: RequestOptions<Rep>,
  ): Promise<Rep> {
    return this.#remote.request(deviceId, spec, message, options);
  }

  stream<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: RequestOptions<Rep>,
  ): AsyncIterable<Rep> {
    return this.#remote.stream(deviceId, spec, message, options);
  }

  /** Where `deviceId` is online cluster-wide (node, session, epoch), if anywhere. */
  locate(deviceId: string) {
    return this.directory.locate(deviceId);
  }

  /**
   * The record of delivery `key` to `deviceId`, readable from any node: pending, or how it ended
   * (kept for `outcomeRetentionMs`). Rejects with `ClusterUnavailableError` when Redis is down.
   */
  outcome(deviceId: string, key: string): Promise<DeliveryRecord | undefined> {
    return guarded(`outcome of ${key}`, () => readRecord(this.#redis, this.#keys, deviceId, key));
  }

  /**
   * Ended deliveries, oldest first, after event id `after` (default: from the start). With several
   * shards the streams of every shard are merged; an event id names its shard (`<stream id>@<shard>`).
   */
  async outcomes(options: { after?: string; count?: number } = {}): Promise<DeliveryOutcomeEvent[]> {
    const count = options.count ?? 100;
    const streams = this.#keys.outcomeKeys();
    const sharded = streams.length > 1;
    const [afterId, afterShard] = parseEventId(options.after);
    const pages = await Promise.all(
      streams.map((stream, shard) => {
        // Events are ordered by (stream id, shard): a later shard may hold an event of the same id.
        const start = afterId === undefined ? "-" : shard > afterShard ? afterId : `(${afterId}`;
        return guarded("outcome stream", () => this.#redis.xrangeBuffer(stream, start, "+", "COUNT", count));
      }),
    );
    const events: Array<DeliveryOutcomeEvent & { readonly shard: number; readonly streamId: string }> = [];
    for (const [shard, entries] of pages.entries()) {
      for (const [rawId, fields] of entries) {
        const value = new Map<string, Buffer>();
        for (let i = 0; i + 1 < fields.length; i += 2) value.set(fields[i]!.toString(), fields[i + 1]!);
        const text = (name: string) => value.get(name)?.toString() ?? "";
        const reply = value.get("reply");
        const streamId = rawId.toString();
        events.push({
          id: sharded ? `${streamId}@${shard}` : streamId,
          shard,
          streamId,
          deviceId: text("device"),
          key: text("key"),
          outcome: text("outcome") as DeliveryOutcomeEvent["outcome"],
          node: text("node"),
          replies: Number(text("replies") || 0),
          reason: text("reason"),
          reply: reply === undefined || reply.length === 0 ? undefined : reply,
        });
      }
    }
    if (sharded) events.sort((a, b) => compareIds(a.streamId, b.streamId) || a.shard - b.shard);
    return events.slice(0, count).map(({ shard: _shard, streamId: _streamId, ...event }) => event);
  }

  #onInbox(message: InboxMessage, payload: Buffer): void {
    switch (message.k) {
      case "kick":
        this.directory.kick(message.d, message.e);
        return;
      case "ring":
        void this.deliveries.sendPending(message.d);
        return;
      case "drep":
        this.deliveries.replied(message.d, message.key, payload, message.fin);
        return;
      case "dend":
        this.deliveries.ended(message.d, message.key, message.outcome, message.reason);
        return;
      default:
        this.#remote.handle(message, payload);
    }
  }

  /** The reconcile pass (see `RedisClusterOptions.reconcileMs`); one at a time. */
  async #reconcile(): Promise<void> {
    if (this.#reconciling) return;
    this.#reconciling = true;
    try {
      await this.#node.reconcile();
      this.directory.retryReleases();
      await this.deliveries.reconcile();
    } finally {
      this.#reconciling = false;
    }
  }
}

/** `<stream id>` or `<stream id>@<shard>` → its parts (shard 0 when absent). */
function parseEventId(id: string | undefined): [string | undefined, number] {
  if (id === undefined) return [undefined, 0];
  const at = id.indexOf("@");
  if (at < 0) return [id, 0];
  const shard = Number(id.slice(at + 1));
  if (!/^\d+-\d+$/.test(id.slice(0, at)) || !Number.isInteger(shard) || shard < 0) {
    throw new InvalidOptionsError(
      "after",
      `expected an event id (<ms>-<seq>[@<shard>]), got ${JSON.stringify(id)}`,
    );
  }
  return [id.slice(0, at), shard];
}
