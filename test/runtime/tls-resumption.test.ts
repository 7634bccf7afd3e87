import { randomBytes, X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ServerTlsOptions } from "../../runtime/src/server/types.js";
import type { RawDevice } from "../helpers/raw-device.js";
import { setUpServerTests, startTestServer, type TestServer } from "../helpers/test-server.js";

const pki = await setUpServerTests();

function mtls(extra: Partial<ServerTlsOptions> = {}): ServerTlsOptions {
  return { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requireClientCert: true, ...extra };
}

/** Connects, waits for a ticket, closes, and returns the ticket. */
async function ticketFrom(
  t: TestServer,
  options: Parameters<TestServer["connect"]>[0] = {},
): Promise<Buffer> {
  const device = await t.connect(options);
  const ticket = await device.waitForTicket();
  await t.nextSession();
  await device.close();
  return ticket;
}

function fingerprintOf(device: RawDevice): string {
  return device.socket.getPeerCertificate().fingerprint256;
}

describe("TLS session resumption", () => {
  it("resumes with a stored ticket and counts full and resumed handshakes", async () => {
    const t = await startTestServer(pki);
    const ticket = await ticketFrom(t);
    const device = await t.connect({ session: ticket });
    expect(device.resumed).toBe(true);
    const session = await t.nextSession();
    expect(session.resumed).toBe(true);
    expect(t.server.stats().handshakes).toMatchObject({ full: 1, resumed: 1 });
  });

  it("keeps tickets valid across reloadTls with a new server certificate", async () => {
    const t = await startTestServer(pki);
    const ticket = await ticketFrom(t);
    t.server.reloadTls({ cert: pki.serverNew.cert, key: pki.serverNew.key });
    const resumed = await t.connect({ session: ticket });
    expect(resumed.resumed).toBe(true);
    await t.nextSession();
    // A full handshake now sees the new certificate.
    const fresh = await t.connect();
    expect(fresh.resumed).toBe(false);
    expect(fingerprintOf(fresh)).toBe(new X509Certificate(pki.serverNew.cert).fingerprint256);
    await t.nextSession();
    expect(t.server.stats().handshakes).toMatchObject({ full: 2, resumed: 1 });
    expect(t.logger.lines.some((l) => l.message === "TLS material reloaded")).toBe(true);
    // The reload must not fall back to Node's defaults (TLS 1.2 allowed).
    await expect(t.connect({ maxVersion: "TLSv1.2" })).rejects.toThrow();
  });

  it("keeps mTLS tickets valid across a reload and resumes with the identity on the session", async () => {
    const t = await startTestServer(pki, { tls: mtls() });
    const ticket = await ticketFrom(t, { cert: pki.device.cert, key: pki.device.key });
    t.server.reloadTls({ cert: pki.serverNew.cert, key: pki.serverNew.key, ca: pki.ca.cert });
    const device = await t.connect({ cert: pki.device.cert, key: pki.device.key, session: ticket });
    expect(device.resumed).toBe(true);
    const session = await t.nextSession();
    expect(session.resumed).toBe(true);
    expect(session.identity?.commonName).toBe("device-001");
  });

  it("shares tickets between servers configured with the same ticketKeys", async () => {
    const ticketKeys = randomBytes(48);
    const a = await startTestServer(pki, { tls: mtls({ ticketKeys }) });
    const b = await startTestServer(pki, { tls: mtls({ ticketKeys }) });
    const c = await startTestServer(pki, { tls: mtls() });
    const ticket = await ticketFrom(a, { cert: pki.device.cert, key: pki.device.key });
    expect((await b.connect({ cert: pki.device.cert, key: pki.device.key, session: ticket })).resumed).toBe(
      true,
    );
    expect((await c.connect({ cert: pki.device.cert, key: pki.device.key, session: ticket })).resumed).toBe(
      false,
    );
  });

  it("refuses a certificate revoked by a CRL reload, also on a resumed handshake", async () => {
    const t = await startTestServer(pki, { tls: mtls({ crl: pki.emptyCrl }) });
    const credentials = { cert: pki.revokedDevice.cert, key: pki.revokedDevice.key };
    const ticket = await ticketFrom(t, credentials);
    t.server.reloadTls({ crl: pki.crl });
    const device = await t.connect({ ...credentials, session: ticket });
    expect(device.resumed).toBe(true);
    await device.closed;
    const error = await t.nextError("PEER_CERTIFICATE_REJECTED");
    expect(error.message).toContain("certificate revoked");
    expect(t.server.stats().handshakes.resumed).toBe(1);
    expect(t.server.stats().connections.current).toBe(0);
    // Unrevoked devices still resume after the reload.
    const goodTicket = await ticketFrom(t, { cert: pki.device.cert, key: pki.device.key });
    const good = await t.connect({ cert: pki.device.cert, key: pki.device.key, session: goodTicket });
    expect(good.resumed).toBe(true);
    expect((await t.nextSession()).identity?.commonName).toBe("device-001");
  });

  it("calls verifyPeer on resumed handshakes too, and a refusal there closes the connection", async () => {
    const blocked = new Set<string>();
    const calls: boolean[] = [];
    const t = await startTestServer(pki, {
      tls: mtls({
        verifyPeer: (identity, info) => {
          calls.push(info.resumed);
          return blocked.has(identity?.commonName ?? "") ? "blocked by operator" : true;
        },
      }),
    });
    const ticket = await ticketFrom(t, { cert: pki.device.cert, key: pki.device.key });
    blocked.add("device-001");
    const device = await t.connect({ cert: pki.device.cert, key: pki.device.key, session: ticket });
    expect(device.resumed).toBe(true);
    await device.closed;
    expect((await t.nextError("PEER_CERTIFICATE_REJECTED")).message).toContain("blocked by operator");
    expect(calls).toEqual([false, true]);
  });

  it("re-checks expiry on a resumed handshake", async () => {
    const expiresAt = Date.now() + 1_500;
    const shortLived = await pki.issueDevice("device-short", {
      notBefore: new Date(expiresAt - 86_400_000),
      validDays: 1,
    });
    const t = await startTestServer(pki, { tls: mtls() });
    const ticket = await ticketFrom(t, { cert: shortLived.cert, key: shortLived.key });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 1_100));
    const device = await t.connect({ cert: shortLived.cert, key: shortLived.key, session: ticket });
    expect(device.resumed).toBe(true);
    await device.closed;
    expect((await t.nextError("PEER_CERTIFICATE_REJECTED")).message).toContain("certificate expired");
  });

  it("honours ticketLifetimeSec: an expired ticket leads to a full handshake", async () => {
    const t = await startTestServer(pki, {
      tls: { cert: pki.server.cert, key: pki.server.key, ticketLifetimeSec: 1 },
    });
    const ticket = await ticketFrom(t);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const device = await t.connect({ session: ticket });
    expect(device.resumed).toBe(false);
  });

  it("rejects invalid reload material and keeps serving with the old one", async () => {
    const t = await startTestServer(pki);
    const ticket = await ticketFrom(t);
    expect(() => t.server.reloadTls({ key: "not a key" })).toThrow(/invalid option tls\.cert\/key\/ca/);
    expect(() => t.server.reloadTls({ crl: "garbage" })).toThrow(
      /invalid option tls\.crl: no '-----BEGIN X509 CRL-----'/,
    );
    const device = await t.connect({ session: ticket });
    expect(device.resumed).toBe(true);
    const fresh = await t.connect();
    expect(fingerprintOf(fresh)).toBe(new X509Certificate(pki.server.cert).fingerprint256);
  });
});
