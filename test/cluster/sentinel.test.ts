/**
 * The cluster on a Sentinel-managed Redis: a primary, a replica and a real sentinel (started by the
 * test), two paynet nodes given the sentinel (`redisCluster({ redis: { sentinels, name } })`). The
 * primary is killed with SIGKILL while a delivery is pending; the sentinel promotes the replica, the
 * nodes follow it by themselves, and the pending delivery reaches the device at its next login.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AckState, CommandDef } from "../helpers/messages.js";
import { makeTestPki, type TestPki } from "../helpers/pki.js";
import { startSentinel, type TestSentinel } from "../helpers/redis-sentinel.js";
import { stopAll } from "../helpers/test-server.js";
import { scaled } from "../helpers/time.js";
import { ack, clusterCommandSpec, eventually, loggedIn, skipRedis, startNode } from "./harness.js";

let pki: TestPki;
let sentinel: TestSentinel;

beforeAll(async () => {
  if (skipRedis !== undefined) return;
  pki = await makeTestPki();
  sentinel = await startSentinel();
}, 60_000);
afterEach(async () => {
  await stopAll();
});
afterAll(async () => {
  await sentinel?.stop();
});

describe.skipIf(skipRedis !== undefined)("the cluster on Redis Sentinel", () => {
  it("SIGKILL of the primary: the sentinel fails over, the nodes follow, a pending delivery is delivered once and recorded", async () => {
    const target = { sentinels: sentinel.sentinels, name: sentinel.name };
    const a = await startNode(pki, target);
    const b = await startNode(pki, target);
    // Before the failover: a delivery across nodes through the primary the sentinel names.
    const first = await loggedIn(b, "dev-sn-1");
    const warm = (async () => {
      for await (const _ of a.server.deliver("dev-sn-1", clusterCommandSpec, { orderId: "SN-0", coins: 1 })) {
        // Until the final ack.
      }
    })();
    expect((await first.next(CommandDef)).orderId).toBe("SN-0");
    ack(first, "SN-0", AckState.DONE, 100);
    await warm;
    await first.close();
    await eventually(async () => (await a.cluster.locate("dev-sn-1")) === undefined, 5_000, "the release");

    // The device is away; a command for it waits in Redis.
    const replies: number[] = [];
    const pending = (async () => {
      for await (const reply of a.server.deliver("dev-sn-1", clusterCommandSpec, {
        orderId: "SN-1",
        coins: 2,
      }))
        replies.push(reply.state ?? -1);
    })();
    pending.catch(() => {});
    await eventually(
      async () => (await a.cluster.outcome("dev-sn-1", "SN-1"))?.state === "pending",
      5_000,
      "the record",
    );
    // Replication is asynchronous: wait for the replica to hold it (see docs/cluster.md).
    expect(Number(sentinel.cli(sentinel.primaryPort, "WAIT", "1", "5000"))).toBe(1);

    await sentinel.killPrimary();
    await eventually(() => sentinel.primaryNow() === sentinel.replicaPort, scaled(30_000), "the failover");
    // Both nodes reach the new primary by themselves (ioredis asks the sentinel again).
    await eventually(
      async () => {
        try {
          return (await b.cluster.outcome("dev-sn-1", "SN-1"))?.state === "pending";
        } catch {
          return false;
        }
      },
      scaled(30_000),
      "node B on the new primary",
    );
    // The device comes back (its login retried until the claim went through).
    let device: Awaited<ReturnType<typeof loggedIn>> | undefined;
    await eventually(
      async () => {
        try {
          device = await loggedIn(b, "dev-sn-1");
          return true;
        } catch {
          return false;
        }
      },
      scaled(30_000),
      "a login after the failover",
    );
    expect((await device!.next(CommandDef)).orderId).toBe("SN-1");
    ack(device!, "SN-1", AckState.DONE, 100);
    await pending;
    expect(replies).toEqual([AckState.DONE]);
    expect(await a.cluster.outcome("dev-sn-1", "SN-1")).toMatchObject({ state: "completed", replies: 1 });
    expect(sentinel.cli(sentinel.replicaPort, "ROLE").split("\n")[0]).toBe("master");
  });
});
