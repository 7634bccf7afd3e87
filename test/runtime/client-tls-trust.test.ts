/**
 * The device client's side of the server's trust changes: a resumed session refused by the server
 * drops its ticket (the next attempt is a full handshake), a still-trusted device keeps resuming,
 * and TLS 1.2 is an explicit opt-in.
 */
import { createServer, type TLSSocket } from "node:tls";
import { describe, expect, it } from "vitest";
import type { PaynetClient } from "../../runtime/src/client/client.js";
import {
  makeClient,
  nextEvent,
  setUpClientTests,
  startLoginServer,
  stopClients,
} from "../helpers/client-harness.js";
import type { IssuedCert } from "../helpers/pki.js";

const pki = await setUpClientTests();

/** Records whether each `connected` of `client` resumed. */
function connects(client: PaynetClient): boolean[] {
  const resumed: boolean[] = [];
  client.on("connected", (info) => resumed.push(info.resumed));
  return resumed;
}

function deviceClient(port: number, device: IssuedCert, deviceId: string): PaynetClient {
  return makeClient(pki, port, {
    deviceId,
    tls: { ca: pki.ca.cert, servername: "localhost", cert: device.cert, key: device.key },
  });
}

describe("PaynetClient and the server's trust changes", () => {
  it("drops a ticket the server refused after a CA drop; a still-trusted device keeps resuming", async () => {
    const server = await startLoginServer(pki, {
      server: {
        tls: {
          cert: pki.server.cert,
          key: pki.server.key,
          ca: [pki.ca.cert, pki.rootCa.cert],
          requireClientCert: true,
        },
      },
    });
    const dropped = deviceClient(server.port, pki.device, "device-001");
    const kept = deviceClient(server.port, pki.chainDevice, "device-101");
    const droppedConnects = connects(dropped);
    const keptConnects = connects(kept);
    dropped.start();
    kept.start();
    await Promise.all([nextEvent(dropped, "online"), nextEvent(kept, "online")]);

    server.server.reloadTls({ ca: pki.rootCa.cert });
    await nextEvent(dropped, "offline");
    // Attempt 2 offers the ticket and is refused after the handshake; attempt 3 is a full handshake.
    await nextEvent(dropped, "connected", () => droppedConnects.length === 3);
    expect(droppedConnects).toEqual([false, true, false]);
    expect(dropped.online).toBe(false);
    const rejections = server.errors.filter((e) => e.error.code === "PEER_CERTIFICATE_REJECTED");
    expect(rejections.length).toBeGreaterThanOrEqual(2);

    // The kept device was not closed by the reload; when its session ends it resumes and logs in.
    expect(kept.online).toBe(true);
    server.server.session("device-101")?.close("test");
    const [online] = await nextEvent(kept, "online");
    expect(online).toEqual({ resumed: true });
    expect(keptConnects).toEqual([false, true]);
    await stopClients();
  });
});

describe("PaynetClient TLS versions", () => {
  it("connects to a TLS 1.2-only server with minVersion TLSv1.2 (and only then)", async () => {
    const tls12 = createServer({ cert: pki.server.cert, key: pki.server.key, maxVersion: "TLSv1.2" });
    const protocols: Array<string | null> = [];
    tls12.on("secureConnection", (socket: TLSSocket) => protocols.push(socket.getProtocol()));
    tls12.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => tls12.listen(0, "127.0.0.1", resolve));
    const port = (tls12.address() as { port: number }).port;
    try {
      const strict = makeClient(pki, port);
      strict.start();
      const [error] = await nextEvent(strict, "error");
      expect(error.code).toBe("HANDSHAKE_FAILED");
      await strict.stop();

      const legacy = makeClient(pki, port, {
        tls: { ca: pki.ca.cert, servername: "localhost", minVersion: "TLSv1.2" },
      });
      legacy.start();
      await nextEvent(legacy, "connected");
      expect(protocols).toEqual(["TLSv1.2"]);
    } finally {
      await stopClients();
      await new Promise((resolve) => tls12.close(resolve));
    }
  });
});
