import { describe, expect, it } from "vitest";
import { AckState, CommandDef, PongDef } from "../helpers/messages.js";
import { scaled } from "../helpers/time.js";
import {
  ack,
  clusterCommandSpec,
  eventually,
  loggedIn,
  setUpClusterTests,
  skipRedis,
  startNode,
} from "./harness.js";

const env = setUpClusterTests();

describe.skipIf(skipRedis !== undefined)("cross-node push", () => {
  it("send() on node A reaches the device on node B and resolves once B queued it", async () => {
    const a = await startNode(env.pki(), env.redis());
    const b = await startNode(env.pki(), env.redis());
    const device = await loggedIn(b, "dev-1");
    await a.server.send("dev-1", PongDef, { timestamp: 42 });
    expect((await device.next(PongDef)).timestamp).toBe("42");
  });

  it("send() to a device online nowhere rejects with NOT_CONNECTED", async () => {
    const a = await startNode(env.pki(), env.redis());
    await expect(a.server.send("dev-nowhere", PongDef, { timestamp: 1 })).rejects.toMatchObject({
      code: "NOT_CONNECTED",
    });
  });

  it("request() and stream() from node A get the replies of the device on node B", async () => {
    const a = await startNode(env.pki(), env.redis());
    const b = await startNode(env.pki(), env.redis());
    const device = await loggedIn(b, "dev-2");
    const answer = a.server.request("dev-2", clusterCommandSpec, { orderId: "R-1", coins: 1 });
    expect((await device.next(CommandDef)).orderId).toBe("R-1");
    // The spec's isFinal decides on node B: ACCEPTED is not final, DONE is.
    ack(device, "R-1", AckState.ACCEPTED);
    ack(device, "R-1", AckState.DONE, 100);
    expect((await answer).state).toBe(AckState.DONE);

    const states: number[] = [];
    const streamed = (async () => {
      for await (const reply of a.server.stream(
        "dev-2",
        clusterCommandSpec,
        { orderId: "S-1", coins: 1 },
        {
          isFinal: (reply) => reply.progress === 50,
        },
      )) {
        states.push(reply.progress ?? 0);
      }
    })();
    expect((await device.next(CommandDef)).orderId).toBe("S-1");
    ack(device, "S-1", AckState.RUNNING, 10);
    ack(device, "S-1", AckState.RUNNING, 50);
    await streamed;
    expect(states).toEqual([10, 50]);
  });

  it("request() times out with REQUEST_TIMEOUT when the device does not answer", async () => {
    const a = await startNode(env.pki(), env.redis());
    const b = await startNode(env.pki(), env.redis());
    await loggedIn(b, "dev-3");
    await expect(
      a.server.request("dev-3", clusterCommandSpec, { orderId: "T-1", coins: 1 }, { timeoutMs: 300 }),
    ).rejects.toMatchObject({
      code: "REQUEST_TIMEOUT",
    });
  });

  it("a killed pub/sub connection that cannot come back: a push and a delivery still arrive, within the reconcile interval", async () => {
    const reconcileMs = 1_000;
    const a = await startNode(env.pki(), env.redis());
    const b = await startNode(env.pki(), env.redis(), { cluster: { reconcileMs } });
    const device = await loggedIn(b, "dev-4");
    const subOfB = `paynet-sub-${b.cluster.nodeId}`;
    const clients = () => a.cluster.redis.client("LIST") as Promise<string>;
    const idOf = async (name: string) =>
      /id=(\d+) .*name=(\S+)/.exec(
        (await clients()).split("\n").find((line) => line.includes(`name=${name} `)) ?? "",
      )?.[1];
    const subscriber = await idOf(subOfB);
    expect(subscriber).toBeDefined();
    // No room for a new connection: B's subscriber, killed, cannot reconnect (ioredis keeps trying),
    // so nothing B is rung with reaches it; only its reconcile pass reads its inbox.
    const connected = (await clients()).trim().split("\n").length;
    await a.cluster.redis.config("SET", "maxclients", String(connected - 1));
    try {
      await a.cluster.redis.client("KILL", "ID", subscriber!);
      await eventually(async () => (await idOf(subOfB)) === undefined, 5_000, "B's subscriber gone");

      let started = Date.now();
      await a.server.send("dev-4", PongDef, { timestamp: 99 });
      expect((await device.next(PongDef)).timestamp).toBe("99");
      const pushMs = Date.now() - started;

      started = Date.now();
      const delivery = a.server.deliver("dev-4", clusterCommandSpec, { orderId: "P-1", coins: 1 });
      const next = delivery[Symbol.asyncIterator]().next();
      expect((await device.next(CommandDef)).orderId).toBe("P-1");
      const deliveryMs = Date.now() - started;
      // Still no subscriber: what arrived came through the reconcile pass, not a doorbell.
      expect(await idOf(subOfB)).toBeUndefined();
      // Within one reconcile interval (plus the round trips of a loaded machine).
      expect(pushMs).toBeLessThan(reconcileMs + scaled(500));
      expect(deliveryMs).toBeLessThan(reconcileMs + scaled(500));
      ack(device, "P-1", AckState.DONE, 100);
      expect((await next).value?.state).toBe(AckState.DONE);
      await eventually(async () => (await a.cluster.outcome("dev-4", "P-1"))?.state === "completed");
    } finally {
      await a.cluster.redis.config("SET", "maxclients", "10000");
    }
    // The subscriber comes back by itself.
    await eventually(async () => (await idOf(subOfB)) !== undefined, 10_000, "B's subscriber back");
  });
});
