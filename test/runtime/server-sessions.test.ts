import { describe, expect, it } from "vitest";
import { Registry } from "../../runtime/src/registry.js";
import type { ServerContext, Session } from "../../runtime/src/server/types.js";
import {
  type Ack,
  AckDef,
  AckState,
  ackIsFinal,
  CommandDef,
  commandSpec,
  ErrorMsgDef,
  type LoginReq,
  LoginReqDef,
  LoginRspDef,
  PingDef,
  PongDef,
  pingSpec,
} from "../helpers/messages.js";
import type { RawDevice } from "../helpers/raw-device.js";
import {
  setUpServerTests,
  startTestServer,
  type TestServer,
  testErrorMessage,
} from "../helpers/test-server.js";

const pki = await setUpServerTests();

function loginRegistry(): Registry<ServerContext> {
  return new Registry<ServerContext>().register(LoginReqDef, {
    reply: LoginRspDef,
    handler: (login: LoginReq, ctx) => {
      ctx.session.login(login.deviceId);
      return { code: 0 };
    },
  });
}

async function loggedIn(t: TestServer, deviceId: string): Promise<{ device: RawDevice; session: Session }> {
  const device = await t.connect();
  const session = await t.nextSession();
  device.send(LoginReqDef, { deviceId });
  await device.next(LoginRspDef);
  return { device, session };
}

describe("sessions", () => {
  it("registers a logged-in session by device id and emits online", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry() });
    const online: Session[] = [];
    t.server.on("online", (session) => online.push(session));
    const { session } = await loggedIn(t, "dev-1");
    expect(online).toEqual([session]);
    expect(t.server.session("dev-1")).toBe(session);
    expect([...t.server.sessions()]).toEqual([session]);
    expect(session).toMatchObject({ deviceId: "dev-1", online: true, remoteAddress: "127.0.0.1" });
    expect(session.connectedAt).toBeInstanceOf(Date);
    session.attributes.set("tenant", "t1");
    expect(t.server.session("dev-1")?.attributes.get("tenant")).toBe("t1");
    expect(t.server.stats().connections).toMatchObject({ current: 1, online: 1, total: 1 });
  });

  it("replaces the session of a device that logs in again; the old one is told SESSION_REPLACED, then closed", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry(), errorMessage: testErrorMessage });
    const first = await loggedIn(t, "dev-2");
    const second = await loggedIn(t, "dev-2");
    const reason = await t.offlineReason(first.session);
    expect(reason.code).toBe("SESSION_REPLACED");
    expect(reason.message).toContain("dev-2");
    await first.device.closed;
    // The error message arrived before the close.
    const told = await first.device.next(ErrorMsgDef);
    expect(told.msg).toMatch(/^SESSION_REPLACED: device dev-2 logged in on a newer connection/);
    expect(second.device.pending).toEqual([]);
    expect(t.server.session("dev-2")).toBe(second.session);
    expect(second.session.online).toBe(true);
    expect(first.session.online).toBe(false);
    expect(t.offline.filter((o) => o.session === second.session)).toHaveLength(0);
  });

  it("a second login with another device id unbinds the old id, and closing unbinds the new one", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry() });
    const { device, session } = await loggedIn(t, "dev-old");
    device.send(LoginReqDef, { deviceId: "dev-new" });
    await device.next(LoginRspDef);
    expect(session.deviceId).toBe("dev-new");
    expect(t.server.session("dev-old")).toBeUndefined();
    expect(t.server.session("dev-new")).toBe(session);
    expect(t.logger.lines.some((l) => l.fields?.previous === "dev-old")).toBe(true);
    device.destroy();
    await t.offlineReason(session);
    expect(t.server.session("dev-new")).toBeUndefined();
    expect(t.server.session("dev-old")).toBeUndefined();
  });

  it("emits offline once with the reason when the peer goes away, and unbinds the device", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry() });
    const { device, session } = await loggedIn(t, "dev-3");
    device.destroy();
    const reason = await t.offlineReason(session);
    expect(reason.code).toBe("CONNECTION_CLOSED");
    expect(reason.peer).toContain("dev-3");
    expect(t.server.session("dev-3")).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(t.offline.filter((o) => o.session === session)).toHaveLength(1);
  });

  it("session.close() ends the connection with the given reason", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry() });
    const { device, session } = await loggedIn(t, "dev-4");
    session.close("maintenance");
    expect((await t.offlineReason(session)).message).toContain("maintenance");
    await device.closed;
  });

  it("sends, requests and streams to online devices", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry() });
    const { device } = await loggedIn(t, "dev-5");

    const pong = t.server.request("dev-5", pingSpec, { timestamp: 1 });
    await device.next(PingDef);
    device.send(PongDef, { timestamp: 99 });
    expect(await pong).toEqual({ timestamp: "99" });

    const acks: Ack[] = [];
    const streamed = (async () => {
      for await (const ack of t.server.stream(
        "dev-5",
        commandSpec,
        { orderId: "s-1", coins: 2 },
        { isFinal: ackIsFinal },
      )) {
        acks.push(ack);
      }
    })();
    expect((await device.next(CommandDef)).orderId).toBe("s-1");
    device.send(AckDef, { orderId: "other", state: AckState.DONE }); // another order's ack is not ours
    device.send(AckDef, { orderId: "s-1", state: AckState.RUNNING });
    device.send(AckDef, { orderId: "s-1", state: AckState.DONE });
    await streamed;
    expect(acks.map((a) => a.state)).toEqual([AckState.RUNNING, AckState.DONE]);
  });

  it("rejects send/request/stream to a device that is not online with NotConnectedError", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry() });
    await expect(t.server.send("ghost", PingDef, {})).rejects.toMatchObject({ code: "NOT_CONNECTED" });
    await expect(t.server.request("ghost", pingSpec, {})).rejects.toThrow(/device ghost is not online/);
    const iterator = t.server.stream("ghost", pingSpec, {})[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toMatchObject({ code: "NOT_CONNECTED" });
    // Connected but not logged in is not online either.
    await t.connect();
    await t.nextSession();
    await expect(t.server.send("ghost", PingDef, {})).rejects.toMatchObject({ code: "NOT_CONNECTED" });
  });

  it("fails a pending request when the session goes offline", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry() });
    const { device } = await loggedIn(t, "dev-6");
    const pong = t.server.request("dev-6", pingSpec, {});
    await device.next(PingDef);
    device.destroy();
    await expect(pong).rejects.toMatchObject({ code: "CONNECTION_CLOSED" });
  });

  it("refuses to queue beyond the outbound bound and closes a session whose peer does not read", async () => {
    const t = await startTestServer(pki, {
      registry: loginRegistry(),
      outboundQueue: { maxFrames: 4, maxBytes: 256 * 1024 },
    });
    const { device, session } = await loggedIn(t, "dev-7");
    device.socket.pause(); // the peer stops reading
    const big = { orderId: "x".repeat(60_000), coins: 1 };
    let failure: unknown;
    for (let i = 0; i < 500 && failure === undefined; i++) {
      failure = await t.server.send("dev-7", CommandDef, big).then(
        () => undefined,
        (error: unknown) => error,
      );
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(failure).toMatchObject({ code: "QUEUE_FULL" });
    expect((await t.offlineReason(session)).code).toBe("QUEUE_FULL");
    expect(t.server.stats().outboundQueue.fullErrors).toBe(1);
    expect(t.server.session("dev-7")).toBeUndefined();
  });
});
