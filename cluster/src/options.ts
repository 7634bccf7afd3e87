/** Options of {@link redisCluster}, validated up front: every problem is an `InvalidOptionsError` naming the option. */

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { InvalidOptionsError, type RequestSpec } from "@paynet/runtime";
import type { ClusterOptions, RedisOptions } from "ioredis";

/**
 * A request the cluster may have to carry between nodes: the node holding the device decodes the
 * request, matches replies by `replyKey` and, for deliveries, decides finality with `isFinal`
 * (every reply is final without it), whichever node called `deliver()`.
 */
// biome-ignore lint/suspicious/noExplicitAny: a table of specs of different message types
export type ClusterSpec = RequestSpec<any, any> & { readonly isFinal?: (reply: any) => boolean };

/** Options of {@link redisCluster}. */
export interface RedisClusterOptions {
  /**
   * `redis://[user:password@]HOST:PORT[/DB]`, `rediss://...` (TLS) or `unix:///path/redis.sock`.
   * Default `redis://127.0.0.1:6379`. For Sentinel give `redis` options (`sentinels`, `name`) instead.
   */
  url?: string;
  /** Extra ioredis options (Sentinel, TLS, password, ...). The fail-fast settings are always applied. */
  redis?: RedisOptions;
  /**
   * Seed nodes of a Redis Cluster (sharded): `redis://HOST:PORT` strings or `{ host, port }`. With
   * them the node connects in cluster mode (ioredis `Cluster`) and `url` is not used; keys are laid
   * out in {@link RedisClusterOptions.shards} hash slots (see docs/cluster.md).
   */
  nodes?: ReadonlyArray<string | { host: string; port: number }>;
  /** Extra ioredis `Cluster` options (with `nodes`): `natMap`, `slotsRefreshTimeout`, ... */
  clusterOptions?: ClusterOptions;
  /**
   * Key shards: every device belongs to one, and its keys share that shard's hash slot with the
   * shard's deadline index and outcome stream, so every script touches one slot. Default 1 on a
   * single Redis (keys tagged by device id), 16 with `nodes`. Fixed for the life of the data.
   */
  shards?: number;
  /** Prefix of every key, so several clusters share one Redis. Default `paynet`. */
  prefix?: string;
  /**
   * The requests sent with `request`/`stream`/`deliver` (the generated `...Request` specs), so any
   * node can carry them for any other. A spec not listed here cannot be used across nodes.
   */
  specs?: readonly ClusterSpec[];
  /** This node's id: unique in the cluster. Default `<hostname>-<pid>-<random>`. */
  nodeId?: string;
  /** Node liveness lease: a dead node's devices read as offline within this long. Default 6 000 ms. */
  leaseMs?: number;
  /**
   * Interval of the reconcile pass: the inbox is read even when its doorbell was lost, ended and
   * unsent deliveries are caught up, expired deliveries are swept. Default 1 000 ms.
   */
  reconcileMs?: number;
  /** A Redis command not answered within this long fails (`CLUSTER_UNAVAILABLE`). Default 2 000 ms. */
  commandTimeoutMs?: number;
  /** How long a node answering a push or request may take before the caller gives up. Default 5 000 ms. */
  pushTimeoutMs?: number;
  /** Ended delivery records stay readable by key this long. Default 7 days. */
  outcomeRetentionMs?: number;
  /** Approximate length bound of the outcome stream (`XADD MAXLEN ~`). Default 1 000 000. */
  maxOutcomes?: number;
  /** Cluster-wide bound of pending deliveries (`PENDING_LIMIT` beyond). Default 1 000 000. */
  maxPendingDeliveries?: number;
  /** Uplink requests: a handler whose node died mid-run may run again after this long. Default 60 000 ms. */
  uplinkRunningMs?: number;
  /** Uplink requests: a finished one is answered from its record this long. Default 24 h. */
  uplinkRetentionMs?: number;
}

/** Options with their defaults applied. */
export type ResolvedClusterOptions = Required<
  Omit<RedisClusterOptions, "redis" | "nodes" | "clusterOptions">
> & {
  readonly redis: RedisOptions;
  /** Redis Cluster seed nodes; empty for a single Redis. */
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  readonly redisClusterOptions: ClusterOptions;
};

/** Parses one Redis Cluster seed node. */
function seedNode(value: unknown, index: number): { host: string; port: number } {
  const option = `nodes[${index}]`;
  if (typeof value === "string") {
    const match = /^rediss?:\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(value);
    if (match === null)
      throw new InvalidOptionsError(option, `expected redis://HOST:PORT, got ${JSON.stringify(value)}`);
    return { host: match[1]!.replace(/^\[|\]$/g, ""), port: Number(match[2]) };
  }
  if (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { host?: unknown }).host === "string" &&
    Number.isInteger((value as { port?: unknown }).port)
  ) {
    const { host, port } = value as { host: string; port: number };
    if (port >= 1 && port <= 65_535) return { host, port };
  }
  throw new InvalidOptionsError(
    option,
    "expected redis://HOST:PORT or { host, port } with a port in 1..65535",
  );
}

