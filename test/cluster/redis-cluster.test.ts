/**
 * The cluster on a real Redis Cluster (sharded): three masters started by the test
 * (`redis-server --cluster-enabled yes`, joined with `redis-cli --cluster create`), two paynet
 * nodes connected in cluster mode (`redisCluster({ nodes })`). Presence, cross-node pushes and
 * durable deliveries work across it, every script touches one hash slot (Redis refuses cross-slot
 * scripts in cluster mode, so a wrong key layout fails here), and the keys of one device share a slot.
 */
import { redisCluster } from "@paynet/cluster";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AckState, CommandDef, PongDef } from "../helpers/messages.js";
import { makeTestPki, type TestPki } from "../helpers/pki.js";
import { startRedisCluster, type TestRedisCluster } from "../helpers/redis-cluster.js";
import { stopAll } from "../helpers/test-server.js";
import { ack, clusterCommandSpec, eventually, loggedIn, skipRedis, startNode } from "./harness.js";

let pki: TestPki;
let redis: TestRedisCluster;

beforeAll(async () => {
  if (skipRedis !== undefined) return;
  pki = await makeTestPki();
  redis = await startRedisCluster(3);
}, 120_000);
afterEach(async () => {
  await stopAll();
  if (redis !== undefined) redis.everyMaster("FLUSHALL");
});
afterAll(async () => {
  await redis?.stop();
});

/** Every key on every master, with the master's port. */
function allKeys(): Array<{ key: string; port: number }> {
  const keys: Array<{ key: string; port: number }> = [];
  for (const [port, out] of redis.everyMaster("--scan")) {
    for (const key of out.split("\n").filter(Boolean)) keys.push({ key, port });
  }
  return keys;
}

const slotOf = (key: string) => Number(redis.cli(redis.ports[0]!, "CLUSTER", "KEYSLOT", key));

describe("redisCluster({ nodes }) options", () => {
  it("refuses a malformed seed node, url together with nodes, and shards out of range, naming the option", () => {
    expect(() => redisCluster({ nodes: ["127.0.0.1:7000"] })).toThrow(/nodes\[0\].*redis:\/\/HOST:PORT/);
    expect(() => redisCluster({ nodes: [{ host: "127.0.0.1", port: 70_000 }] })).toThrow(/nodes\[0\]/);
    expect(() => redisCluster({ nodes: ["redis://127.0.0.1:7000"], url: "redis://127.0.0.1:7001" })).toThrow(
      /url.*either url/,
    );
    expect(() => redisCluster({ nodes: ["redis://127.0.0.1:7000"], shards: 0 })).toThrow(/shards/);
    expect(() => redisCluster({ clusterOptions: {} })).toThrow(/clusterOptions.*only with nodes/);
    expect(
      redisCluster({ nodes: ["redis://127.0.0.1:7000", { host: "::1", port: 7001 }] }).nodeId,
    ).toBeTruthy();
  });
});

