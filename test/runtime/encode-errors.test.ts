/**
 * A message its codec cannot encode is reported as `EncodeError` (ENCODE_ERROR), on both sides; one
 * over a size bound of its proto as `BoundExceededError` (BOUND_EXCEEDED), before anything is sent.
 */
import { describe, expect, it } from "vitest";
import { CoinAckDef, CoinCommandDef, CoinCommandRequest } from "../../examples/sdk/defs.js";
import type { MessageDef } from "../../runtime/src/codec.js";
import { BoundExceededError, EncodeError } from "../../runtime/src/errors.js";
import { makeClient, nextEvent, setUpClientTests, startLoginServer } from "../helpers/client-harness.js";
import { type Ack, AckDef, type Command } from "../helpers/messages.js";
import { startTestServer } from "../helpers/test-server.js";

const pki = await setUpClientTests();

/** A Command whose codec refuses to encode (like a field of the wrong type would). */
const BrokenCommandDef: MessageDef<Command> = {
  type: 0x04,
  name: "paytest.Command",
  codec: {
    encode: () => {
      throw new TypeError("coins: integer expected");
    },
    decode: () => ({ orderId: "", coins: 0 }),
  },
};
const brokenSpec = {
  request: BrokenCommandDef,
  reply: AckDef,
  requestKey: (command: Command) => command.orderId,
  replyKey: (ack: Ack) => ack.orderId,
};

describe("EncodeError", () => {
  it("client send (offline too) and request reject with ENCODE_ERROR naming the message and the server", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port);
    const offline = client.send(BrokenCommandDef, { orderId: "x", coins: 1 });
    await expect(offline).rejects.toBeInstanceOf(EncodeError);
    await expect(offline).rejects.toMatchObject({
      code: "ENCODE_ERROR",
      messageName: "paytest.Command",
      peer: `127.0.0.1:${server.port}`,
      message: expect.stringContaining("cannot encode paytest.Command: coins: integer expected"),
    });
    client.start();
    await nextEvent(client, "online");
    await expect(client.request(brokenSpec, { orderId: "x", coins: 1 })).rejects.toMatchObject({
      code: "ENCODE_ERROR",
    });
    expect(client.online).toBe(true);
  });

  it("server session.send / request and deliver() report ENCODE_ERROR and keep the session", async () => {
    const t = await startTestServer(pki);
    await t.connect();
    const session = await t.nextSession();
    await expect(session.send(BrokenCommandDef, { orderId: "x", coins: 1 })).rejects.toMatchObject({
      code: "ENCODE_ERROR",
      frameType: 0x04,
      peer: session.peer,
    });
    await expect(session.request(brokenSpec, { orderId: "x", coins: 1 })).rejects.toMatchObject({
      code: "ENCODE_ERROR",
    });
    expect(() => t.server.deliver("dev-1", brokenSpec, { orderId: "x", coins: 1 })).toThrow(EncodeError);
    expect(t.server.stats().delivery.pending).toBe(0);
    expect(t.offline).toHaveLength(0);
  });
});

describe("BoundExceededError", () => {
  const longOrder = { orderId: "o".repeat(65), coins: 1, timeout: 30 };

  it("the cloud never sends a device a CoinCommand over its bounds: deliver, send and request refuse it", async () => {
    const t = await startTestServer(pki);
    await t.connect();
    const session = await t.nextSession();
    expect(() => t.server.deliver("dev-1", CoinCommandRequest, longOrder)).toThrow(BoundExceededError);
    expect(() => t.server.deliver("dev-1", CoinCommandRequest, longOrder)).toThrow(
      "cannot encode paybox.CoinCommand: order_id has 65 bytes, more than its max_size of 64",
    );
    await expect(session.send(CoinCommandDef, longOrder)).rejects.toMatchObject({
      code: "BOUND_EXCEEDED",
      bound: "max_size",
      field: "order_id",
      limit: 64,
      actual: 65,
    });
    await expect(session.request(CoinCommandRequest, longOrder)).rejects.toBeInstanceOf(BoundExceededError);
    expect(t.server.stats().delivery.pending).toBe(0);
    expect(t.offline).toHaveLength(0);
    // At the bound it goes out.
    await session.send(CoinCommandDef, { ...longOrder, orderId: "o".repeat(64) });
  });

  it("a device's send refuses an ack over its bounds with BOUND_EXCEEDED and stays online", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port);
    client.start();
    await nextEvent(client, "online");
    await expect(
      client.send(CoinAckDef, { orderId: "o-1", state: 3, progress: 0, error: "é".repeat(65) }),
    ).rejects.toMatchObject({
      code: "BOUND_EXCEEDED",
      message: expect.stringContaining("error has 130 bytes, more than its max_size of 128"),
    });
    expect(client.online).toBe(true);
  });
});
