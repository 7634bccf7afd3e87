/**
 * The cluster on a real Redis Cluster with replicas (3 masters, 3 replicas, started by the test):
 * SIGKILL of the master serving a device's shard while a delivery to that device is pending. The
 * replica is promoted, the nodes follow the new slot map by themselves, and the pending delivery
 * reaches the device at its next login, is executed once and recorded.
 */
import { ClusterKeys } from "@paynet/cluster";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AckState, CommandDef } from "../helpers/messages.js";
import { makeTestPki, type TestPki } from "../helpers/pki.js";
import type { RawDevice } from "../helpers/raw-device.js";
import { startRedisCluster, type TestRedisCluster } from "../helpers/redis-cluster.js";
import { stopAll } from "../helpers/test-server.js";
import { scaled } from "../helpers/time.js";
import { ack, clusterCommandSpec, eventually, loggedIn, skipRedis, startNode } from "./harness.js";

let pki: TestPki;
let redis: TestRedisCluster;

beforeAll(async () => {
  if (skipRedis !== undefined) return;
  pki = await makeTestPki();
  redis = await startRedisCluster(3, 1);
}, 120_000);
afterEach(async () => {
  await stopAll();
});
afterAll(async () => {
  await redis?.stop();
});

describe.skipIf(skipRedis !== undefined)("the cluster on Redis Cluster with replicas", () => {
  it("SIGKILL of the master of a device's shard: its replica takes over, the pending delivery is delivered once and recorded", async () => {
    const a = await startNode(pki, redis);
    const b = await startNode(pki, redis);
    const deviceId = "dev-fo-1";
    const presenceKey = new ClusterKeys("paynet", 16, true).presence(deviceId);
    const slot = Number(redis.cli(redis.ports[0]!, "CLUSTER", "KEYSLOT", presenceKey));
    const master = redis.masterOf(slot);

    const replies: number[] = [];
    const pending = (async () => {
      for await (const reply of a.server.deliver(deviceId, clusterCommandSpec, { orderId: "FO-1", coins: 1 }))
        replies.push(reply.state ?? -1);
    })();
    pending.catch(() => {});
    await eventually(
      async () => (await a.cluster.outcome(deviceId, "FO-1"))?.state === "pending",
      5_000,
      "the record",
    );
    // Replication is asynchronous: the record must have reached the replica (see docs/cluster.md).
    expect(Number(redis.cli(master, "WAIT", "1", "5000"))).toBe(1);

    await redis.kill(master);
    await eventually(
      () => {
        try {
          return redis.masterOf(slot) !== master;
        } catch {
          return false;
        }
      },
      scaled(30_000),
      "the replica's promotion",
    );
    await redis.healthy(scaled(30_000));

    // The device logs in (retried while the nodes learn the new slot map) and gets the command.
    let device: RawDevice | undefined;
    await eventually(
      async () => {
        try {
          device = await loggedIn(b, deviceId);
          return true;
        } catch {
          return false;
        }
      },
      scaled(30_000),
      "a login after the failover",
    );
    expect((await device!.next(CommandDef)).orderId).toBe("FO-1");
    ack(device!, "FO-1", AckState.DONE, 100);
    await pending;
    expect(replies).toEqual([AckState.DONE]);
    expect(await b.cluster.outcome(deviceId, "FO-1")).toMatchObject({ state: "completed", replies: 1 });
    expect((await a.cluster.outcomes()).filter((e) => e.key === "FO-1").map((e) => e.outcome)).toEqual([
      "completed",
    ]);
  });
});
