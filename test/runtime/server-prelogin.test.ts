/**
 * Peers before login and bad frames: the login deadline, the login flow's Types only, a small frame
 * limit and a frame rate until login; unknown Types and undecodable payloads answered once per
 * window and closed after too many. Real TLS on 127.0.0.1.
 */
import { describe, expect, it } from "vitest";
import { encodeFrame } from "../../runtime/src/frame/encoder.js";
import { Registry } from "../../runtime/src/registry.js";
import type { SessionDirectory } from "../../runtime/src/server/directory.js";
import type { ServerContext, ServerOptions } from "../../runtime/src/server/types.js";
import {
  AckDef,
  ErrorMsgDef,
  type LoginReq,
  LoginReqDef,
  LoginRspDef,
  PingDef,
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

/** LoginReq and Ping are the login flow (`beforeLogin`); Ack is not. */
function registry(): Registry<ServerContext> {
  return new Registry<ServerContext>()
    .register(LoginReqDef, {
      reply: LoginRspDef,
      beforeLogin: true,
      handler: (req: LoginReq, ctx) => {
        ctx.session.login(req.deviceId);
        return { code: 0 };
      },
    })
    .register(PingDef, {
      reply: PongDef,
      beforeLogin: true,
      handler: (ping) => ({ timestamp: ping.timestamp ?? 0 }),
    })
    .register(AckDef);
}

function start(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  return startTestServer(pki, { registry: registry(), errorMessage: testErrorMessage, ...options });
}

async function login(device: RawDevice, deviceId = "dev-1"): Promise<void> {
  device.send(LoginReqDef, { deviceId, token: "t" });
  expect((await device.next(LoginRspDef)).code).toBe(0);
}

function warnLines(t: TestServer, text: RegExp) {
  return t.logger.lines.filter((line) => line.level === "warn" && text.test(line.message));
}

describe("before login", () => {
  it("a peer that keeps pinging but never logs in is closed with LOGIN_TIMEOUT at the deadline", async () => {
    const t = await start({ preLogin: { deadlineMs: 600 } });
    const sessionPromise = t.nextSession();
    const device = await t.connect();
    const session = await sessionPromise;
    let pongs = 0;
    const beat = setInterval(() => {
      if (!device.isClosed) device.send(PingDef, { timestamp: 1 });
    }, 100);
    try {
      const reason = await t.offlineReason(session, 10_000);
      expect(reason.code).toBe("LOGIN_TIMEOUT");
      expect(reason.message).toMatch(/^not logged in within 600 ms \(peer 127\.0\.0\.1:\d+\)$/);
    } finally {
      clearInterval(beat);
    }
    pongs = device.pending.filter((frame) => frame.type === PongDef.type).length;
    expect(pongs).toBeGreaterThan(0);
    expect((await device.next(ErrorMsgDef)).msg).toMatch(/^LOGIN_TIMEOUT: not logged in within 600 ms/);
    await device.closed;
    expect(t.server.stats().preLogin.loginTimeouts).toBe(1);
    expect(warnLines(t, /^closing the connection: not logged in within 600 ms/)).toHaveLength(1);
    expect((await t.nextError("LOGIN_TIMEOUT")).peer).toBe(session.peer);
  });

  it("a device that logs in before the deadline is not closed by it", async () => {
    const t = await start({ preLogin: { deadlineMs: 300 } });
    const device = await t.connect();
    await login(device);
    await new Promise((resolve) => setTimeout(resolve, 600));
    device.send(PingDef, { timestamp: 7 });
    expect(await device.next(PongDef)).toEqual({ timestamp: "7" });
    expect(t.offline).toHaveLength(0);
  });

  it("deadline 0 turns the login deadline off", async () => {
    const t = await start({ preLogin: { deadlineMs: 0 }, readTimeoutMs: 0 });
    const device = await t.connect();
    await new Promise((resolve) => setTimeout(resolve, 300));
    device.send(PingDef, { timestamp: 1 });
    await device.next(PongDef);
    expect(t.offline).toHaveLength(0);
  });

  it("a session logged out again (its directory bind failed) gets a new deadline", async () => {
    const failing: SessionDirectory = {
      bind: () => {
        throw new Error("directory down");
      },
      unbind: () => {},
      lookup: () => undefined,
      size: () => 0,
    };
    const t = await start({ preLogin: { deadlineMs: 400 }, directory: failing });
    const sessionPromise = t.nextSession();
    const device = await t.connect();
    const session = await sessionPromise;
    device.send(LoginReqDef, { deviceId: "dev-1", token: "t" });
    await device.next(LoginRspDef);
    expect(session.deviceId).toBeUndefined();
    expect((await t.offlineReason(session, 10_000)).code).toBe("LOGIN_TIMEOUT");
  });

  it("a Type outside the login flow is refused with LOGIN_REQUIRED and the connection closed", async () => {
    const t = await start();
    for (const [what, send] of [
      ["a registered non-login Type", (d: RawDevice) => d.send(AckDef, { orderId: "o", state: 2 })],
      ["an unknown Type", (d: RawDevice) => d.sendRaw(0x42, new Uint8Array([1]))],
    ] as const) {
      const sessionPromise = t.nextSession();
      const device = await t.connect();
      const session = await sessionPromise;
      send(device);
      const reason = await t.offlineReason(session);
      expect(reason.code, what).toBe("LOGIN_REQUIRED");
      expect(reason.message).toMatch(
        /^frame type not accepted before login \(peer 127\.0\.0\.1:\d+, frame type 0x(84|42)\)$/,
      );
      expect((await device.next(ErrorMsgDef)).msg).toMatch(/^LOGIN_REQUIRED/);
      await device.closed;
    }
    expect(t.server.stats().preLogin.refusedTypes).toBe(2);
    expect(t.server.stats().badFrames.unknownType).toBe(0);
    expect(warnLines(t, /^closing the connection: frame type not accepted before login/)).toHaveLength(2);
  });

  it("once logged in, the same Type is served", async () => {
    const t = await start();
    const device = await t.connect();
    await login(device);
    device.send(AckDef, { orderId: "o", state: 2 });
    device.send(PingDef, { timestamp: 3 });
    await device.next(PongDef);
    expect(t.offline).toHaveLength(0);
  });

  it("a frame larger than preLogin.maxFrame is refused before login, naming the limit, peer and frame", async () => {
    const t = await start();
    const sessionPromise = t.nextSession();
    const device = await t.connect();
    const session = await sessionPromise;
    // Only the header of a 5 000-byte LoginReq: refused from its Len, nothing is buffered.
    const header = encodeFrame(LoginReqDef.type, new Uint8Array(4_999)).subarray(0, 5);
    device.write(header);
    const reason = await t.offlineReason(session);
    expect(reason.code).toBe("FRAME_TOO_LARGE");
    expect(reason.message).toMatch(
      /^frame length 5000 exceeds preLogin\.maxFrame 4096 \(peer 127\.0\.0\.1:\d+, frame type 0x02\)$/,
    );
    await device.closed;
    expect(t.server.stats().preLogin.oversizeFrames).toBe(1);
    expect(warnLines(t, /exceeds preLogin\.maxFrame 4096/)).toHaveLength(1);
    await t.nextError("FRAME_TOO_LARGE");
  });

  it("after login, frames up to maxFrame are accepted", async () => {
    const t = await start();
    const device = await t.connect();
    await login(device);
    device.send(PingDef, { timestamp: 5, ip: "x".repeat(10_000) });
    expect(await device.next(PongDef)).toEqual({ timestamp: "5" });
  });

  it("more frames per second than preLogin.maxFramesPerSecond close the connection with RATE_LIMITED", async () => {
    const t = await start({ preLogin: { maxFramesPerSecond: 5 } });
    const sessionPromise = t.nextSession();
    const device = await t.connect();
    const session = await sessionPromise;
    const ping = encodeFrame(PingDef.type, PingDef.codec.encode({ timestamp: 1 }));
    device.write(Buffer.concat(Array.from({ length: 20 }, () => ping)));
    const reason = await t.offlineReason(session);
    expect(reason.code).toBe("RATE_LIMITED");
    expect(reason.message).toMatch(/more than 5 frames per second before login/);
    await device.closed;
    // The five within the limit were answered, then the refusal.
    expect(device.pending.filter((frame) => frame.type === PongDef.type)).toHaveLength(5);
    expect(t.server.stats().preLogin.rateLimited).toBe(1);
  });

  it("a registry with no beforeLogin mark accepts every registered Type before login, and says so at start", async () => {
    const plain = new Registry<ServerContext>()
      .register(PingDef, { reply: PongDef, handler: () => ({ timestamp: 1 }) })
      .register(AckDef);
    const t = await startTestServer(pki, { registry: plain });
    expect(warnLines(t, /no registration is marked beforeLogin/)).toHaveLength(1);
    const device = await t.connect();
    device.send(AckDef, { orderId: "o", state: 2 });
    device.send(PingDef, {});
    await device.next(PongDef);
    expect(t.offline).toHaveLength(0);
  });
});

describe("bad frames", () => {
  it("a flood of unknown Types: one log line, one error message, closed with TOO_MANY_BAD_FRAMES at the limit", async () => {
    const t = await start({ badFrames: { maxPerWindow: 10 } });
    const sessionPromise = t.nextSession();
    const device = await t.connect();
    const session = await sessionPromise;
    await login(device);
    const flood = Buffer.concat(
      Array.from({ length: 1_000 }, (_, i) => encodeFrame(0x40 + (i % 16), new Uint8Array(3))),
    );
    device.write(flood);
    const reason = await t.offlineReason(session);
    expect(reason.code).toBe("TOO_MANY_BAD_FRAMES");
    expect(reason.message).toMatch(
      /^10 frames of unknown types or with undecodable payloads within 60000 ms/,
    );
    await device.closed;
    const errorMessages = device.pending.filter((frame) => frame.type === ErrorMsgDef.type);
    expect(errorMessages.map((frame) => ErrorMsgDef.codec.decode(frame.payload).msg?.split(":")[0])).toEqual([
      "UNKNOWN_TYPE",
      "TOO_MANY_BAD_FRAMES",
    ]);
    const sessionLines = t.logger.lines.filter((line) => line.level === "warn" || line.level === "error");
    expect(sessionLines.map((line) => line.message.split(" (")[0])).toEqual([
      "no message registered for this type",
      "closing the connection: 10 frames of unknown types or with undecodable payloads within 60000 ms",
    ]);
    expect(t.errors.map((e) => e.error.code)).toEqual(["UNKNOWN_TYPE", "TOO_MANY_BAD_FRAMES"]);
    expect(t.server.stats().badFrames).toEqual({ unknownType: 10, undecodable: 0, suppressed: 8, closed: 1 });
  });

  it("undecodable payloads count too; a new window logs again and says how many were left out", async () => {
    const t = await start({ badFrames: { windowMs: 300, maxPerWindow: 1_000 } });
    const device = await t.connect();
    await login(device);
    const broken = encodeFrame(PingDef.type, new Uint8Array([0x0a, 0xff, 0xff]));
    device.write(Buffer.concat([broken, broken, broken, broken]));
    device.send(PingDef, { timestamp: 1 });
    await device.next(PongDef);
    await new Promise((resolve) => setTimeout(resolve, 400));
    device.write(broken);
    device.send(PingDef, { timestamp: 2 });
    await device.next(PongDef);
    const lines = t.logger.lines.filter(
      (line) => line.level === "warn" && /cannot decode/.test(line.message),
    );
    expect(lines).toHaveLength(2);
    expect(lines[0]!.fields).toMatchObject({ type: "0x03" });
    expect(lines[1]!.fields).toMatchObject({ type: "0x03", suppressedInLastWindow: 3 });
    expect(device.pending.filter((frame) => frame.type === ErrorMsgDef.type)).toHaveLength(2);
    expect(t.server.stats().badFrames).toEqual({ unknownType: 0, undecodable: 5, suppressed: 3, closed: 0 });
    expect(t.offline).toHaveLength(0);
  });
});
