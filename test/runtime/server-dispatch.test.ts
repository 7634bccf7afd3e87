import { describe, expect, it } from "vitest";
import type { MessageDef } from "../../runtime/src/codec.js";
import { encodeFrame } from "../../runtime/src/frame/encoder.js";
import { Registry } from "../../runtime/src/registry.js";
import type { ServerContext } from "../../runtime/src/server/types.js";
import {
  type Ack,
  AckDef,
  AckState,
  type Command,
  CommandDef,
  ErrorMsgDef,
  type LoginReq,
  LoginReqDef,
  LoginRspDef,
  type Ping,
  PingDef,
  type Pong,
  PongDef,
} from "../helpers/messages.js";
import type { RawDevice } from "../helpers/raw-device.js";
import {
  setUpServerTests,
  startTestServer,
  type TestServer,
  testErrorMessage,
} from "../helpers/test-server.js";

const pki = await setUpServerTests();

/** Login (marked `beforeLogin`) and Ping, for tests of a logged-in device. */
function loginPingRegistry(): Registry<ServerContext> {
  return new Registry<ServerContext>()
    .register(LoginReqDef, {
      reply: LoginRspDef,
      beforeLogin: true,
      handler: (req: LoginReq, ctx) => {
        ctx.session.login(req.deviceId);
        return { code: 0 };
      },
    })
    .register(PingDef, { reply: PongDef, beforeLogin: true, handler: () => ({}) });
}

async function loggedInDevice(t: TestServer): Promise<RawDevice> {
  const device = await t.connect();
  device.send(LoginReqDef, { deviceId: "dev-1", token: "t" });
  await device.next(LoginRspDef);
  return device;
}

