/**
 * A heartbeat that travels BOTH ways (commands.proto's `Tick`, answered by `Tock`) is answered by
 * default on either side: the device's own heartbeats by the cloud, and a `Tick` the cloud sends by
 * the device, with no handler written on either side. Real TLS on loopback.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { makeTestPki } from "../helpers/pki.js";
import { COMMANDS, importRenderedSdk } from "./sdk-harness.js";

type Sdk = typeof import("./golden/commands/index.js");

let sdk: Sdk;

beforeAll(async () => {
  const rendered = await importRenderedSdk<Sdk>(COMMANDS, "paynet-e2e-heartbeat-");
  sdk = rendered.sdk;
  return rendered.remove;
});

describe("a BOTH-direction heartbeat", () => {
  it("is answered by the device when the cloud sends it, and by the cloud when the device does", async () => {
    const pki = await makeTestPki();
    const server = sdk.createOpsServer(
      { tls: { cert: pki.server.cert, key: pki.server.key }, port: 0 },
      {
        Hello(message, ctx) {
          ctx.session.login(message.device);
          return { code: 0n, message: "welcome" };
        },
      },
    );
    const { port } = await server.start();
    const client = sdk.createOpsClient({
      host: "127.0.0.1",
      port,
      tls: { ca: pki.ca.cert, servername: "localhost" },
      login: () => ({ device: "ops-1" }),
      heartbeat: false,
    });
    try {
      const online = new Promise<void>((resolve) => client.on("online", () => resolve()));
      client.start();
      await online;

      const fromDevice = await server.requestTick("ops-1", { timestamp: 1234n }, { timeoutMs: 10_000 });
      expect(fromDevice.timestamp).toBe(1234n);

      const fromCloud = await client.requestTick({ timestamp: 99n }, { timeoutMs: 10_000 });
      expect(fromCloud.timestamp).toBe(99n);
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});
