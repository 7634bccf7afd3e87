/**
 * @packageDocumentation
 * `@paynet/cluster`: many paynet server processes and machines acting as one server, on Redis.
 * Presence with login epochs (the last login wins cluster-wide, the loser is fenced), pushes to a
 * device on any node, durable at-least-once deliveries whose outcome is recorded even when the
 * caller died, and cluster-wide idempotency of correlated uplink requests.
 *
 * ```ts
 * const server = createPayboxServer({ tls, cluster: redisCluster({ url, specs: [CoinCommandRequest] }) }, handlers);
 * ```
 */
export { type DeliveryOutcomeEvent, RedisCluster, type RedisClusterEvents, redisCluster } from "./cluster.js";
export type { DeliveryReplyEvent } from "./deliveries.js";
export { ClusterKeys } from "./keys.js";
export type { ClusterSpec, RedisClusterOptions } from "./options.js";
export { RedisPendingDeliveryStore, type RedisPendingStoreOptions } from "./pending-store.js";
export type { DeviceLocation } from "./presence.js";
export type { DeliveryRecord, EndState } from "./records.js";
