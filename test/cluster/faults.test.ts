import { describe, expect, it } from "vitest";
import { AckState, CommandDef, LoginReqDef, PingDef, PongDef } from "../helpers/messages.js";
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

describe.skipIf(skipRedis !== undefined)("Redis faults", () => {
  it("Redis down: live sessions and heartbeats carry on, deliver() and new logins fail fast with CLUSTER_UNAVAILABLE; all recovers when it is back", async () => {
    const a = await startNode(env.pki(), env.redis());
    const device = await loggedIn(a, "dev-1");
    await env.redis().kill();
    await eventually(() => a.cluster.redis.status !== "ready", 5_000, "the client to notice");

    device.send(PingDef, { timestamp: 7 });
    expect((await device.next(PongDef)).timestamp).toBe("7");

    const started = Date.now();
    const failed = a.server
      .deliver("dev-1", clusterCommandSpec, { orderId: "F-1", coins: 1 })
      [Symbol.asyncIterator]()
      .next();
    await expect(failed).rejects.toMatchObject({ code: "CLUSTER_UNAVAILABLE" });
    const newcomer = await a.connect();
    newcomer.send(LoginReqDef, { deviceId: "dev-2" });
    await newcomer.closed;
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(
      (await a.nextError("CLUSTER_UNAVAILABLE").catch(() => undefined)) ?? a.offline.at(-1)?.reason,
    ).toMatchObject({
      code: "CLUSTER_UNAVAILABLE",
    });

    await env.redis().restart();
    await eventually(() => a.cluster.redis.status === "ready", 10_000, "the reconnect");
    const back = await loggedIn(a, "dev-2");
    const delivery = a.server
      .deliver("dev-2", clusterCommandSpec, { orderId: "F-2", coins: 1 })
      [Symbol.asyncIterator]();
    const reply = delivery.next();
    expect((await back.next(CommandDef)).orderId).toBe("F-2");
    ack(back, "F-2", AckState.DONE, 100);
    expect((await reply).value?.state).toBe(AckState.DONE);
    // The session that lived through the outage still heartbeats.
    device.send(PingDef, { timestamp: 8 });
    expect((await device.next(PongDef)).timestamp).toBe("8");
  });

  it("kill -9 of redis-server with AOF (appendfsync always): a pending delivery is still there after the restart", async () => {
    const a = await startNode(env.pki(), env.redis());
    const pending = a.server.deliver("dev-3", clusterCommandSpec, { orderId: "K-1", coins: 5 });
    const replies = pending[Symbol.asyncIterator]();
    const first = replies.next();
    first.catch(() => {});
    await eventually(
      async () => (await a.cluster.outcome("dev-3", "K-1"))?.state === "pending",
      5_000,
      "the record",
    );
    await env.redis().kill();
    await env.redis().restart();
    await eventually(() => a.cluster.redis.status === "ready", 10_000, "the reconnect");
    expect(await a.cluster.outcome("dev-3", "K-1")).toMatchObject({ state: "pending", attempts: 0 });
    const device = await loggedIn(a, "dev-3");
    expect(await device.next(CommandDef)).toMatchObject({ orderId: "K-1", coins: 5 });
    ack(device, "K-1", AckState.DONE, 100);
    expect((await first).value?.state).toBe(AckState.DONE);
    expect((await a.cluster.outcome("dev-3", "K-1"))?.state).toBe("completed");
  });
});
