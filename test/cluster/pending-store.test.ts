/**
 * The runtime's pending-delivery store contract, run against RedisPendingDeliveryStore: two handles
 * (two connections, as two server processes hold them) on one private redis-server.
 */

import { RedisPendingDeliveryStore } from "@paynet/cluster";
import { pendingDeliveryStoreContract } from "@paynet/runtime/testing";
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

describe.skipIf(skip !== undefined)(
  "RedisPendingDeliveryStore honours the pending-delivery store contract",
  () => {
    const cases = pendingDeliveryStoreContract({
      open: async () => {
        redis!.cli("FLUSHALL");
        const options = { url: redis!.url, prefix: "contract" };
        return [
          await RedisPendingDeliveryStore.open(options),
          await RedisPendingDeliveryStore.open(options),
        ] as const;
      },
      close: async (stores) => {
        await Promise.all(stores.map((store) => (store as RedisPendingDeliveryStore).close()));
      },
    });
    for (const check of cases) it(check.name, check.run, 30_000);
  },
);
