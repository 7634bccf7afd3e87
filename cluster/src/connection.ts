/**
 * The Redis connections of a node. Every command fails fast while Redis is unreachable: no offline
 * queue, one attempt per command, a command timeout, so `deliver()` and logins get a typed
 * `ClusterUnavailableError` at once instead of piling up in memory; ioredis reconnects by itself
 * (backoff capped at 1 s) and the cluster carries on when Redis is back.
 */
import { ClusterUnavailableError, PaynetError } from "@paynet/runtime";
import { Redis, type RedisOptions } from "ioredis";
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
}

/** A connection with the cluster's scripts defined on it. */
export type ClusterRedis = Redis & ScriptCommands;

/** Opens (lazily) a connection with the fail-fast settings; `role` names it in `CLIENT LIST`. */
export function openRedis(options: ResolvedClusterOptions, role: "cmd" | "sub"): ClusterRedis {
  const settings: RedisOptions = {
    ...options.redis,
    lazyConnect: true,
    enableOfflineQueue: role === "sub",
    maxRetriesPerRequest: role === "sub" ? null : 1,
    commandTimeout: role === "sub" ? undefined : options.commandTimeoutMs,
    connectTimeout: options.commandTimeoutMs,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1_000),
    connectionName: `paynet-${role}-${options.nodeId}`,
  } as RedisOptions;
  const redis = options.url.startsWith("unix://")
    ? new Redis({ ...settings, path: options.url.slice("unix://".length) })
    : new Redis(options.url, settings);
  for (const [name, script] of Object.entries(SCRIPTS)) redis.defineCommand(name, script);
  // Errors are reported through the commands that fail; the connection event would only repeat them.
  redis.on("error", () => {});
  return redis as ClusterRedis;
}

/** Whether a connection can take commands now. */
export function isReady(redis: Redis): boolean {
  return redis.status === "ready";
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
