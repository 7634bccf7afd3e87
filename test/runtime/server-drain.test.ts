/**
 * `server.drain()`: the lame-duck stop of a node. Real TLS clients on 127.0.0.1; the eviction rate
 * is judged by the server's own eviction start times (lower bound on the duration) and, generously,
 * by when the devices saw their sessions end.
 */
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import type { PaynetClient } from "../../runtime/src/client/client.js";
import { MemoryPendingDeliveryStore } from "../../runtime/src/delivery/memory-pending-store.js";
import type { PaynetError } from "../../runtime/src/errors.js";
import { Registry } from "../../runtime/src/registry.js";
import type { DrainPhase } from "../../runtime/src/server/drain.js";
import type { ErrorMessageSpec, ServerContext } from "../../runtime/src/server/types.js";
import { makeClient, nextEvent, setUpClientTests, startLoginServer } from "../helpers/client-harness.js";
import {
  commandSpec,
  type ErrorMsg,
  ErrorMsgDef,
  LoginReqDef,
  type LoginRsp,
  LoginRspDef,
  PingDef,
  PongDef,
  pingSpec,
} from "../helpers/messages.js";
import { scaled } from "../helpers/time.js";

const pki = await setUpClientTests();

/** The test protocol's error message with the draining status both sides agree on (as generated SDKs do). */
const errorMessage: ErrorMessageSpec<ErrorMsg> = {
  def: ErrorMsgDef,
  build: (error: PaynetError) => ({ code: error.code === "SERVER_DRAINING" ? 503 : 500, msg: error.message }),
  noticeOf: (message) => (message.code === 503 ? "SERVER_DRAINING" : undefined),
};

/** Resolves once the server announces `phase`. */
function phase(
  server: { once(event: "draining", listener: (info: DrainPhase) => void): unknown },
  name: DrainPhase["phase"],
) {
  return new Promise<DrainPhase>((resolve) => {
    const listen = () =>
      server.once("draining", (info) => {
        if (info.phase === name) resolve(info);
        else listen();
      });
    listen();
  });
}

