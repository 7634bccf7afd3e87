/**
 * @packageDocumentation
 * `@paynet/runtime/cluster`: what a cluster plug-in (`ServerOptions.cluster`, e.g. `@paynet/cluster`)
 * is built on: the seam it implements ({@link ServerCluster} with its directory, delivery engine and
 * uplink idempotency), the {@link ClusterHost} through which it reaches the server's sessions, and
 * the runtime's own building blocks it reuses (the bounded reply stream, the process-wide timer
 * wheel). Applications need none of this; they pass a ready cluster to `ServerOptions.cluster`.
 */

export { ReplyQueue, type ReplySink } from "../delivery/reply-queue.js";
export type {
  ClusterHost,
  DeliveryEngine,
  ServerCluster,
  UplinkDecision,
  UplinkIdempotency,
} from "../server/cluster.js";
export type { SessionDirectory } from "../server/directory.js";
export { sharedTimerWheel, type TimerWheel, type WheelTimer } from "../timers.js";
