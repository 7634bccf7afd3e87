/**
 * A server event listener (or a user logger) that throws must never crash the process, leave an
 * unhandled rejection behind or wedge `stop()`: the throw is logged and the server keeps serving.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Logger } from "../../runtime/src/logger.js";
import { Registry } from "../../runtime/src/registry.js";
import type { ServerContext } from "../../runtime/src/server/types.js";
import { PingDef, PongDef } from "../helpers/messages.js";
import { makeTestPki, type TestPki } from "../helpers/pki.js";
import { recordingLogger, startTestServer, stopAll } from "../helpers/test-server.js";
import { scaled } from "../helpers/time.js";

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

/** Unhandled rejections and uncaught exceptions seen during one test. */
const escaped: unknown[] = [];
const onEscape = (error: unknown) => escaped.push(error);
beforeEach(() => {
  escaped.length = 0;
  process.on("unhandledRejection", onEscape);
  process.on("uncaughtException", onEscape);
});
afterEach(async () => {
  process.off("unhandledRejection", onEscape);
  process.off("uncaughtException", onEscape);
  await stopAll();
});

function pingRegistry(): Registry<ServerContext> {
  return new Registry<ServerContext>().register(PingDef, { reply: PongDef, handler: () => ({}) });
}

/** Lets pending socket events and microtasks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe("throwing server event listeners", () => {
  it("a throwing connection listener is logged; the session keeps serving and nothing escapes", async () => {
    const t = await startTestServer(pki, { registry: pingRegistry() });
    t.server.on("connection", () => {
      throw new Error("listener bug");
    });
    const device = await t.connect();
    device.send(PingDef, {});
    await device.next(PongDef);
    await settle();
    expect(escaped).toEqual([]);
    const line = t.logger.lines.find((l) => l.message === "server event listener threw");
    expect(line?.fields).toMatchObject({ event: "connection", error: "listener bug" });
  });

  it("a throwing offline listener is logged, the session is still removed and the server keeps accepting", async () => {
    const t = await startTestServer(pki, { registry: pingRegistry() });
    t.server.on("offline", () => {
      throw new Error("offline listener bug");
    });
    const first = await t.connect();
    await t.nextSession();
    first.destroy();
    await expect.poll(() => t.offline.length).toBe(1);
    await settle();
    expect(escaped).toEqual([]);
    expect(t.server.stats().connections.current).toBe(0);
    expect(t.logger.lines.some((l) => l.fields?.event === "offline")).toBe(true);
    const second = await t.connect();
    second.send(PingDef, {});
    await second.next(PongDef);
  });

  it("stop() completes even when the offline listener throws for every closed session", async () => {
    const t = await startTestServer(pki, { registry: pingRegistry() });
    t.server.on("offline", () => {
      throw new Error("offline listener bug");
    });
    await t.connect();
    await t.connect();
    await expect.poll(() => t.server.stats().connections.current).toBe(2);
    const stopped = t.server.stop({ graceMs: 0 });
    const outcome = await Promise.race([
      stopped.then(() => "stopped"),
      new Promise((resolve) => setTimeout(() => resolve("hung"), scaled(20_000))),
    ]);
    expect(outcome).toBe("stopped");
    expect(t.offline.map((o) => o.reason.code)).toEqual(["SERVER_STOPPED", "SERVER_STOPPED"]);
    await settle();
    expect(escaped).toEqual([]);
  });

  it("an admission check that throws refuses that connection with a typed error instead of an unhandled rejection", async () => {
    // The expiry warning of a peer certificate goes through the user logger; make that logger throw.
    const lines = recordingLogger();
    const logger: Logger = {
      ...lines,
      warn: (fields, message) => {
        if (message === "peer certificate expires soon") throw new Error("logger bug");
        lines.warn(fields, message);
      },
    };
    const soon = await pki.issueDevice("device-soon", { validDays: 5 });
    const t = await startTestServer(pki, {
      registry: pingRegistry(),
      logger,
      tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requireClientCert: true },
    });
    const refused = await t.connect({ cert: soon.cert, key: soon.key });
    await refused.closed;
    const error = await t.nextError("PEER_CERTIFICATE_REJECTED");
    expect(error.message).toContain("admission check failed: logger bug");
    await settle();
    expect(escaped).toEqual([]);
    // Other devices are still admitted.
    const fine = await t.connect({ cert: pki.device.cert, key: pki.device.key });
    fine.send(PingDef, {});
    await fine.next(PongDef);
  });
});

describe("start/stop consistency", () => {
  it("stop() during start() leaves the server stopped (start rejects with SERVER_STOPPED)", async () => {
    const { PaynetServer } = await import("../../runtime/src/server/server.js");
    const server = new PaynetServer({
      tls: { cert: pki.server.cert, key: pki.server.key },
      registry: new Registry(),
    });
    let listened = false;
    server.on("listening", () => {
      listened = true;
    });
    const started = server.start();
    started.catch(() => {});
    const stopped = server.stop();
    await expect(started).rejects.toMatchObject({ code: "SERVER_STOPPED" });
    await stopped;
    await server.wait();
    expect(listened).toBe(false);
    expect(server.stats().connections.current).toBe(0);
    await expect(server.start()).rejects.toMatchObject({ code: "INVALID_OPTIONS" });
  });

  it("removes its abort listener from the signal once stopped", async () => {
    const { getEventListeners } = await import("node:events");
    const { PaynetServer } = await import("../../runtime/src/server/server.js");
    const controller = new AbortController();
    const server = new PaynetServer({
      tls: { cert: pki.server.cert, key: pki.server.key },
      registry: new Registry(),
      signal: controller.signal,
    });
    await server.start();
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    await server.stop();
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });
});