describe.skipIf(skipRedis !== undefined)("the cluster on Redis Cluster (3 masters)", () => {
  it("deliver() on node A reaches the device on node B; the outcome is recorded; the device's keys share one slot", async () => {
    const a = await startNode(pki, redis);
    const b = await startNode(pki, redis);
    const device = await loggedIn(b, "dev-rc-1");
    expect((await a.cluster.locate("dev-rc-1"))?.node).toBe(b.cluster.nodeId);
    const replies: number[] = [];
    const done = (async () => {
      for await (const reply of a.server.deliver("dev-rc-1", clusterCommandSpec, {
        orderId: "RC-1",
        coins: 2,
      }))
        replies.push(reply.state ?? -1);
    })();
    expect((await device.next(CommandDef)).orderId).toBe("RC-1");
    ack(device, "RC-1", AckState.ACCEPTED);
    ack(device, "RC-1", AckState.DONE, 100);
    await done;
    expect(replies).toEqual([AckState.ACCEPTED, AckState.DONE]);
    expect(await a.cluster.outcome("dev-rc-1", "RC-1")).toMatchObject({
      state: "completed",
      replies: 2,
      origin: a.cluster.nodeId,
      endedBy: b.cluster.nodeId,
    });
    const events = await a.cluster.outcomes();
    expect(events.map((e) => [e.deviceId, e.key, e.outcome])).toEqual([["dev-rc-1", "RC-1", "completed"]]);
    // The device's keys (epoch, presence, record) and its shard's index and stream: one slot.
    const own = allKeys().filter(({ key }) => key.includes(":d:dev-rc-1:"));
    expect(own.map(({ key }) => key.split(":").pop()).sort()).toEqual(
      expect.arrayContaining(["RC-1", "at", "epoch"]),
    );
    const slots = new Set(own.map(({ key }) => slotOf(key)));
    expect(slots.size).toBe(1);
    const shardTag = /\{s\d+\}/.exec(own[0]!.key)![0];
    expect(slotOf(`paynet:${shardTag}:outcomes`)).toBe([...slots][0]);
  });

  it("presence: the last login wins across nodes; send() and request() reach the device on the other node", async () => {
    const a = await startNode(pki, redis);
    const b = await startNode(pki, redis);
    const first = await loggedIn(a, "dev-rc-2");
    const onA = [...a.server.sessions()][0]!;
    const second = await loggedIn(b, "dev-rc-2");
    expect((await a.offlineReason(onA)).code).toBe("SESSION_REPLACED");
    await first.closed;
    expect((await a.cluster.locate("dev-rc-2"))?.node).toBe(b.cluster.nodeId);
    await a.server.send("dev-rc-2", PongDef, { timestamp: 7 });
    expect((await second.next(PongDef)).timestamp).toBe("7");
    const answer = a.server.request("dev-rc-2", clusterCommandSpec, { orderId: "RQ-1", coins: 1 });
    expect((await second.next(CommandDef)).orderId).toBe("RQ-1");
    ack(second, "RQ-1", AckState.DONE, 100);
    expect((await answer).state).toBe(AckState.DONE);
  });

  it("devices spread over shards on every master: pending deliveries reach them at login; expiry is swept once; outcomes page in order", async () => {
    const a = await startNode(pki, redis);
    const b = await startNode(pki, redis);
    const ids = Array.from({ length: 24 }, (_, i) => `dev-rc-s${i}`);
    // Offline devices: the deliveries wait in Redis, in their devices' shards.
    const runs = ids.map((id, i) => {
      const replies = a.server.deliver(id, clusterCommandSpec, { orderId: `P-${i}`, coins: 1 });
      return (async () => {
        for await (const _ of replies) {
          // Until the final ack.
        }
      })();
    });
    const expiring = a.server.deliver(
      "dev-rc-away",
      clusterCommandSpec,
      { orderId: "X-1", coins: 1 },
      {
        deadlineMs: 300,
      },
    );
    const expired = (async () => {
      for await (const _ of expiring) {
        // No reply: it expires.
      }
    })();
    // Awaited below; it may end before.
    expired.catch(() => {});
    await eventually(
      async () => (await Promise.all(ids.map((id, i) => a.cluster.outcome(id, `P-${i}`)))).every(Boolean),
      10_000,
      "the records",
    );
    const masters = new Set(
      allKeys()
        .filter(({ key }) => key.includes(":dl:"))
        .map(({ port }) => port),
    );
    expect(masters.size).toBeGreaterThanOrEqual(2);
    for (const [i, id] of ids.entries()) {
      const device = await loggedIn(i % 2 === 0 ? b : a, id);
      expect((await device.next(CommandDef)).orderId).toBe(`P-${i}`);
      ack(device, `P-${i}`, AckState.DONE, 100);
    }
    await Promise.all(runs);
    await expect(expired).rejects.toMatchObject({ code: "REQUEST_TIMEOUT" });
    await eventually(
      async () => (await b.cluster.outcome("dev-rc-away", "X-1"))?.state === "timedOut",
      10_000,
      "the expiry",
    );
    // Every outcome once, merged across the shards' streams in order, also when paged.
    const all = await b.cluster.outcomes({ count: 1_000 });
    expect(all).toHaveLength(ids.length + 1);
    expect(all.filter((e) => e.outcome === "timedOut").map((e) => e.key)).toEqual(["X-1"]);
    const paged: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await b.cluster.outcomes({ count: 5, ...(after === undefined ? {} : { after }) });
      if (page.length === 0) break;
      paged.push(...page.map((e) => e.id));
      after = page.at(-1)!.id;
    }
    expect(paged).toEqual(all.map((e) => e.id));
    // The pending count (every shard's index) is read by the reconcile pass.
    await eventually(
      () => a.server.stats().delivery.pending + b.server.stats().delivery.pending === 0,
      5_000,
      "no pending deliveries",
    );
  });
});
