/**
 * At-least-once deliveries over real TLS, as a store shared or kept across restarts needs them: the
 * unread replies of a delivery are bounded (the delivery stays pending and its final reply still
 * completes it), a restarted server completes the records an earlier run left, keys are namespaced
 * by request, an empty key is refused, and `onReply` runs before the next frame is handled.
 */
import { describe, expect, it } from "vitest";
import type { RequestSpec } from "../../runtime/src/codec.js";
import { MemoryPendingDeliveryStore } from "../../runtime/src/delivery/memory-pending-store.js";
import { encodeFrame } from "../../runtime/src/frame/encoder.js";
import { Registry } from "../../runtime/src/registry.js";
import type { ServerContext } from "../../runtime/src/server/types.js";
import {
  type Ack,
  AckDef,
  AckState,
  ackIsFinal,
  type Command,
  CommandDef,
  commandSpec,
  type LoginReq,
  LoginReqDef,
  LoginRspDef,
  PingDef,
  PongDef,
} from "../helpers/messages.js";
import type { RawDevice } from "../helpers/raw-device.js";
import { setUpServerTests, startTestServer, type TestServer } from "../helpers/test-server.js";

const pki = await setUpServerTests();

/** The command spec with its finality, as a generated spec carries it. */
const finalCommandSpec: RequestSpec<Command, Ack> = { ...commandSpec, isFinal: ackIsFinal };
/** A second command answered by the same Ack: a refund of an order. */
const refundSpec: RequestSpec<Command, Ack> = {
  ...finalCommandSpec,
  request: { type: 0x06, name: "paytest.Refund", codec: CommandDef.codec },
};

function registry(acks: Ack[] = []): Registry<ServerContext> {
  return new Registry<ServerContext>()
    .register(LoginReqDef, {
      reply: LoginRspDef,
      handler: (login: LoginReq, ctx) => {
        ctx.session.login(login.deviceId);
        return { code: 0 };
      },
    })
    .register(PingDef, { reply: PongDef, handler: () => ({}) })
    .register(AckDef, { handler: (ack: Ack) => void acks.push(ack) });
}

async function login(t: TestServer, deviceId: string): Promise<RawDevice> {
  const device = await t.connect();
  device.send(LoginReqDef, { deviceId });
  await device.nextFrame(LoginRspDef.type);
  return device;
}

/** A round trip: every frame the device sent before it has been handled. */
async function settled(device: RawDevice): Promise<void> {
  device.send(PingDef, {});
  await device.next(PongDef);
}

function outcome(iterable: AsyncIterable<Ack>): Promise<string> {
  return (async () => {
    try {
      for await (const _ of iterable);
      return "completed";
    } catch (error) {
      return (error as { code: string }).code;
    }
  })();
}

