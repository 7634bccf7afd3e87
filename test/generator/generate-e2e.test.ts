/**
 * End to end over real TLS on loopback: a cloud server and a device client built only from the
 * generated paybox SDK exchange every message Type, a request/reply round trip in each direction and
 * a multi-reply stream (CoinAck ACCEPTED → RUNNING → DONE).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { makeTestPki } from "../helpers/pki.js";
import { ANNOTATED_PAYBOX, importRenderedSdk } from "./sdk-harness.js";

// The generated SDK is imported at run time; its own types are checked by generate-typecheck.test.ts.
type Sdk = typeof import("./golden/paybox/index.js");

let sdk: Sdk;

beforeAll(async () => {
  const rendered = await importRenderedSdk<Sdk>(ANNOTATED_PAYBOX, "paynet-e2e-");
  sdk = rendered.sdk;
  return rendered.remove;
});

/** Resolves with the first value `take` returns that is not `undefined`, polling on each event. */
function until<T>(subscribe: (notify: () => void) => void, take: () => T | undefined): Promise<T> {
  return new Promise((resolve) => {
    const check = () => {
      const value = take();
      if (value !== undefined) resolve(value);
    };
    subscribe(check);
    check();
  });
}

describe("generated paybox SDK over TLS", () => {
  it("exchanges every message type, request/reply both ways and a multi-reply stream", async () => {
    const pki = await makeTestPki();
    const { CoinState, MessageType, ResultCode } = sdk;
    const seenByServer: string[] = [];
    const seenByClient: string[] = [];
    const notifyServer = new Set<() => void>();
    const notifyClient = new Set<() => void>();
    const serverSaw = (name: string) => {
      seenByServer.push(name);
      for (const notify of notifyServer) notify();
    };
    const clientSaw = (name: string) => {
      seenByClient.push(name);
      for (const notify of notifyClient) notify();
    };

    const server = sdk.createPayboxServer(
      { tls: { cert: pki.server.cert, key: pki.server.key }, port: 0 },
      {
        RegisterReq(message) {
          serverSaw("RegisterReq");
          return { code: ResultCode.OK, deviceId: `dev-${message.deviceSn}` };
        },
        LoginReq(message, ctx) {
          serverSaw("LoginReq");
          if (message.token !== "secret") return { code: ResultCode.UNAUTHORIZED, msg: "bad token" };
          ctx.session.login(message.deviceId);
          return { code: ResultCode.OK, resumeToken: "resume-1" };
        },
        Ping() {
          serverSaw("Ping");
          return { timestamp: 42n };
        },
        async QueryReq(message, ctx) {
          serverSaw("QueryReq");
          await ctx.sendErrorMsg({ code: 9, msg: `query for ${message.orderId}` });
          return { orderId: message.orderId, state: CoinState.COIN_DONE, progress: 100 };
        },
        CoinAck(message) {
          serverSaw(`CoinAck:${message.orderId}`);
        },
        ErrorMsg(message) {
          serverSaw(`ErrorMsg:${message.code}`);
        },
      },
    );
    const { port } = await server.start();

    let registeredId = "";
    let resumeToken = "";
    const client = sdk.createPayboxClient(
      {
        host: "127.0.0.1",
        port,
        tls: { ca: pki.ca.cert, servername: "localhost" },
        register: () => ({ deviceSn: "SN1", model: "M1" }),
        onRegisterReply: (reply) => {
          registeredId = reply.deviceId;
        },
        login: () => ({ deviceId: registeredId, token: "secret", version: "1.0" }),
        onLoginReply: (reply) => {
          resumeToken = reply.resumeToken;
        },
        heartbeat: { intervalMs: 20 },
        reconnect: { initialDelayMs: 10, maxDelayMs: 50, jitter: 0 },
      },
      {
        async CoinCommand(command, ctx) {
          clientSaw(`CoinCommand:${command.orderId}`);
          await ctx.reply({ orderId: command.orderId, state: CoinState.COIN_ACCEPTED });
          await ctx.reply({ orderId: command.orderId, state: CoinState.COIN_RUNNING, progress: 50 });
          return { orderId: command.orderId, state: CoinState.COIN_DONE, progress: 100 };
        },
        Pong(message) {
          clientSaw(`Pong:${message.timestamp}`);
        },
        ErrorMsg(message) {
          clientSaw(`ErrorMsg:${message.msg}`);
        },
      },
    );
    try {
      const online = new Promise<void>((resolve) => client.on("online", () => resolve()));
      client.start();
      await online;
      expect(client.online).toBe(true);
      expect(registeredId).toBe("dev-SN1");
      expect(resumeToken).toBe("resume-1");

      // Heartbeat: Ping (0x03) up, Pong (0x83) down.
      await until(
        (notify) => notifyClient.add(notify),
        () => seenByClient.find((name) => name === "Pong:42"),
      );

      // Request/reply device → cloud, with an ErrorMsg (0xFF) down on the way.
      const queried = await client.requestQueryReq({ orderId: "o-1" }, { timeoutMs: 5_000 });
      expect(queried).toMatchObject({ orderId: "o-1", state: CoinState.COIN_DONE, progress: 100 });
      await until(
        (notify) => notifyClient.add(notify),
        () => seenByClient.find((name) => name === "ErrorMsg:query for o-1"),
      );

      // Multi-reply stream cloud → device, matched by order_id; it ends on a final state of the
      // proto ((paynet.final) on COIN_DONE and COIN_FAILED), with no per-call isFinal.
      const states: number[] = [];
      for await (const ack of server.streamCoinCommand(
        "dev-SN1",
        { orderId: "o-2", coins: 3 },
        { timeoutMs: 5_000 },
      )) {
        expect(ack.orderId).toBe("o-2");
        states.push(ack.state);
      }
      expect(states).toEqual([CoinState.COIN_ACCEPTED, CoinState.COIN_RUNNING, CoinState.COIN_DONE]);

      // Request/reply cloud → device: resolves with the final reply.
      const final = await server.requestCoinCommand(
        "dev-SN1",
        { orderId: "o-3", coins: 1 },
        { timeoutMs: 5_000, isFinal: (reply) => reply.state === CoinState.COIN_DONE },
      );
      expect(final).toMatchObject({ orderId: "o-3", state: CoinState.COIN_DONE, progress: 100 });

      // At-least-once delivery yields every reply until the final one: ACCEPTED and RUNNING do not
      // end it, COIN_DONE (final in the proto) does, without options; the record is then gone.
      const delivered: number[] = [];
      for await (const ack of server.deliverCoinCommand("dev-SN1", { orderId: "o-5", coins: 2 })) {
        delivered.push(ack.state);
      }
      expect(delivered).toEqual([CoinState.COIN_ACCEPTED, CoinState.COIN_RUNNING, CoinState.COIN_DONE]);
      expect(server.runtime.stats().delivery).toMatchObject({ pending: 0, completed: 1 });

      // Plain sends both ways: CoinAck (0x84) and ErrorMsg (0xFF) up.
      await client.sendCoinAck({ orderId: "o-4", state: CoinState.COIN_FAILED, error: "jam" });
      await client.sendErrorMsg({ code: 3, msg: "device fault" });
      await until(
        (notify) => notifyServer.add(notify),
        () =>
          seenByServer.includes("CoinAck:o-4") && seenByServer.includes("ErrorMsg:3") ? true : undefined,
      );

      expect(seenByServer).toEqual(expect.arrayContaining(["RegisterReq", "LoginReq", "Ping", "QueryReq"]));
      expect(seenByClient).toEqual(
        expect.arrayContaining(["CoinCommand:o-2", "CoinCommand:o-3", "CoinCommand:o-5"]),
      );
      // Every Type of the protocol went over the wire at least once, in its direction.
      expect(Object.keys(MessageType).sort()).toEqual(
        [
          "CoinAck",
          "CoinCommand",
          "ErrorMsg",
          "LoginReq",
          "LoginRsp",
          "Ping",
          "Pong",
          "QueryReq",
          "QueryRsp",
          "RegisterReq",
          "RegisterRsp",
        ].sort(),
      );
      const stats = server.runtime.stats();
      const inbound = Object.keys(stats.framesIn).join(" ");
      const outbound = Object.keys(stats.framesOut).join(" ");
      for (const name of ["RegisterReq", "LoginReq", "Ping", "QueryReq", "CoinAck", "ErrorMsg"])
        expect(inbound).toContain(name);
      for (const name of ["RegisterRsp", "LoginRsp", "Pong", "QueryRsp", "CoinCommand", "ErrorMsg"])
        expect(outbound).toContain(name);
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});
