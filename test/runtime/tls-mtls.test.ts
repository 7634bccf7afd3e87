import { X509Certificate } from "node:crypto";
import { connect as tcpConnect } from "node:net";
import { describe, expect, it } from "vitest";
import type { PeerIdentity, ServerTlsOptions, VerifyPeerInfo } from "../../runtime/src/server/types.js";
import { setUpServerTests, startTestServer } from "../helpers/test-server.js";

const pki = await setUpServerTests();

function mtls(extra: Partial<ServerTlsOptions> = {}): ServerTlsOptions {
  return { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requireClientCert: true, ...extra };
}

describe("TLS versions", () => {
  it("speaks TLS 1.3 by default and refuses a TLS 1.2-only client", async () => {
    const t = await startTestServer(pki);
    const device = await t.connect();
    expect(device.socket.getProtocol()).toBe("TLSv1.3");
    await expect(t.connect({ maxVersion: "TLSv1.2" })).rejects.toThrow();
    const error = await t.nextError("HANDSHAKE_FAILED");
    expect(error.message).toMatch(/TLS handshake failed: unsupported protocol/);
    expect(t.server.stats().handshakes.failed).toBeGreaterThanOrEqual(1);
  });

  it("names the peer of a handshake cut short by a TCP reset", async () => {
    const t = await startTestServer(pki);
    const probe = tcpConnect(t.port, "127.0.0.1");
    await new Promise<void>((resolve) => probe.once("connect", resolve));
    const peer = `127.0.0.1:${probe.localPort}`;
    probe.write(Buffer.from("16030100ff01", "hex")); // the start of a ClientHello, then a reset
    probe.resetAndDestroy();
    const error = await t.nextError("HANDSHAKE_FAILED");
    expect(error.peer).toBe(peer);
  });

  it("accepts TLS 1.2 clients with minVersion TLSv1.2", async () => {
    const t = await startTestServer(pki, { tls: mtls({ minVersion: "TLSv1.2" }) });
    const device = await t.connect({ maxVersion: "TLSv1.2", cert: pki.device.cert, key: pki.device.key });
    expect(device.socket.getProtocol()).toBe("TLSv1.2");
    const session = await t.nextSession();
    expect(session.identity?.commonName).toBe("device-001");
  });
});

