import { describe, expect, it } from "vitest";
import { type Ack, AckDef, AckState, CommandDef } from "../helpers/messages.js";
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

/** Collects every reply of a delivery, and how it ended. */
function follow(replies: AsyncIterable<Ack>) {
  const seen: Ack[] = [];
  const done = (async () => {
    for await (const reply of replies) seen.push(reply);
  })();
  // Deliveries a test leaves open end with SERVER_STOPPED after it; that is not a failure.
  done.catch(() => {});
  return { seen, done };
}

describe.skipIf(skipRedis !== undefined)("durable deliveries across nodes", () => {
  it("deliver() on node A reaches the device on node B; replies come back to A; the outcome is recorded", async () => {
    const a = await startNode(env.pki(), env.redis());
    const b = await startNode(env.pki(), env.redis());
    const device = await loggedIn(b, "dev-1");
    const delivery = follow(a.server.deliver("dev-1", clusterCommandSpec, { orderId: "A-1", coins: 3 }));
    const command = await device.next(CommandDef);
    expect(command).toMatchObject({ orderId: "A-1", coins: 3 });
    ack(device, "A-1", AckState.ACCEPTED);
    ack(device, "A-1", AckState.DONE, 100);
    await delivery.done;
    expect(delivery.seen.map((r) => r.state)).toEqual([AckState.ACCEPTED, AckState.DONE]);
    const record = await a.cluster.outcome("dev-1", "A-1");
    expect(record).toMatchObject({
      state: "completed",
      replies: 2,
      attempts: 1,
      origin: a.cluster.nodeId,
      endedBy: b.cluster.nodeId,
    });
    expect(AckDef.codec.decode(record!.lastReply!).state).toBe(AckState.DONE);
    const events = await b.cluster.outcomes();
    expect(events.map((e) => [e.deviceId, e.key, e.outcome])).toEqual([["dev-1", "A-1", "completed"]]);
    // A duplicate of the final ack is absorbed, not handed to a handler or recorded again.
    ack(device, "A-1", AckState.DONE, 100);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await b.cluster.outcomes()).toHaveLength(1);
  });

  it("an offline device gets its delivery at its next login, on any node; re-sent once per new session, never twice in one", async () => {
    const a = await startNode(env.pki(), env.redis());
    const b = await startNode(env.pki(), env.redis());
    const delivery = follow(a.server.deliver("dev-2", clusterCommandSpec, { orderId: "B-1", coins: 1 }));
    await eventually(
      async () => (await a.cluster.outcome("dev-2", "B-1"))?.state === "pending",
      5_000,
      "the record",
    );
    const first = await loggedIn(b, "dev-2");
    expect((await first.next(CommandDef)).orderId).toBe("B-1");
    // More doorbells and passes for the same session send nothing more.
    await b.cluster.deliveries.sendPending("dev-2");
    b.cluster.deliveries.ring(b.cluster.nodeId, "dev-2");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(first.pending.filter((f) => f.type === CommandDef.type)).toHaveLength(0);
    ack(first, "B-1", AckState.ACCEPTED);
    first.destroy();
    // The device comes back on node A: a new epoch, so it is sent again (same payload and key).
    const second = await loggedIn(a, "dev-2");
    expect((await second.next(CommandDef)).orderId).toBe("B-1");
    ack(second, "B-1", AckState.DONE, 100);
    await delivery.done;
    expect(delivery.seen.map((r) => r.state)).toEqual([AckState.ACCEPTED, AckState.DONE]);
    expect(await a.cluster.outcome("dev-2", "B-1")).toMatchObject({ state: "completed", attempts: 2 });
    expect(a.server.stats().delivery.redelivered + b.server.stats().delivery.redelivered).toBe(1);
  });

  it("the caller's node stops: the device's final reply is still recorded as the outcome", async () => {
    const a = await startNode(env.pki(), env.redis());
    const b = await startNode(env.pki(), env.redis());
    const device = await loggedIn(b, "dev-3");
    const delivery = follow(a.server.deliver("dev-3", clusterCommandSpec, { orderId: "C-1", coins: 2 }));
    await device.next(CommandDef);
    await a.server.stop({ graceMs: 0 });
    await expect(delivery.done).rejects.toMatchObject({ code: "SERVER_STOPPED" });
    expect((await b.cluster.outcome("dev-3", "C-1"))?.state).toBe("pending");
    ack(device, "C-1", AckState.DONE, 100);
    await eventually(
      async () => (await b.cluster.outcome("dev-3", "C-1"))?.state === "completed",
      5_000,
      "the outcome",
    );
    expect((await b.cluster.outcomes()).map((e) => e.outcome)).toEqual(["completed"]);
  });

  it("expiry is reported exactly once cluster-wide, and the caller's iterator ends with REQUEST_TIMEOUT", async () => {
    const nodes = [
      await startNode(env.pki(), env.redis()),
      await startNode(env.pki(), env.redis()),
      await startNode(env.pki(), env.redis()),
    ];
    const deliveries = Array.from({ length: 10 }, (_, i) =>
      follow(
        nodes[i % 3]!.server.deliver(
          `dev-x${i}`,
          clusterCommandSpec,
          { orderId: `X-${i}`, coins: 1 },
          { deadlineMs: 300 },
        ),
      ),
    );
    for (const delivery of deliveries)
      await expect(delivery.done).rejects.toMatchObject({ code: "REQUEST_TIMEOUT" });
    // Let every node's reconcile pass run over the due set a few times.
    await new Promise((resolve) => setTimeout(resolve, 800));
    const events = await nodes[0]!.cluster.outcomes();
    expect(
      events
        .filter((e) => e.outcome === "timedOut")
        .map((e) => e.key)
        .sort(),
    ).toEqual(Array.from({ length: 10 }, (_, i) => `X-${i}`).sort());
    expect(events).toHaveLength(10);
  });

  it("expiry with the caller gone: another node's sweep records it once", async () => {
    const a = await startNode(env.pki(), env.redis());
    const b = await startNode(env.pki(), env.redis());
    const delivery = follow(
      a.server.deliver("dev-4", clusterCommandSpec, { orderId: "D-1", coins: 1 }, { deadlineMs: 400 }),
    );
    await eventually(
      async () => (await b.cluster.outcome("dev-4", "D-1"))?.state === "pending",
      5_000,
      "the record",
    );
    await a.server.stop({ graceMs: 0 });
    await expect(delivery.done).rejects.toMatchObject({ code: "SERVER_STOPPED" });
    await eventually(
      async () => (await b.cluster.outcome("dev-4", "D-1"))?.state === "timedOut",
      5_000,
      "the sweep",
    );
    expect((await b.cluster.outcomes()).map((e) => [e.key, e.outcome, e.node])).toEqual([
      ["D-1", "timedOut", b.cluster.nodeId],
    ]);
  });

  it("a second delivery with a pending key is refused cluster-wide", async () => {
    const a = await startNode(env.pki(), env.redis());
    const b = await startNode(env.pki(), env.redis());
    const first = follow(a.server.deliver("dev-5", clusterCommandSpec, { orderId: "E-1", coins: 1 }));
    await eventually(async () => (await a.cluster.outcome("dev-5", "E-1"))?.state === "pending");
    const second = follow(b.server.deliver("dev-5", clusterCommandSpec, { orderId: "E-1", coins: 1 }));
    await expect(second.done).rejects.toMatchObject({ code: "INVALID_OPTIONS" });
    expect(first.seen).toEqual([]);
  });

  it("refuses specs the cluster does not know and per-call isFinal, with typed errors", async () => {
    const a = await startNode(env.pki(), env.redis());
    const { isFinal: _, ...unlisted } = clusterCommandSpec;
    expect(() =>
      a.server.deliver(
        "dev-6",
        { ...unlisted, request: { ...CommandDef, type: 0x44 } },
        { orderId: "F-1", coins: 1 },
      ),
    ).toThrow(/redisCluster\(\{ specs/);
    expect(() =>
      a.server.deliver("dev-6", clusterCommandSpec, { orderId: "F-1", coins: 1 }, { isFinal: () => true }),
    ).toThrow(/node holding the device decides/);
  });
});
