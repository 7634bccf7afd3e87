import { createServer as createTcpServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { PaynetClient } from "../../runtime/src/client/client.js";
import {
  collectErrors,
  makeClient,
  nextEvent,
  recordEvents,
  setUpClientTests,
  startLoginServer,
} from "../helpers/client-harness.js";
import { PingDef, pingSpec } from "../helpers/messages.js";

const pki = await setUpClientTests();

describe("PaynetClient lifecycle", () => {
  it("start() returns at once; stop() closes, fails pending requests with AbortedError, and wait() resolves", async () => {
    const server = await startLoginServer(pki, { answerPings: false });
    const client = makeClient(pki, server.port);
    const events = recordEvents(client);
    expect(client.start()).toBeUndefined();
    expect(client.online).toBe(false);
    await nextEvent(client, "online");
    const session = server.server.session("device-001");
    const pending = client.request(pingSpec, { timestamp: 1 }, { timeoutMs: 10_000 });
    const waited = client.wait();
    await client.stop();
    await expect(pending).rejects.toMatchObject({ code: "ABORTED" });
    await expect(waited).resolves.toBeUndefined();
    expect(client.online).toBe(false);
    expect(events.at(-1)?.[0]).toBe("offline");
    expect((await server.offlineReason(session!)).code).toBe("CONNECTION_CLOSED");
    await expect(client.send(PingDef, {})).rejects.toMatchObject({ code: "NOT_CONNECTED" });
    // No reconnect after a stop.
    expect(events.filter((e) => e[0] === "reconnecting")).toEqual([]);
  });

  it("stop() cancels a backoff wait at once", async () => {
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const client = makeClient(pki, port, { reconnect: { initialDelayMs: 600_000, maxDelayMs: 600_000 } });
    client.on("error", () => {});
    client.start();
    await nextEvent(client, "reconnecting");
    await client.stop();
    await expect(client.wait()).resolves.toBeUndefined();
  });

  it("stop() cancels a connect in progress", async () => {
    const silent: Server = createTcpServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const client = makeClient(pki, port, { connectTimeoutMs: 600_000 });
      const errors = collectErrors(client);
      client.start();
      await nextEvent(client, "connecting");
      await client.stop();
      expect(errors).toEqual([]);
    } finally {
      silent.close();
    }
  });

  it("run(signal) connects and resolves when the signal aborts", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port);
    const controller = new AbortController();
    client.once("online", () => controller.abort());
    await expect(client.run(controller.signal)).resolves.toBeUndefined();
    expect(server.logins).toEqual(["device-001"]);
    expect(client.online).toBe(false);
  });

  it("the `signal` option stops the client; an already aborted signal never connects", async () => {
    const server = await startLoginServer(pki);
    const controller = new AbortController();
    const client = makeClient(pki, server.port, { signal: controller.signal });
    client.start();
    await nextEvent(client, "online");
    controller.abort();
    await client.wait();
    expect(client.online).toBe(false);

    const aborted = makeClient(pki, server.port, { signal: AbortSignal.abort() });
    const events = recordEvents(aborted);
    await aborted.run();
    expect(events).toEqual([]);
  });

  it("Symbol.asyncDispose stops the client", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port);
    client.start();
    await nextEvent(client, "online");
    await client[Symbol.asyncDispose]();
    expect(client.online).toBe(false);
    await client.wait();
  });

  it("can be started again after a stop, and start() while running does nothing", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port);
    client.start();
    client.start();
    await nextEvent(client, "online");
    await client.stop();
    client.start();
    await nextEvent(client, "online");
    expect(server.logins).toEqual(["device-001", "device-001"]);
    expect(client.stats().connects).toBe(2);
  });

  it("without an error listener, errors go to the logger instead of throwing", async () => {
    const lines: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn() {},
      error: (_fields: object, message: string) => void lines.push(message),
    };
    const client = new PaynetClient({
      host: "127.0.0.1",
      port: 9,
      tls: {},
      registry: (await import("../helpers/client-harness.js")).clientRegistry(),
      offlineQueue: {},
      logger,
    });
    await client.send(PingDef, {});
    // Stopping with a queued message reports it (as an error event, here without listener).
    client.start();
    await client.stop();
    await expect.poll(() => lines.length).toBeGreaterThan(0);
    expect(
      lines.some((line) => line.includes("client stopped: 1 queued message(s) not sent (paytest.Ping)")),
    ).toBe(true);
  });
});
