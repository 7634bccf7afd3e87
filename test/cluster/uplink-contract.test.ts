/**
 * The uplink idempotency contract (`uplinkIdempotencyContract` of `@paynet/runtime/testing`), run
 * against the Redis cluster's record: two nodes' handles (two connections) on one private Redis.
 */
import { type RedisCluster, redisCluster } from "@paynet/cluster";
import { uplinkIdempotencyContract } from "@paynet/runtime/testing";
import { afterAll, beforeAll, describe, it } from "vitest";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis-server.js";

const skip = redisMissing();
let redis: TestRedis | undefined;

beforeAll(async () => {
  if (skip === undefined) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe.skipIf(skip !== undefined)("the Redis uplink idempotency record honours the uplink contract", () => {
  const nodes = new Map<object, RedisCluster>();
  const cases = uplinkIdempotencyContract({
    open: async ({ runningMs }) => {
      redis!.cli("FLUSHALL");
      const open = async (nodeId: string) => {
        // The record of a cluster node, on its own connection (the node itself is not started).
        const cluster = redisCluster({
          url: redis!.url,
          nodeId,
          prefix: "contract",
          uplinkRunningMs: runningMs,
        });
        await cluster.redis.connect();
        nodes.set(cluster.uplink, cluster);
        return cluster.uplink;
      };
      return [await open("node-a"), await open("node-b")] as const;
    },
    close: async (handles) => {
      for (const handle of handles) {
        const cluster = nodes.get(handle);
        nodes.delete(handle);
        await cluster?.redis.quit();
      }
    },
  });
  for (const check of cases) it(check.name, check.run, 60_000);
});
