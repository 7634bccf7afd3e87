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
import type { Redis } from "ioredis";
import { type ClusterRedis, guarded, openRedis, unavailable } from "./connection.js";
import { ClusterDeliveries, type DeliveryReplyEvent } from "./deliveries.js";
import { ClusterKeys } from "./keys.js";
import { ClusterNode, type InboxMessage } from "./node.js";
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
    this.#keys = new ClusterKeys(this.#options.prefix);
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

  /** The node's command connection (fail-fast settings), for an application's own shared state. */
  get redis(): Redis {
    return this.#redis;
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

  /** Ended deliveries, oldest first, after stream id `after` (default: from the start). */
  async outcomes(options: { after?: string; count?: number } = {}): Promise<DeliveryOutcomeEvent[]> {
    const start = options.after === undefined ? "-" : `(${options.after}`;
    const entries = await guarded("outcome stream", () =>
      this.#redis.xrangeBuffer(this.#keys.outcomes, start, "+", "COUNT", options.count ?? 100),
    );
    return entries.map(([id, fields]) => {
      const value = new Map<string, Buffer>();
      for (let i = 0; i + 1 < fields.length; i += 2) value.set(fields[i]!.toString(), fields[i + 1]!);
      const text = (name: string) => value.get(name)?.toString() ?? "";
      const reply = value.get("reply");
      return {
        id: id.toString(),
        deviceId: text("device"),
        key: text("key"),
        outcome: text("outcome") as DeliveryOutcomeEvent["outcome"],
        node: text("node"),
        replies: Number(text("replies") || 0),
        reason: text("reason"),
        reply: reply === undefined || reply.length === 0 ? undefined : reply,
      };
    });
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
      await this.#node.drain();
      this.directory.retryReleases();
      await this.deliveries.reconcile();
    } finally {
      this.#reconciling = false;
    }
  }
}