describe("delivery bounds and the store contract over TLS", () => {
  it("caps the unread replies of a delivery: QUEUE_FULL, the record stays, the final reply completes it", async () => {
    const toHandler: Ack[] = [];
    const t = await startTestServer(pki, {
      registry: registry(toHandler),
      deliverySpecs: [finalCommandSpec],
    });
    const device = await login(t, "dev-flood");
    // Nobody reads this delivery's replies.
    const replies = t.server
      .deliver("dev-flood", finalCommandSpec, { orderId: "F-1", coins: 1 })
      [Symbol.asyncIterator]();
    await device.nextFrame(CommandDef.type);
    for (let i = 0; i < 1_100; i++)
      device.send(AckDef, { orderId: "F-1", state: AckState.RUNNING, progress: i });
    await settled(device);
    // What was kept is read, then the bound is reported.
    let read = 0;
    const ended = await (async () => {
      try {
        while (!(await replies.next()).done) read++;
        return "completed";
      } catch (error) {
        return (error as { code: string }).code;
      }
    })();
    expect(ended).toBe("QUEUE_FULL");
    expect(read).toBe(1_024);
    expect(t.server.stats().delivery.pending).toBe(1);
    // The replies beyond the bound are not lost: the handler has them.
    expect(toHandler.length).toBe(1_100 - 1_024);
    device.send(AckDef, { orderId: "F-1", state: AckState.DONE });
    await settled(device);
    await expect.poll(() => t.server.stats().delivery.pending).toBe(0);
    expect(toHandler.at(-1)).toMatchObject({ orderId: "F-1", state: AckState.DONE });
  });

  it("a restarted server on the same store redelivers and completes what the first run left", async () => {
    const store = new MemoryPendingDeliveryStore();
    const first = await startTestServer(pki, { registry: registry(), deliveryStore: store });
    const ended = outcome(first.server.deliver("dev-r", finalCommandSpec, { orderId: "R-1", coins: 2 }));
    await expect.poll(() => store.size()).toBe(1);
    await first.server.stop();
    expect(await ended).toBe("SERVER_STOPPED");
    expect(store.size()).toBe(1);

    const acks: Ack[] = [];
    const second = await startTestServer(pki, {
      registry: registry(acks),
      deliveryStore: store,
      deliverySpecs: [finalCommandSpec],
    });
    const device = await login(second, "dev-r");
    const resent = await device.nextFrame(CommandDef.type);
    expect(CommandDef.codec.decode(resent.payload)).toMatchObject({ orderId: "R-1", coins: 2 });
    device.send(AckDef, { orderId: "R-1", state: AckState.ACCEPTED });
    await settled(device);
    expect(store.size()).toBe(1);
    device.send(AckDef, { orderId: "R-1", state: AckState.DONE });
    await settled(device);
    await expect.poll(() => store.size()).toBe(0);
    expect(acks.map((ack) => ack.state)).toEqual([AckState.ACCEPTED, AckState.DONE]);
    expect(second.server.stats().delivery.completed).toBe(1);
  });

  it("keys deliveries by request: a refund and a coin command of order A-1 are pending together", async () => {
    const t = await startTestServer(pki, { registry: registry() });
    const device = await login(t, "dev-ns");
    const coin = outcome(t.server.deliver("dev-ns", finalCommandSpec, { orderId: "A-1", coins: 1 }));
    const refund = outcome(t.server.deliver("dev-ns", refundSpec, { orderId: "A-1", coins: 1 }));
    await device.nextFrame(CommandDef.type);
    await device.nextFrame(0x06);
    expect(t.server.stats().delivery.pending).toBe(2);
    device.send(AckDef, { orderId: "A-1", state: AckState.DONE });
    device.send(AckDef, { orderId: "A-1", state: AckState.DONE });
    expect(await coin).toBe("completed");
    expect(await refund).toBe("completed");
  });

  it("refuses a delivery whose correlation key is empty with CORRELATION_MISSING", async () => {
    const t = await startTestServer(pki, { registry: registry() });
    expect(() => t.server.deliver("dev-x", finalCommandSpec, { orderId: "", coins: 1 })).toThrow(
      expect.objectContaining({ code: "CORRELATION_MISSING", messageName: "paytest.Command" }),
    );
    expect(t.server.stats().delivery.pending).toBe(0);
  });

  it("runs onReply before the next frame of the device is handled", async () => {
    const seen: string[] = [];
    const t = await startTestServer(pki, {
      registry: registry().register(CommandDef, {
        // The frame right behind the final ack on the wire (a QueryReq in a real protocol).
        handler: (command: Command) => void seen.push(`next frame ${command.orderId}`),
      }),
    });
    const device = await login(t, "dev-o");
    const ended = outcome(
      t.server.deliver(
        "dev-o",
        finalCommandSpec,
        { orderId: "Q-1", coins: 1 },
        { onReply: (ack) => seen.push(`reply ${ack.state}`) },
      ),
    );
    await device.nextFrame(CommandDef.type);
    // Both frames in one write, so they are handled in the same turn.
    device.write(
      Buffer.concat([
        encodeFrame(AckDef.type, AckDef.codec.encode({ orderId: "Q-1", state: AckState.DONE })),
        encodeFrame(CommandDef.type, CommandDef.codec.encode({ orderId: "Q-1", coins: 0 })),
      ]),
    );
    expect(await ended).toBe("completed");
    await settled(device);
    expect(seen).toEqual([`reply ${AckState.DONE}`, "next frame Q-1"]);
  });
});
