import { once } from "node:events";
import { connect as netConnect } from "node:net";
import { describe, expect, it } from "vitest";
import { Registry } from "../../runtime/src/registry.js";
import { PaynetServer } from "../../runtime/src/server/server.js";
import type { ServerContext } from "../../runtime/src/server/types.js";
import {
  type Ack,
  AckDef,
  AckState,
  type Command,
  CommandDef,
  PingDef,
  PongDef,
} from "../helpers/messages.js";
import { setUpServerTests, startTestServer } from "../helpers/test-server.js";

const pki = await setUpServerTests();

/** A promise with its resolve function, to hold a handler open. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe("server lifecycle", () => {
  it("start() resolves the bound port for port 0 and emits listening; a second start() is refused", async () => {
    const server = new PaynetServer({
      tls: { cert: pki.server.cert, key: pki.server.key },
      registry: new Registry(),
    });
    const listening = once(server, "listening");
    const address = await server.start();
    expect(address.host).toBe("127.0.0.1");
    expect(address.port).toBeGreaterThan(0);
    expect((await listening)[0]).toEqual(address);
    await expect(server.start()).rejects.toMatchObject({ code: "INVALID_OPTIONS" });
    await server.stop();
    await server.wait();
  });

  it("graceful stop lets an in-flight handler finish and deliver its reply, then closes with SERVER_STOPPED", async () => {
    const held = gate();
    const started = gate();
    const registry = new Registry<ServerContext>().register(CommandDef, {
      reply: AckDef,
      handler: async (command: Command): Promise<Ack> => {
        started.open();
        await held.promise;
        return { orderId: command.orderId, state: AckState.DONE };
      },
    });
    const t = await startTestServer(pki, { registry });
    const device = await t.connect();
    const session = await t.nextSession();
    device.send(CommandDef, { orderId: "g-1", coins: 1 });
    await started.promise;
    let stopped = false;
    const stopping = t.server.stop({ graceMs: 10_000 }).then(() => {
      stopped = true;
    });
    // New connections are refused while draining.
    await expect(t.connect({ timeoutMs: 1_000 })).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stopped).toBe(false);
    expect(t.offline).toHaveLength(0);
    held.open();
    expect(await device.next(AckDef)).toMatchObject({ orderId: "g-1", state: AckState.DONE });
    await stopping;
    expect((await t.offlineReason(session)).code).toBe("SERVER_STOPPED");
    await device.closed;
    await t.server.wait();
  });

  it("stop() closes sessions after the grace period even if a handler never finishes", async () => {
    const started = gate();
    const registry = new Registry<ServerContext>().register(PingDef, {
      handler: () => {
        started.open();
        return new Promise(() => {});
      },
    });
    const t = await startTestServer(pki, { registry });
    const device = await t.connect();
    const session = await t.nextSession();
    device.send(PingDef, {});
    await started.promise;
    await t.server.stop({ graceMs: 50 });
    expect((await t.offlineReason(session)).code).toBe("SERVER_STOPPED");
    expect(t.logger.lines.some((l) => l.message.includes("grace period over"))).toBe(true);
  });

  it("an aborted signal stops the server and wait() resolves", async () => {
    const controller = new AbortController();
    const t = await startTestServer(pki, { signal: controller.signal });
    await t.connect();
    const session = await t.nextSession();
    controller.abort();
    await t.server.wait();
    expect((await t.offlineReason(session)).code).toBe("SERVER_STOPPED");
  });

  it("Symbol.asyncDispose stops the server", async () => {
    const t = await startTestServer(pki);
    await t.server[Symbol.asyncDispose]();
    await t.server.wait();
    await expect(t.connect({ timeoutMs: 1_000 })).rejects.toThrow();
  });

  it("closes a connection without any complete frame within readTimeoutMs, even while bytes trickle in", async () => {
    const registry = new Registry<ServerContext>().register(PingDef, { reply: PongDef, handler: () => ({}) });
    const t = await startTestServer(pki, { registry, readTimeoutMs: 300 });
    const device = await t.connect();
    const session = await t.nextSession();
    // A header announcing 100 bytes, then one byte at a time: never a complete frame.
    device.write(Buffer.from([0, 0, 0, 100, PingDef.type]));
    const trickle = setInterval(() => device.write(Buffer.from([0])), 40);
    try {
      const reason = await t.offlineReason(session);
      expect(reason.code).toBe("READ_TIMEOUT");
      expect(reason.message).toContain("300 ms");
    } finally {
      clearInterval(trickle);
    }
    await device.closed;
  });

  it("keeps a connection that sends frames within the read timeout", async () => {
    const registry = new Registry<ServerContext>().register(PingDef, { reply: PongDef, handler: () => ({}) });
    const readTimeoutMs = 1_000;
    const t = await startTestServer(pki, { registry, readTimeoutMs });
    const device = await t.connect();
    // Pings 100 ms apart (a tenth of the read timeout, room for a loaded machine) for longer than
    // the read timeout: only re-arming on each frame keeps the connection.
    const since = performance.now();
    while (performance.now() - since < 1.5 * readTimeoutMs) {
      device.send(PingDef, {});
      await device.next(PongDef);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(t.offline).toHaveLength(0);
  });

  it("times out a connection that never completes the TLS handshake", async () => {
    const t = await startTestServer(pki, { handshakeTimeoutMs: 100 });
    const socket = netConnect(t.port, "127.0.0.1");
    socket.on("error", () => {});
    const error = await t.nextError("HANDSHAKE_TIMEOUT");
    expect(error.message).toContain("100 ms");
    expect(t.server.stats().handshakes.failed).toBe(1);
    await once(socket, "close");
  });

  it("refuses connections beyond maxConnections with MaxConnectionsError", async () => {
    const t = await startTestServer(pki, { maxConnections: 1 });
    await t.connect();
    await t.nextSession();
    await expect(t.connect({ timeoutMs: 2_000 })).rejects.toThrow();
    const error = await t.nextError("MAX_CONNECTIONS");
    expect(error.message).toContain("connection limit 1 reached");
    expect(t.server.stats().connections).toMatchObject({ current: 1, rejected: 1 });
  });
});
