import { describe, expect, it } from "vitest";
import type { ClientContext } from "../../runtime/src/client/types.js";
import type { MessageDef } from "../../runtime/src/codec.js";
import {
  clientRegistry,
  collectErrors,
  makeClient,
  nextEvent,
  setUpClientTests,
  startLoginServer,
} from "../helpers/client-harness.js";
import {
  type Ack,
  AckDef,
  AckState,
  ackIsFinal,
  type Command,
  CommandDef,
  commandSpec,
  PingDef,
  pingSpec,
} from "../helpers/messages.js";
import { testErrorMessage } from "../helpers/test-server.js";

const pki = await setUpClientTests();

/** ErrorMsg frames (0xFF) the server received from the device, whatever name its stats give them. */
function errorFramesAt(framesIn: Record<string, { frames: number }>): number {
  return Object.entries(framesIn).find(([key]) => key.startsWith("0xFF"))?.[1].frames ?? 0;
}

const raw = (type: number, bytes: Uint8Array): MessageDef<null> => ({
  type,
  name: "test.Raw",
  codec: { encode: () => bytes, decode: () => null },
});

describe("PaynetClient: inbound dispatch", () => {
  it("runs handlers with a context; the return value is the reply; ctx.reply sends progress", async () => {
    const server = await startLoginServer(pki);
    const registry = clientRegistry().register(CommandDef, {
      reply: AckDef,
      handler: async (command: Command, ctx: ClientContext): Promise<Ack> => {
        expect(ctx.type).toBe(CommandDef.type);
        await ctx.reply({ orderId: command.orderId, state: AckState.RUNNING, progress: 1 });
        await ctx.send(PingDef, { timestamp: 99 });
        return { orderId: command.orderId, state: AckState.DONE, progress: command.coins };
      },
    });
    const client = makeClient(pki, server.port, { registry });
    client.start();
    await nextEvent(client, "online");
    const acks: Ack[] = [];
    for await (const ack of server.server.stream(
      "device-001",
      commandSpec,
      { orderId: "o1", coins: 2 },
      { isFinal: ackIsFinal },
    )) {
      acks.push(ack);
    }
    expect(acks.map((a) => a.state)).toEqual([AckState.RUNNING, AckState.DONE]);
    await expect.poll(() => server.pings).toEqual(["99"]);
  });

  it("isolates a throwing handler: error event, ErrorMsg to the server, connection kept", async () => {
    const server = await startLoginServer(pki);
    const registry = clientRegistry().register(CommandDef, {
      reply: AckDef,
      handler: (command: Command): Ack => {
        if (command.coins === 0) throw new Error("hopper empty");
        return { orderId: command.orderId, state: AckState.DONE };
      },
    });
    const client = makeClient(pki, server.port, { registry, errorMessage: testErrorMessage });
    const errors = collectErrors(client);
    client.start();
    await nextEvent(client, "online");
    await server.server.send("device-001", CommandDef, { orderId: "bad", coins: 0 });
    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]?.code).toBe("HANDLER_ERROR");
    expect(errors[0]?.message).toBe(
      `handler failed: hopper empty (peer 127.0.0.1:${server.port}, frame type 0x04, paytest.Command)`,
    );
    await expect.poll(() => errorFramesAt(server.server.stats().framesIn)).toBe(1);
    const ack = await server.server.request(
      "device-001",
      commandSpec,
      { orderId: "good", coins: 1 },
      { isFinal: ackIsFinal },
    );
    expect(ack).toMatchObject({ orderId: "good", state: AckState.DONE });
    expect(client.online).toBe(true);
  });

  it("reports an unknown Type and an undecodable payload, tells the server, and keeps the connection", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port, { errorMessage: testErrorMessage });
    const errors = collectErrors(client);
    client.start();
    await nextEvent(client, "online");
    await server.server.send("device-001", raw(0x42, Uint8Array.of(1, 2)), null);
    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]?.code).toBe("UNKNOWN_TYPE");
    expect(errors[0]?.message).toBe(
      `no message registered for this type (peer 127.0.0.1:${server.port}, frame type 0x42)`,
    );
    // Pong (registered) with a truncated varint: a decode error, not a dropped connection.
    await server.server.send("device-001", raw(0x83, Uint8Array.of(0x08, 0xff)), null);
    await expect.poll(() => errors.length).toBe(2);
    expect(errors[1]?.code).toBe("DECODE_ERROR");
    expect(errors[1]?.messageName).toBe("paytest.Pong");
    await expect(client.request(pingSpec, { timestamp: 5 })).resolves.toEqual({ timestamp: "5" });
    expect(errorFramesAt(server.server.stats().framesIn)).toBe(2);
  });

  it("ignores a registered message without a handler", async () => {
    const server = await startLoginServer(pki);
    const registry = clientRegistry().register(CommandDef);
    const client = makeClient(pki, server.port, { registry });
    const errors = collectErrors(client);
    client.start();
    await nextEvent(client, "online");
    await server.server.send("device-001", CommandDef, { orderId: "x", coins: 1 });
    await expect(client.request(pingSpec, { timestamp: 1 })).resolves.toEqual({ timestamp: "1" });
    expect(errors).toEqual([]);
  });
});
