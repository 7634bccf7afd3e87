/** Options of {@link redisCluster}, validated up front: every problem is an `InvalidOptionsError` naming the option. */

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { InvalidOptionsError, type RequestSpec } from "@paynet/runtime";
import type { RedisOptions } from "ioredis";

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
export type ResolvedClusterOptions = Required<Omit<RedisClusterOptions, "redis">> & {
  readonly redis: RedisOptions;
};

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