describe("server dispatch", () => {
  it("runs a sync handler and sends its return value as the reply", async () => {
    const registry = new Registry<ServerContext>().register(PingDef, {
      reply: PongDef,
      handler: (ping: Ping): Pong => ({ timestamp: ping.timestamp ?? 0 }),
    });
    const t = await startTestServer(pki, { registry });
    const device = await t.connect();
    device.send(PingDef, { timestamp: 42 });
    expect(await device.next(PongDef)).toEqual({ timestamp: "42" });
  });

  it("runs an async handler and sends several replies with ctx.reply", async () => {
    const registry = new Registry<ServerContext>().register(CommandDef, {
      reply: AckDef,
      handler: async (command: Command, ctx) => {
        await ctx.reply({ orderId: command.orderId, state: AckState.ACCEPTED });
        await new Promise((resolve) => setTimeout(resolve, 5));
        return { orderId: command.orderId, state: AckState.DONE };
      },
    });
    const t = await startTestServer(pki, { registry });
    const device = await t.connect();
    device.send(CommandDef, { orderId: "o-1", coins: 3 });
    expect(await device.next(AckDef)).toMatchObject({ orderId: "o-1", state: AckState.ACCEPTED });
    expect(await device.next(AckDef)).toMatchObject({ orderId: "o-1", state: AckState.DONE });
  });

  it("ctx.reply rejects when the registration names no reply message", async () => {
    let failure: unknown;
    const registry = new Registry<ServerContext>().register(PingDef, {
      handler: async (_ping, ctx) => {
        failure = await ctx.reply({}).catch((error: unknown) => error);
      },
    });
    const t = await startTestServer(pki, { registry });
    const device = await t.connect();
    device.send(PingDef, {});
    await expect.poll(() => failure).toMatchObject({ code: "INVALID_OPTIONS" });
  });

  it("isolates a throwing and a rejecting handler: error event, peer told, session keeps serving", async () => {
    const registry = new Registry<ServerContext>()
      .register(CommandDef, {
        handler: (command: Command) => {
          throw new Error(`boom ${command.orderId}`);
        },
      })
      .register(LoginReqDef, {
        handler: async (login: LoginReq) => Promise.reject(new Error(`async boom ${login.deviceId}`)),
      })
      .register(PingDef, { reply: PongDef, handler: () => ({ timestamp: 1 }) });
    const t = await startTestServer(pki, { registry, errorMessage: testErrorMessage });
    const device = await t.connect();
    const session = await t.nextSession();

    device.send(CommandDef, { orderId: "o-9", coins: 1 });
    const told = await device.next(ErrorMsgDef);
    expect(told.msg).toContain("HANDLER_ERROR");
    expect(told.msg).toContain("boom o-9");
    const syncError = await t.nextError("HANDLER_ERROR");
    expect(syncError.message).toContain("boom o-9");
    expect(syncError.frameType).toBe(CommandDef.type);
    expect(syncError.peer).toBe(session.peer);

    device.send(LoginReqDef, { deviceId: "d-1" });
    expect((await device.next(ErrorMsgDef)).msg).toContain("async boom d-1");

    device.send(PingDef, {});
    expect(await device.next(PongDef)).toEqual({ timestamp: "1" });
    expect(session.online).toBe(false);
    expect(t.offline).toHaveLength(0);
    expect(t.logger.lines.some((l) => l.level === "error" && l.message.includes("boom o-9"))).toBe(true);
    const handlers = t.server.stats().handlers;
    expect(handlers["0x04 paytest.Command"]).toMatchObject({ calls: 1, errors: 1 });
    expect(handlers["0x03 paytest.Ping"]).toMatchObject({ calls: 1, errors: 0 });
  });

  it("does not tell the peer about handler errors when reportHandlerErrors is false", async () => {
    const registry = new Registry<ServerContext>()
      .register(CommandDef, {
        handler: () => {
          throw new Error("quiet");
        },
      })
      .register(PingDef, { reply: PongDef, handler: () => ({ timestamp: 2 }) });
    const t = await startTestServer(pki, {
      registry,
      errorMessage: testErrorMessage,
      reportHandlerErrors: false,
    });
    const device = await t.connect();
    device.send(CommandDef, { orderId: "q", coins: 1 });
    device.send(PingDef, {});
    await device.next(PongDef);
    await t.nextError("HANDLER_ERROR");
    expect(device.pending.filter((f) => f.type === ErrorMsgDef.type)).toHaveLength(0);
  });

  // Unknown Types of a logged-in device (before login, any Type outside the login flow closes the
  // connection: test/runtime/server-prelogin.test.ts).
  it("answers an unknown Type with the error message and keeps the connection (default)", async () => {
    const t = await startTestServer(pki, { registry: loginPingRegistry(), errorMessage: testErrorMessage });
    const device = await loggedInDevice(t);
    device.sendRaw(0x42, new Uint8Array([1, 2, 3]));
    expect((await device.next(ErrorMsgDef)).msg).toContain("UNKNOWN_TYPE");
    const error = await t.nextError("UNKNOWN_TYPE");
    expect(error.frameType).toBe(0x42);
    expect(t.logger.lines.some((l) => l.level === "warn" && l.message.includes("0x42"))).toBe(true);
    device.send(PingDef, {});
    await device.next(PongDef);
  });

  it("ignores an unknown Type with onUnknownType 'ignore': no error message, a debug line, counted", async () => {
    const t = await startTestServer(pki, {
      registry: loginPingRegistry(),
      errorMessage: testErrorMessage,
      onUnknownType: "ignore",
    });
    const device = await loggedInDevice(t);
    device.sendRaw(0x42, new Uint8Array());
    device.send(PingDef, {});
    await device.next(PongDef);
    expect(device.pending).toHaveLength(0);
    expect(t.errors).toHaveLength(0);
    expect(t.logger.lines.some((l) => l.level === "warn")).toBe(false);
    expect(t.logger.lines.some((l) => l.level === "debug" && l.message.includes("0x42"))).toBe(true);
    expect(t.server.stats().badFrames.unknownType).toBe(1);
  });

  it("closes the connection with a ProtocolError on an unknown Type with onUnknownType 'close'", async () => {
    const t = await startTestServer(pki, { registry: loginPingRegistry(), onUnknownType: "close" });
    const session = t.nextSession();
    const device = await loggedInDevice(t);
    device.sendRaw(0x42, new Uint8Array());
    const reason = await t.offlineReason(await session);
    expect(reason.code).toBe("PROTOCOL_ERROR");
    expect(reason.frameType).toBe(0x42);
    await device.closed;
  });

  it("reports an undecodable payload as DecodeError and keeps serving", async () => {
    const registry = new Registry<ServerContext>().register(PingDef, { reply: PongDef, handler: () => ({}) });
    const t = await startTestServer(pki, { registry, errorMessage: testErrorMessage });
    const device = await t.connect();
    device.sendRaw(PingDef.type, new Uint8Array([0x0a, 0xff, 0xff])); // field 1, length 65535: truncated
    const error = await t.nextError("DECODE_ERROR");
    expect(error.messageName).toBe("paytest.Ping");
    expect((await device.next(ErrorMsgDef)).msg).toContain("DECODE_ERROR");
    device.send(PingDef, {});
    await device.next(PongDef);
  });

  it("decodes with the codec's read() in place in the socket's chunk; a read that throws is a DecodeError", async () => {
    const ReadCommandDef: MessageDef<Command> = {
      ...CommandDef,
      codec: {
        ...CommandDef.codec,
        decode: () => {
          throw new Error("decode() is not used when read() exists");
        },
        read: (reader, length) => {
          const end = reader.pos + length;
          const command: Command = { orderId: "", coins: 0 };
          while (reader.pos < end) {
            const tag = reader.uint32();
            if (tag === 10) command.orderId = reader.string();
            else if (tag === 16) command.coins = reader.uint32();
            else reader.skipType(tag & 7);
          }
          if (reader.pos !== end) throw new RangeError("message overruns its frame");
          return command;
        },
      },
    };
    const registry = new Registry<ServerContext>().register(ReadCommandDef, {
      reply: AckDef,
      handler: (command: Command): Ack => ({ orderId: command.orderId, state: command.coins }),
    });
    const t = await startTestServer(pki, { registry, errorMessage: testErrorMessage });
    const device = await t.connect();
    // Three frames in one write: the second and third start inside the chunk, the second is broken.
    device.write(
      Buffer.concat([
        encodeFrame(CommandDef.type, CommandDef.codec.encode({ orderId: "o-1", coins: 1 })),
        encodeFrame(CommandDef.type, Uint8Array.from([0x10, 0xff])), // coins: a varint cut short
        encodeFrame(CommandDef.type, CommandDef.codec.encode({ orderId: "o-3", coins: 3 })),
      ]),
    );
    expect(await device.next(AckDef)).toMatchObject({ orderId: "o-1", state: 1 });
    expect((await t.nextError("DECODE_ERROR")).messageName).toBe("paytest.Command");
    expect(await device.next(AckDef)).toMatchObject({ orderId: "o-3", state: 3 });
  });

  it("closes the connection on a frame larger than maxFrame", async () => {
    const t = await startTestServer(pki, { maxFrame: 16 });
    const device = await t.connect();
    const session = await t.nextSession();
    device.sendRaw(PingDef.type, new Uint8Array(64));
    expect((await t.offlineReason(session)).code).toBe("FRAME_TOO_LARGE");
  });

  it("counts frames and bytes in and out by Type with names", async () => {
    const registry = new Registry<ServerContext>().register(PingDef, {
      reply: PongDef,
      handler: () => ({ timestamp: 7 }),
    });
    const t = await startTestServer(pki, { registry });
    const device = await t.connect();
    device.send(PingDef, { uptime: 5 });
    device.send(PingDef, { uptime: 6 });
    await device.next(PongDef);
    await device.next(PongDef);
    const stats = t.server.stats();
    expect(stats.framesIn["0x03 paytest.Ping"]).toEqual({ frames: 2, bytes: 2 * (5 + 2) });
    expect(stats.framesOut["0x83 paytest.Pong"]).toEqual({ frames: 2, bytes: 2 * (5 + 2) });
    expect(stats.connections).toMatchObject({ current: 1, total: 1 });
    expect(stats.handlers["0x03 paytest.Ping"]?.calls).toBe(2);
  });

  it("lets a handler log the device in and ack it (login flow)", async () => {
    const registry = new Registry<ServerContext>().register(LoginReqDef, {
      reply: LoginRspDef,
      handler: (login: LoginReq, ctx) => {
        ctx.session.login(login.deviceId);
        return { code: 0 };
      },
    });
    const t = await startTestServer(pki, { registry });
    const device = await t.connect();
    device.send(LoginReqDef, { deviceId: "dev-7" });
    expect((await device.next(LoginRspDef)).code).toBe(0);
    const session = t.server.session("dev-7");
    expect(session?.online).toBe(true);
    expect(session?.peer).toMatch(/^127\.0\.0\.1:\d+ dev-7$/);
    await t.server.send("dev-7", AckDef, { orderId: "x", state: 0 } satisfies Ack);
    expect((await device.next(AckDef)).orderId).toBe("x");
  });
});