export const DEFAULT_LEASE_MS = 6_000;
export const DEFAULT_RECONCILE_MS = 1_000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 2_000;
export const DEFAULT_PUSH_TIMEOUT_MS = 5_000;

/** Checks every option and fills in defaults. */
export function resolveClusterOptions(options: RedisClusterOptions = {}): ResolvedClusterOptions {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionsError("options", "expected an object");
  }
  const o = options;
  check(
    "url",
    o.url,
    (v) => typeof v === "string" && /^(rediss?|unix):\/\//.test(v),
    "a redis://, rediss:// or unix:// URL",
  );
  check("redis", o.redis, (v) => typeof v === "object" && v !== null, "an ioredis options object");
  check(
    "prefix",
    o.prefix,
    (v) => typeof v === "string" && /^[A-Za-z0-9_.:-]+$/.test(v),
    "letters, digits and _.:-",
  );
  check(
    "nodeId",
    o.nodeId,
    (v) => typeof v === "string" && /^[A-Za-z0-9_.-]+$/.test(v),
    "letters, digits and _.-",
  );
  check("nodes", o.nodes, (v) => Array.isArray(v) && v.length > 0, "a non-empty array of seed nodes");
  const nodes = (o.nodes ?? []).map(seedNode);
  check(
    "clusterOptions",
    o.clusterOptions,
    (v) => typeof v === "object" && v !== null,
    "an ioredis Cluster options object",
  );
  if (o.clusterOptions !== undefined && o.nodes === undefined) {
    throw new InvalidOptionsError("clusterOptions", "only with nodes (Redis Cluster)");
  }
  check("shards", o.shards, (v) => Number.isInteger(v) && v >= 1 && v <= 1_024, "an integer in 1..1024");
  if (nodes.length > 0 && o.url !== undefined) {
    throw new InvalidOptionsError("url", "give either url (one Redis) or nodes (Redis Cluster), not both");
  }
  check("specs", o.specs, (v) => Array.isArray(v), "an array of request specs");
  for (const [i, spec] of (o.specs ?? []).entries()) {
    check(
      `specs[${i}]`,
      spec,
      (v) =>
        typeof v === "object" &&
        v !== null &&
        typeof v.request?.codec?.decode === "function" &&
        typeof v.reply?.codec?.decode === "function",
      "a RequestSpec (request and reply MessageDefs)",
    );
  }
  const positive = [
    "leaseMs",
    "reconcileMs",
    "commandTimeoutMs",
    "pushTimeoutMs",
    "outcomeRetentionMs",
    "maxOutcomes",
    "maxPendingDeliveries",
    "uplinkRunningMs",
    "uplinkRetentionMs",
  ] as const;
  for (const name of positive) {
    check(name, o[name], (v) => Number.isInteger(v) && v >= 1, "a positive integer");
  }
  const leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
  if (leaseMs < 300) throw new InvalidOptionsError("leaseMs", `expected at least 300, got ${leaseMs}`);
  return {
    url: o.url ?? "redis://127.0.0.1:6379",
    redis: o.redis ?? {},
    nodes,
    redisClusterOptions: o.clusterOptions ?? {},
    shards: o.shards ?? (nodes.length > 0 ? 16 : 1),
    prefix: o.prefix ?? "paynet",
    specs: o.specs ?? [],
    nodeId:
      o.nodeId ??
      `${hostname().replace(/[^A-Za-z0-9_.-]/g, "_")}-${process.pid}-${randomBytes(3).toString("hex")}`,
    leaseMs,
    reconcileMs: o.reconcileMs ?? DEFAULT_RECONCILE_MS,
    commandTimeoutMs: o.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    pushTimeoutMs: o.pushTimeoutMs ?? DEFAULT_PUSH_TIMEOUT_MS,
    outcomeRetentionMs: o.outcomeRetentionMs ?? 7 * 86_400_000,
    maxOutcomes: o.maxOutcomes ?? 1_000_000,
    maxPendingDeliveries: o.maxPendingDeliveries ?? 1_000_000,
    uplinkRunningMs: o.uplinkRunningMs ?? 60_000,
    uplinkRetentionMs: o.uplinkRetentionMs ?? 86_400_000,
  };
}

function check<T>(
  option: string,
  value: T | undefined,
  valid: (value: T) => boolean,
  expected: string,
): void {
  if (value === undefined) return;
  if (!valid(value)) {
    const shown =
      typeof value === "string"
        ? JSON.stringify(value)
        : typeof value === "object"
          ? typeof value
          : String(value);
    throw new InvalidOptionsError(option, `expected ${expected}, got ${shown}`);
  }
}