describe("mutual TLS", () => {
  it("puts the verified identity on the session", async () => {
    const t = await startTestServer(pki, { tls: mtls() });
    await t.connect({ cert: pki.device.cert, key: pki.device.key });
    const session = await t.nextSession();
    const identity = session.identity as PeerIdentity;
    expect(identity.commonName).toBe("device-001");
    expect(identity.serialNumber).toBe(pki.device.serialNumber.replace(/^0+/, ""));
    expect(identity.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(identity.validTo.getTime()).toBeGreaterThan(Date.now());
    expect(Array.isArray(identity.subjectAltNames)).toBe(true);
    expect(session.resumed).toBe(false);
  });

  it("refuses a client without a certificate", async () => {
    const t = await startTestServer(pki, { tls: mtls() });
    const device = await t.connect();
    await device.closed;
    const error = await t.nextError("PEER_CERTIFICATE_REJECTED");
    expect(error.message).toContain("no client certificate");
    expect(error.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(t.server.stats().connections.current).toBe(0);
  });

  it("refuses a certificate from another CA", async () => {
    const t = await startTestServer(pki, { tls: mtls() });
    const device = await t.connect({ cert: pki.foreignDevice.cert, key: pki.foreignDevice.key });
    await device.closed;
    const error = await t.nextError("PEER_CERTIFICATE_REJECTED");
    expect(error.message).toMatch(/certificate verification failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    expect(error.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(t.server.stats().connections).toMatchObject({ current: 0, rejected: 1 });
  });

  it("refuses an expired certificate", async () => {
    const t = await startTestServer(pki, { tls: mtls() });
    const device = await t.connect({ cert: pki.expiredDevice.cert, key: pki.expiredDevice.key });
    await device.closed;
    expect((await t.nextError("PEER_CERTIFICATE_REJECTED")).message).toMatch(/CERT_HAS_EXPIRED/);
  });

  it("refuses a revoked certificate listed in the CRL, with PeerCertificateRejectedError", async () => {
    const t = await startTestServer(pki, { tls: mtls({ crl: pki.crl }) });
    const device = await t.connect({ cert: pki.revokedDevice.cert, key: pki.revokedDevice.key });
    await device.closed;
    const error = await t.nextError("PEER_CERTIFICATE_REJECTED");
    expect(error.message).toContain("revoked");
    expect(error.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(t.logger.lines.some((l) => l.level === "warn" && l.message.includes("revoked"))).toBe(true);
    // Other certificates of the same CA still get in.
    await t.connect({ cert: pki.device.cert, key: pki.device.key });
    expect((await t.nextSession()).identity?.commonName).toBe("device-001");
  });

  it("runs verifyPeer after the handshake and refuses with its reason", async () => {
    const seen: Array<{ cn: string | undefined; resumed: boolean }> = [];
    const t = await startTestServer(pki, {
      tls: mtls({
        verifyPeer: async (identity, info) => {
          seen.push({ cn: identity?.commonName, resumed: info.resumed });
          return identity?.commonName === "device-002" ? "device-002 is blocked" : true;
        },
      }),
    });
    await t.connect({ cert: pki.device.cert, key: pki.device.key });
    await t.nextSession();
    const blocked = await t.connect({ cert: pki.device2.cert, key: pki.device2.key });
    await blocked.closed;
    const error = await t.nextError("PEER_CERTIFICATE_REJECTED");
    expect(error.message).toContain("device-002 is blocked");
    expect(seen).toEqual([
      { cn: "device-001", resumed: false },
      { cn: "device-002", resumed: false },
    ]);
  });

  it("treats a throwing verifyPeer as a refusal", async () => {
    const t = await startTestServer(pki, {
      tls: mtls({
        verifyPeer: () => {
          throw new Error("directory down");
        },
      }),
    });
    const device = await t.connect({ cert: pki.device.cert, key: pki.device.key });
    await device.closed;
    expect((await t.nextError("PEER_CERTIFICATE_REJECTED")).message).toContain("directory down");
  });

  it("warns when a peer certificate expires within 30 days", async () => {
    const soon = await pki.issueDevice("device-soon", { validDays: 10 });
    const t = await startTestServer(pki, { tls: mtls() });
    await t.connect({ cert: soon.cert, key: soon.key });
    await t.nextSession();
    const warning = t.logger.lines.find((l) => l.message === "peer certificate expires soon");
    expect(warning?.level).toBe("warn");
    expect(warning?.fields).toMatchObject({ commonName: "device-soon" });
    expect(warning?.fields?.daysLeft).toBeLessThanOrEqual(10);
    const t2 = await startTestServer(pki, { tls: mtls() });
    await t2.connect({ cert: pki.device.cert, key: pki.device.key });
    await t2.nextSession();
    expect(t2.logger.lines.some((l) => l.message === "peer certificate expires soon")).toBe(false);
  });
});

describe("verifyPeer bounds", () => {
  it("refuses a peer whose verifyPeer does not answer within the handshake timeout", async () => {
    const t = await startTestServer(pki, {
      handshakeTimeoutMs: 100,
      tls: mtls({ verifyPeer: () => new Promise(() => {}) }),
    });
    const device = await t.connect({ cert: pki.device.cert, key: pki.device.key });
    await device.closed;
    expect((await t.nextError("PEER_CERTIFICATE_REJECTED")).message).toContain(
      "verifyPeer failed: no answer within 100 ms",
    );
  });
});

describe("verifyPeer without a CA bundle (pinning)", () => {
  it("requires a client certificate and lets verifyPeer alone accept a pinned fingerprint and refuse another", async () => {
    const pinned = new X509Certificate(pki.device.cert).fingerprint256;
    const seen: VerifyPeerInfo[] = [];
    const t = await startTestServer(pki, {
      tls: {
        cert: pki.server.cert,
        key: pki.server.key,
        requireClientCert: true,
        verifyPeer: (identity, info) => {
          seen.push(info);
          return identity?.fingerprint256 === pinned
            ? true
            : `fingerprint ${identity?.fingerprint256} not pinned`;
        },
      },
    });
    await t.connect({ cert: pki.device.cert, key: pki.device.key });
    const session = await t.nextSession();
    expect(session.identity?.commonName).toBe("device-001");
    expect(seen[0]).toMatchObject({ authorized: false, resumed: false });
    expect(seen[0]?.authorizationError).toEqual(expect.any(String));

    const other = await t.connect({ cert: pki.device2.cert, key: pki.device2.key });
    await other.closed;
    const error = await t.nextError("PEER_CERTIFICATE_REJECTED");
    expect(error.message).toContain("not pinned");

    // A certificate is still required.
    const anonymous = await t.connect();
    await anonymous.closed;
    await expect
      .poll(() => t.errors.filter((e) => /no client certificate/.test(e.error.message)))
      .toHaveLength(1);
    expect([...t.server.sessions()]).toEqual([session]);
  });

  it("with a CA bundle, verifyPeer sees only verified chains", async () => {
    const seen: VerifyPeerInfo[] = [];
    const t = await startTestServer(pki, {
      tls: mtls({
        verifyPeer: (_identity, info) => {
          seen.push(info);
          return true;
        },
      }),
    });
    await t.connect({ cert: pki.device.cert, key: pki.device.key });
    await t.nextSession();
    const foreign = await t.connect({ cert: pki.foreignDevice.cert, key: pki.foreignDevice.key });
    await foreign.closed;
    await t.nextError("PEER_CERTIFICATE_REJECTED");
    expect(seen).toEqual([
      { remoteAddress: "127.0.0.1", resumed: false, authorized: true, authorizationError: undefined },
    ]);
  });
});
