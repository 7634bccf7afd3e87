/**
 * What the cluster's steps cost in Redis round trips, counted (`RedisCluster.redisRoundTrips()`:
 * a command, pipeline or script is one). The nodes run with long lease and reconcile intervals so
 * that no background traffic falls inside a step; the benchmark (`npm run bench -- --only cluster`)
 * measures the same under load.
 */
import { describe, expect, it } from "vitest";
import { AckState, CommandDef, PingDef, PongDef } from "../helpers/messages.js";
import {
  ack,
  clusterCommandSpec,
  loggedIn,
  setUpClusterTests,
  skipRedis,
  startNode,
  type TestNode,
} from "./harness.js";

const env = setUpClusterTests();
const quiet = { cluster: { leaseMs: 120_000, reconcileMs: 120_000 } };
const total = (...nodes: TestNode[]) => nodes.reduce((sum, node) => sum + node.cluster.redisRoundTrips(), 0);

describe.skipIf(skipRedis !== undefined)("Redis round trips per step", () => {
  it("a cross-node delivery to its final reply costs 5; heartbeats cost none; a login costs 1", async () => {
    const a = await startNode(env.pki(), env.redis(), quiet);
    const b = await startNode(env.pki(), env.redis(), quiet);
    // The first use of each script loads it (EVALSHA refused, then EVAL): warm each step first.
    await loggedIn(b, "dev-rt-warm");
    const beforeLogin = total(a, b);
    const device = await loggedIn(b, "dev-rt-1");
    expect(total(a, b) - beforeLogin).toBe(1);

    const warm = a.server.deliver("dev-rt-1", clusterCommandSpec, { orderId: "RT-0", coins: 1 });
    const warmDone = (async () => {
      for await (const _ of warm) {
        // Until the final ack.
      }
    })();
    await device.next(CommandDef);
    ack(device, "RT-0", AckState.DONE, 100);
    await warmDone;

    const before = total(a, b);
    const replies = a.server.deliver("dev-rt-1", clusterCommandSpec, { orderId: "RT-1", coins: 1 });
    const done = (async () => {
      for await (const _ of replies) {
        // Until the final ack.
      }
    })();
    expect((await device.next(CommandDef)).orderId).toBe("RT-1");
    ack(device, "RT-1", AckState.DONE, 100);
    await done;
    // Create, ring node B (its inbox), claim the send, record the reply, hand it to node A.
    expect(total(a, b) - before).toBe(5);

    const beforePings = total(a, b);
    for (let i = 0; i < 20; i++) {
      device.send(PingDef, { timestamp: i });
      await device.next(PongDef);
    }
    expect(total(a, b) - beforePings).toBe(0);
  });
});
