import { describe, expect, it } from "vitest";
import { Registry } from "../../runtime/src/registry.js";
import type { ServerContext } from "../../runtime/src/server/types.js";
import {
  type Ack,
  AckDef,
  ErrorMsgDef,
  LoginReqDef,
  LoginRspDef,
  PingDef,
  PongDef,
} from "../helpers/messages.js";
import { testErrorMessage } from "../helpers/test-server.js";
import { eventually, loggedIn, setUpClusterTests, skipRedis, startNode } from "./harness.js";

const env = setUpClusterTests();

/** A registry whose correlated uplink `Ack` (answered with a Pong) counts its executions. */
function countingRegistry(executions: string[], slowMs = 0) {
  return new Registry<ServerContext>()
    .register(LoginReqDef, {
      reply: LoginRspDef,
      beforeLogin: true,
      handler: (req, ctx) => {
        ctx.session.login(req.deviceId);
        return { code: 0 };
      },
    })
    .register(AckDef, {
      reply: PongDef,
      idempotencyKey: (ack: Ack) => ack.orderId,
      handler: async (ack: Ack) => {
        executions.push(ack.orderId);
        if (slowMs > 0) await new Promise((resolve) => setTimeout(resolve, slowMs));
        return { timestamp: executions.length };
      },
    })
    .register(PingDef, { reply: PongDef, beforeLogin: true, handler: () => ({ timestamp: 0 }) });
}

describe.skipIf(skipRedis !== undefined)("cluster-wide idempotency of correlated uplink requests", () => {
  it("the handler runs once cluster-wide; a duplicate on another node gets the recorded reply", async () => {
    const executions: string[] = [];
    const a = await startNode(env.pki(), env.redis(), { registry: countingRegistry(executions) });
    const b = await startNode(env.pki(), env.redis(), { registry: countingRegistry(executions) });
    const onA = await loggedIn(a, "dev-1");
    onA.send(AckDef, { orderId: "U-1", state: 2 });
    expect((await onA.next(PongDef)).timestamp).toBe("1");
    onA.destroy();
    const onB = await loggedIn(b, "dev-1");
    onB.send(AckDef, { orderId: "U-1", state: 2 });
    expect((await onB.next(PongDef)).timestamp).toBe("1");
    onB.send(AckDef, { orderId: "U-2", state: 2 });
    expect((await onB.next(PongDef)).timestamp).toBe("2");
    expect(executions).toEqual(["U-1", "U-2"]);
  });

  it("copies arriving while the first still runs are dropped, not run again", async () => {
    const executions: string[] = [];
    const a = await startNode(env.pki(), env.redis(), { registry: countingRegistry(executions, 300) });
    const device = await loggedIn(a, "dev-2");
    for (let i = 0; i < 3; i++) device.send(AckDef, { orderId: "U-3", state: 2 });
    expect((await device.next(PongDef)).timestamp).toBe("1");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(device.pending.filter((f) => f.type === PongDef.type)).toHaveLength(0);
    expect(executions).toEqual(["U-3"]);
  });

  it("keys are per device: the same correlation value from two devices runs twice", async () => {
    const executions: string[] = [];
    const a = await startNode(env.pki(), env.redis(), { registry: countingRegistry(executions) });
    const one = await loggedIn(a, "dev-3");
    const two = await loggedIn(a, "dev-4");
    one.send(AckDef, { orderId: "U-4", state: 2 });
    two.send(AckDef, { orderId: "U-4", state: 2 });
    await Promise.all([one.next(PongDef), two.next(PongDef)]);
    expect(executions).toEqual(["U-4", "U-4"]);
  });

  it("Redis down: the handler does not run and the device is told CLUSTER_UNAVAILABLE", async () => {
    const executions: string[] = [];
    const a = await startNode(env.pki(), env.redis(), {
      registry: countingRegistry(executions),
      server: { errorMessage: testErrorMessage },
    });
    const device = await loggedIn(a, "dev-5");
    await env.redis().kill();
    await eventually(() => a.cluster.redis.status !== "ready");
    device.send(AckDef, { orderId: "U-5", state: 2 });
    expect((await device.next(ErrorMsgDef)).msg).toMatch(/^CLUSTER_UNAVAILABLE/);
    expect(executions).toEqual([]);
    await env.redis().restart();
    await eventually(() => a.cluster.redis.status === "ready", 10_000);
  });
});