/** Whether a TCP connection to 127.0.0.1:`port` is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function onlineClients(port: number, count: number): Promise<PaynetClient[]> {
  const clients = Array.from({ length: count }, (_, i) =>
    makeClient(pki, port, {
      deviceId: `dev-${i}`,
      errorMessage,
      // Drained devices must not come back to this port during the test: a long backoff.
      reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000, spreadMs: 60_000, jitter: 0 },
    }),
  );
  await Promise.all(
    clients.map((client) => {
      const online = nextEvent(client, "online", () => true, 20_000);
      client.start();
      return online;
    }),
  );
  return clients;
}

describe("server.drain()", () => {
  it(
    "keeps the listener open for the grace period, then evicts at the bounded rate with a SERVER_DRAINING notice",
    async () => {
      const t = await startLoginServer(pki, { server: { errorMessage } });
      const clients = await onlineClients(t.port, 20);
      const endings: Array<{ at: number; reason: PaynetError }> = [];
      const offline = clients.map(
        (client) =>
          new Promise<void>((resolve) =>
            client.once("offline", (reason) => {
              endings.push({ at: Date.now(), reason });
              resolve();
            }),
          ),
      );
      const grace = phase(t.server, "grace");
      const evicting = phase(t.server, "evicting");
      const drained = t.server.drain({ graceMs: 400, evictPerSecond: 20, handlerGraceMs: 1_000 });
      expect(await grace).toMatchObject({ sessions: 20, graceMs: 400 });
      expect(t.server.draining).toBe(true);
      expect(t.server.stats().draining).toBe(true);
      // Still admitting during the grace period: a load balancer may send a last device or two.
      expect(await accepts(t.port)).toBe(true);
      expect(await evicting).toMatchObject({ sessions: 20, evictPerSecond: 20 });
      expect(await accepts(t.port)).toBe(false);
      const report = await drained;
      await Promise.all(offline);

      expect(endings.map((ending) => ending.reason.code)).toEqual(Array(20).fill("SERVER_DRAINING"));
      expect(report).toMatchObject({ sessions: 20, evicted: 20, handlersUnfinished: 0 });
      // 20 evictions at 20/s: the first at once, the last no sooner than 19/20 s later.
      expect(report.evictionMs).toBeGreaterThanOrEqual(900);
      // Seen from the devices (delivery delays can only bunch them up): at most twice the rate per second.
      const times = endings.map((ending) => ending.at).sort((a, b) => a - b);
      for (const start of times) {
        expect(times.filter((at) => at >= start && at < start + 1_000).length).toBeLessThanOrEqual(40);
      }
      expect(t.server.stats().disconnects).toMatchObject({ SERVER_DRAINING: 20 });
      await t.server.wait();
    },
    scaled(30_000),
  );

  it("closes a session only once its running handler has replied", async () => {
    let release!: () => void;
    const started = new Promise<void>((resolve) => {
      release = resolve;
    });
    let handlerRunning!: () => void;
    const running = new Promise<void>((resolve) => {
      handlerRunning = resolve;
    });
    const registry = new Registry<ServerContext>()
      .register(LoginReqDef, {
        reply: LoginRspDef,
        handler: (req, ctx): LoginRsp => {
          ctx.session.login(req.deviceId);
          return { code: 0 };
        },
      })
      .register(PingDef, {
        reply: PongDef,
        handler: async (ping) => {
          handlerRunning();
          await started;
          return { timestamp: ping.timestamp ?? 0 };
        },
      });
    const t = await startLoginServer(pki, { server: { errorMessage, registry } });
    const [client] = await onlineClients(t.port, 1);
    const reply = client!.request(pingSpec, { timestamp: 42 }, { timeoutMs: 10_000 });
    await running;
    const offline = nextEvent(client!, "offline", () => true, 10_000);
    const evicting = phase(t.server, "evicting");
    const drained = t.server.drain({ evictPerSecond: 1_000, handlerGraceMs: 10_000 });
    await evicting;
    // The handler still runs: its session waits (the 1 000/s bucket would have evicted it at once).
    expect(t.server.stats().connections.current).toBe(1);
    release();
    expect(await reply).toMatchObject({ timestamp: "42" });
    const [reason] = await offline;
    expect(reason.code).toBe("SERVER_DRAINING");
    await drained;
  });

  it("leaves tickets valid: the device resumes on the node that took over its address", async () => {
    const ticketKeys = randomBytes(48);
    const first = await startLoginServer(pki, {
      server: { errorMessage, tls: { cert: pki.server.cert, key: pki.server.key, ticketKeys } },
    });
    const client = makeClient(pki, first.port, {
      errorMessage,
      reconnect: { initialDelayMs: 20, maxDelayMs: 100, spreadMs: 0, jitter: 0 },
    });
    const online = nextEvent(client, "online");
    client.start();
    expect((await online)[0].resumed).toBe(false);
    const offline = nextEvent(client, "offline", () => true, 10_000);
    const evicting = phase(first.server, "evicting");
    const drained = first.server.drain({ evictPerSecond: 100 });
    await evicting;
    // The replacement node binds the same address once the draining one closed its listener.
    const second = await startLoginServer(pki, {
      server: {
        errorMessage,
        port: first.port,
        tls: { cert: pki.server.cert, key: pki.server.key, ticketKeys },
      },
    });
    const back = nextEvent(client, "online", () => true, 10_000);
    expect((await offline)[0].code).toBe("SERVER_DRAINING");
    expect((await back)[0].resumed).toBe(true);
    expect(second.server.stats().handshakes).toMatchObject({ resumed: 1, full: 0 });
    await drained;
  });

  it("keeps pending deliveries in their store for the node the device reconnects to", async () => {
    const store = new MemoryPendingDeliveryStore();
    const t = await startLoginServer(pki, { server: { errorMessage, deliveryStore: store } });
    const replies = t.server.deliver(
      "dev-offline",
      commandSpec,
      { orderId: "o-9", coins: 1 },
      { deadlineMs: 60_000 },
    );
    const iterator = replies[Symbol.asyncIterator]();
    const ended = iterator.next();
    const report = await t.server.drain({ evictPerSecond: 100 });
    expect(report.sessions).toBe(0);
    await expect(ended).rejects.toMatchObject({ code: "SERVER_STOPPED" });
    expect(store.forDevice("dev-offline")).toHaveLength(1);
    expect(t.server.stats().delivery.outcomes).toMatchObject({ failed: 1 });
  });

  it("refuses bad options and a server that is not listening", async () => {
    const t = await startLoginServer(pki);
    await expect(t.server.drain({ evictPerSecond: 0 })).rejects.toMatchObject({ code: "INVALID_OPTIONS" });
    await expect(t.server.drain({ graceMs: -1 })).rejects.toMatchObject({ code: "INVALID_OPTIONS" });
    await t.server.stop();
    await expect(t.server.drain()).rejects.toThrow(/server is stopped, not listening/);
  });
});
