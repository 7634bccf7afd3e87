import { createServer as createTcpServer, type Server } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import type { ServerSession } from "../../runtime/src/server/session.js";
import {
  collectErrors,
  makeClient,
  nextEvent,
  recordEvents,
  setUpClientTests,
  startLoginServer,
  stopClients,
} from "../helpers/client-harness.js";

const pki = await setUpClientTests();

describe("PaynetClient: TLS connect", () => {
  it("connects over TLS 1.3, logs in, and reports connecting → connected → online", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port);
    const events = recordEvents(client);
    client.start();
    const [online] = await nextEvent(client, "online");
    expect(online).toEqual({ resumed: false });
    expect(client.online).toBe(true);
    expect(events.map((e) => e[0])).toEqual(["connecting", "connected", "online"]);
    expect(events[0]).toEqual(["connecting", { attempt: 1, host: "127.0.0.1", port: server.port }]);
    expect(server.logins).toEqual(["device-001"]);
    const session = server.server.session("device-001");
    expect(session).toBeDefined();
    expect(client.stats().handshakes).toEqual({ full: 1, resumed: 0, failed: 0 });
    expect(client.stats().connects).toBe(1);
  });

  it("presents a client certificate to an mTLS server", async () => {
    const server = await startLoginServer(pki, {
      server: {
        tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requireClientCert: true },
      },
    });
    const client = makeClient(pki, server.port, {
      tls: { ca: pki.ca.cert, cert: pki.device.cert, key: pki.device.key, servername: "localhost" },
    });
    client.start();
    await nextEvent(client, "online");
    expect(server.server.session("device-001")?.identity?.commonName).toBe("device-001");
  });

  it("reports the close when the mTLS server refuses the client certificate, and retries", async () => {
    const server = await startLoginServer(pki, {
      server: {
        tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requireClientCert: true },
      },
    });
    const client = makeClient(pki, server.port, {
      tls: {
        ca: pki.ca.cert,
        cert: pki.foreignDevice.cert,
        key: pki.foreignDevice.key,
        servername: "localhost",
      },
    });
    client.start();
    // The server verifies after the TLS 1.3 handshake and closes: the device only sees the close.
    const [error] = await nextEvent(client, "error");
    expect(["CONNECTION_CLOSED", "HANDSHAKE_FAILED"]).toContain(error.code);
    expect((await server.nextError("PEER_CERTIFICATE_REJECTED")).message).toContain(
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    );
    await nextEvent(client, "reconnecting");
    expect(client.online).toBe(false);
    expect(server.logins).toEqual([]);
  });

  it("caches the TLS ticket and resumes on reconnect (client.resumed, stats)", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port);
    client.start();
    await nextEvent(client, "online");
    expect(client.resumed).toBe(false);
    // Tickets arrive after the handshake; the login reply came later on the same connection.
    const session = server.server.session("device-001") as ServerSession;
    const offline = nextEvent(client, "offline");
    const online = nextEvent(client, "online");
    session.close("test drop");
    const [reason] = await offline;
    expect(reason.code).toBe("CONNECTION_CLOSED");
    const [info] = await online;
    expect(info).toEqual({ resumed: true });
    expect(client.resumed).toBe(true);
    expect(client.stats().handshakes).toEqual({ full: 1, resumed: 1, failed: 0 });
    expect(server.server.stats().handshakes.resumed).toBe(1);
  });

  it("reports a wrong CA as HandshakeFailedError with the TLS reason, then retries with backoff", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port, { tls: { ca: pki.otherCa.cert, servername: "localhost" } });
    const errors = collectErrors(client);
    const events = recordEvents(client);
    client.start();
    await nextEvent(client, "connecting", (info) => info.attempt === 3);
    expect(errors[0]?.code).toBe("HANDSHAKE_FAILED");
    expect(errors[0]?.message).toMatch(
      /TLS handshake failed: (unable to verify the first certificate|self[- ]signed certificate)/,
    );
    expect(errors[0]?.message).toContain(`127.0.0.1:${server.port}`);
    const reconnecting = events.filter((e) => e[0] === "reconnecting").map((e) => e[1]);
    expect(reconnecting.slice(0, 2)).toEqual([
      { attempt: 2, delayMs: 20 },
      { attempt: 3, delayMs: 40 },
    ]);
    expect(client.online).toBe(false);
    expect(client.stats().handshakes.failed).toBeGreaterThanOrEqual(2);
  });

  it("refuses a server certificate whose name does not match the servername", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port, {
      tls: { ca: pki.ca.cert, servername: "not-the-server.example" },
    });
    client.start();
    const [error] = await nextEvent(client, "error");
    expect(error.code).toBe("HANDSHAKE_FAILED");
    expect(error.message).toMatch(/not-the-server\.example/);
  });

  it("requires TLS 1.3 by default: a TLS 1.2-only server is refused", async () => {
    const { createServer } = await import("node:tls");
    const tls12 = createServer({ cert: pki.server.cert, key: pki.server.key, maxVersion: "TLSv1.2" });
    tls12.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => tls12.listen(0, "127.0.0.1", resolve));
    const port = (tls12.address() as { port: number }).port;
    try {
      const client = makeClient(pki, port);
      client.start();
      const [error] = await nextEvent(client, "error");
      expect(error.code).toBe("HANDSHAKE_FAILED");
      expect(error.message).toMatch(/version|protocol/i);
    } finally {
      await stopClients();
      await new Promise((resolve) => tls12.close(resolve));
    }
  });

  it("fails with ConnectTimeoutError when the TLS handshake never completes", async () => {
    // A TCP server that accepts and never answers: covers the TLS part of the connect timeout.
    const silent: Server = createTcpServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const client = makeClient(pki, port, { connectTimeoutMs: 150 });
      client.start();
      const [error] = await nextEvent(client, "error");
      expect(error.code).toBe("CONNECT_TIMEOUT");
      expect(error.message).toBe(`connect not completed within 150 ms (peer 127.0.0.1:${port})`);
      await nextEvent(client, "reconnecting");
    } finally {
      await stopClients();
      silent.close();
    }
  });

  it("reports a refused TCP connect as CONNECTION_CLOSED and keeps retrying", async () => {
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const client = makeClient(pki, port);
    client.start();
    const [error] = await nextEvent(client, "error");
    expect(error.code).toBe("CONNECTION_CLOSED");
    expect(error.message).toContain("ECONNREFUSED");
    await nextEvent(client, "connecting", (info) => info.attempt === 2);
  });
});

afterAll(async () => {
  await stopClients();
});
