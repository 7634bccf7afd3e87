/**
 * The Redis connections of a node. Every command fails fast while Redis is unreachable: no offline
 * queue, one attempt per command, a command timeout, so `deliver()` and logins get a typed
 * `ClusterUnavailableError` at once instead of piling up in memory; ioredis reconnects by itself
 * (backoff capped at 1 s) and the cluster carries on when Redis is back. A command in flight when
 * the connection drops fails at once and is never sent again by ioredis (`maxRetriesPerRequest: 0`,
 * `autoResendUnfulfilledCommands: false`): Redis may have run it, so only the code that sent it
 * knows whether running it again is safe (the claims and replies of deliveries are retried by the
 * reconcile pass, which knows).
 *
 * A connection is a single Redis (or a Sentinel-managed primary) or, with `nodes`, a Redis Cluster
 * (sharded; ioredis routes each command by the hash slot of its first key).
 */
import { ClusterUnavailableError, PaynetError } from "@paynet/runtime";
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import type { ResolvedClusterOptions } from "./options.js";
import { SCRIPTS } from "./scripts.js";

/** The scripts as commands of a connection (see scripts.ts for their keys and arguments). */
export interface ScriptCommands {
  paynetClaim(...args: Array<string | number>): Promise<string[]>;
  paynetRelease(...args: Array<string | number>): Promise<number>;
  paynetCreate(...args: Array<string | number | Buffer>): Promise<string[]>;
  paynetClaimSendsBuffer(...args: Array<string | number>): Promise<Buffer[]>;
  paynetReply(...args: Array<string | number | Buffer>): Promise<string[]>;
  paynetFinish(...args: Array<string | number>): Promise<string[]>;
  paynetUplinkClaimBuffer(...args: Array<string | number>): Promise<Buffer[]>;
  paynetInboxAdd(...args: Array<string | number | Buffer>): Promise<string>;
}

/** A connection (single Redis or Redis Cluster) with the cluster's scripts defined on it. */
export type ClusterRedis = (Redis | Cluster) & ScriptCommands;

/**
 * Round trips to Redis made through one connection: a command, a pipeline or a MULTI/EXEC block
 * counts once (one write, its replies read back); a script counts once whatever it runs inside.
 */
export interface RoundTrips {
  count: number;
}

const roundTripCounters = new WeakMap<object, RoundTrips>();

/** The round-trip counter of a connection opened by {@link openRedis}. */
export function roundTripsOf(redis: Redis | Cluster): RoundTrips {
  return roundTripCounters.get(redis) ?? { count: 0 };
}

/** Opens (lazily) a connection with the fail-fast settings; `role` names it in `CLIENT LIST`. */
export function openRedis(options: ResolvedClusterOptions, role: "cmd" | "sub"): ClusterRedis {
  const sub = role === "sub";
  const connectionName = `paynet-${role}-${options.nodeId}`;
  const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1_000);
  let redis: Redis | Cluster;
  if (options.nodes.length > 0) {
    const { host: _host, port: _port, path: _path, sentinels: _s, ...rest } = options.redis;
    const clusterOptions: ClusterOptions = {
      ...options.redisClusterOptions,
      lazyConnect: true,
      enableOfflineQueue: sub,
      maxRedirections: 4,
      clusterRetryStrategy: retryStrategy,
      redisOptions: {
        ...rest,
        ...options.redisClusterOptions.redisOptions,
        maxRetriesPerRequest: sub ? null : 0,
        autoResendUnfulfilledCommands: sub,
        commandTimeout: sub ? undefined : options.commandTimeoutMs,
        connectTimeout: options.commandTimeoutMs,
        connectionName,
      } as ClusterOptions["redisOptions"],
    };
    redis = new Cluster(options.nodes as Array<{ host: string; port: number }>, clusterOptions);
  } else {
    const settings: RedisOptions = {
      ...options.redis,
      lazyConnect: true,
      enableOfflineQueue: sub,
      maxRetriesPerRequest: sub ? null : 0,
      autoResendUnfulfilledCommands: sub,
      commandTimeout: sub ? undefined : options.commandTimeoutMs,
      connectTimeout: options.commandTimeoutMs,
      retryStrategy,
      connectionName,
    } as RedisOptions;
    redis =
      options.redis.sentinels !== undefined
        ? // Sentinel: the sentinels name the primary (and a new one after a failover); no url.
          new Redis(settings)
        : options.url.startsWith("unix://")
          ? new Redis({ ...settings, path: options.url.slice("unix://".length) })
          : new Redis(options.url, settings);
  }
  for (const [name, script] of Object.entries(SCRIPTS)) redis.defineCommand(name, script);
  countRoundTrips(redis);
  // Errors are reported through the commands that fail; the connection event would only repeat them.
  redis.on("error", () => {});
  return redis as ClusterRedis;
}

/** Wraps `sendCommand` to count round trips (see {@link RoundTrips}); a pipeline's commands count once. */
function countRoundTrips(redis: Redis | Cluster): void {
  const counter: RoundTrips = { count: 0 };
  roundTripCounters.set(redis, counter);
  const pipelines = new WeakSet<object>();
  const target = redis as unknown as {
    sendCommand: (command: unknown, stream?: unknown, node?: unknown) => unknown;
  };
  const send = target.sendCommand.bind(redis);
  target.sendCommand = (command, stream, node) => {
    // A pipeline (and MULTI/EXEC) hands every command the same stream object, then writes once.
    const isPipeline = typeof stream === "object" && stream !== null && "isPipeline" in stream;
    if (!isPipeline) counter.count++;
    else if (!pipelines.has(stream)) {
      pipelines.add(stream);
      counter.count++;
    }
    return send(command, stream, node);
  };
}

/**
 * Commands sent on one connection and not answered yet beyond which new work is refused: a Redis
 * that hangs (stopped, swapping) keeps the connection up, so without a bound every `deliver()` and
 * login would add one more command waiting in memory until its timeout.
 */
export const MAX_IN_FLIGHT = 10_000;

/** Whether a connection can take commands now: connected, and not holding too many unanswered. */
export function isReady(redis: Redis | Cluster): boolean {
  if (redis.status !== "ready") return false;
  const inFlight = (redis as Partial<Pick<Redis, "commandQueue">>).commandQueue?.length ?? 0;
  return inFlight < MAX_IN_FLIGHT;
}

/** `error` as the cluster's typed error: what failed and why. Already typed errors pass through. */
export function unavailable(what: string, error: unknown): Error {
  // A runtime error (NotConnected, InvalidOptions, ClusterUnavailable, ...) keeps its meaning.
  if (error instanceof PaynetError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new ClusterUnavailableError(`${what}: Redis unavailable (${reason})`, { cause: error });
}

/** Runs `command`, turning any Redis failure into a `ClusterUnavailableError` about `what`. */
export async function guarded<T>(what: string, command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (error) {
    throw unavailable(what, error);
  }
}
