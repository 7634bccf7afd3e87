/**
 * Trust changes take effect on every handshake, resumed ones included, and on connected sessions:
 * a dropped CA, a revoked intermediate CA, stale CRLs, under TLS 1.3 and the TLS 1.2 opt-in.
 */
import { describe, expect, it } from "vitest";
import { PeerCertificateRejectedError } from "../../runtime/src/errors.js";
import type { ServerTlsOptions } from "../../runtime/src/server/types.js";
import { issueCrl } from "../../src/certs/index.js";
import type { IssuedCert } from "../helpers/pki.js";
import { setUpServerTests, startTestServer, type TestServer } from "../helpers/test-server.js";

const pki = await setUpServerTests();
const DAY_MS = 86_400_000;

/** mTLS trusting both roots: `pki.ca` (device-001, ...) and `pki.rootCa` (device-101 via the intermediate). */
function mtls(extra: Partial<ServerTlsOptions> = {}): ServerTlsOptions {
  return {
    cert: pki.server.cert,
    key: pki.server.key,
    ca: [pki.ca.cert, pki.rootCa.cert],
    requireClientCert: true,
    ...extra,
  };
}

function credentials(
  cert: IssuedCert,
  maxVersion?: "TLSv1.2",
): { cert: string; key: string; maxVersion?: "TLSv1.2" } {
  return { cert: cert.cert, key: cert.key, ...(maxVersion === undefined ? {} : { maxVersion }) };
}

/** Connects with a full handshake, waits for the session and a ticket, closes; returns the ticket. */
async function ticketOf(t: TestServer, device: IssuedCert, maxVersion?: "TLSv1.2"): Promise<Buffer> {
  const raw = await t.connect(credentials(device, maxVersion));
  expect(raw.resumed).toBe(false);
  const ticket = await raw.waitForTicket();
  await t.nextSession();
  await raw.close();
  return ticket;
}

/** Resumes with `ticket` and expects the server to refuse; returns the refusal. */
async function refusedResumption(
  t: TestServer,
  device: IssuedCert,
  ticket: Buffer,
  maxVersion?: "TLSv1.2",
): Promise<PeerCertificateRejectedError> {
  const before = t.errors.length;
  const raw = await t.connect({ ...credentials(device, maxVersion), session: ticket });
  // The ticket was accepted by TLS: the refusal comes from the server's own check.
  expect(raw.resumed).toBe(true);
  await raw.closed;
  const error = await t.nextError("PEER_CERTIFICATE_REJECTED");
  expect(t.errors.length).toBeGreaterThan(before);
  expect(error).toBeInstanceOf(PeerCertificateRejectedError);
  return error as PeerCertificateRejectedError;
}

/** Resumes with `ticket` and expects to be let in; returns the server session. */
async function acceptedResumption(t: TestServer, device: IssuedCert, ticket: Buffer, maxVersion?: "TLSv1.2") {
  const raw = await t.connect({ ...credentials(device, maxVersion), session: ticket });
  expect(raw.resumed).toBe(true);
  const session = await t.nextSession();
  expect(session.resumed).toBe(true);
  return session;
}

describe("a CA dropped by reloadTls", () => {
  it("refuses resumed sessions of its devices and still resumes devices of the CA kept", async () => {
    const t = await startTestServer(pki, { tls: mtls() });
    const dropped = await ticketOf(t, pki.device);
    const kept = await ticketOf(t, pki.chainDevice);

    t.server.reloadTls({ ca: pki.rootCa.cert });

    const error = await refusedResumption(t, pki.device, dropped);
    expect(error.rejection).toBe("untrusted");
    expect(error.message).toContain(
      "certificate chain does not verify: issuer CN=paynet test CA of CN=device-001 is not in tls.ca",
    );
    // The device of the kept root resumes: its intermediate was remembered from its full handshake.
    const session = await acceptedResumption(t, pki.chainDevice, kept);
    expect(session.identity?.commonName).toBe("device-101");
    expect(t.server.stats().handshakes).toMatchObject({ full: 2, resumed: 2 });
    expect(t.server.stats().tls.rejections.untrusted).toBe(1);
    const line = t.logger.lines.find((l) => l.message === error.message);
    expect(line?.level).toBe("warn");
    expect(line?.fields).toMatchObject({
      commonName: "device-001",
      rejection: "untrusted",
      resumed: true,
      fingerprint256: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/),
    });
    // A full handshake of the dropped CA's device is refused by OpenSSL's own check.
    await expect(t.connect(credentials(pki.device)).then((raw) => raw.closed)).resolves.toBeUndefined();
    expect((await t.nextError("PEER_CERTIFICATE_REJECTED")).message).toMatch(
      /certificate verification failed|certificate chain does not verify/,
    );
  });

  it("refuses a resumed session whose device sent its intermediate, once the intermediate's root is dropped", async () => {
    const t = await startTestServer(pki, { tls: mtls() });
    const ticket = await ticketOf(t, pki.chainDevice);
    t.server.reloadTls({ ca: pki.ca.cert });
    const error = await refusedResumption(t, pki.chainDevice, ticket);
    expect(error.message).toContain(
      "issuer CN=paynet test root CA of CN=paynet test intermediate CA is not in tls.ca",
    );
    // Devices of the kept CA resume across the same reload.
    const keptTicket = await ticketOf(t, pki.device);
    await acceptedResumption(t, pki.device, keptTicket);
  });

  it("closes connected sessions whose chain no longer verifies, and only those", async () => {
    const t = await startTestServer(pki, { tls: mtls() });
    const droppedRaw = await t.connect(credentials(pki.device));
    const dropped = await t.nextSession();
    await t.connect(credentials(pki.chainDevice));
    const kept = await t.nextSession();

    // Reloading only the server certificate leaves the trust alone: nobody is closed.
    t.server.reloadTls({ cert: pki.serverNew.cert, key: pki.serverNew.key });
    t.server.reloadTls({ ca: pki.rootCa.cert });

    const reason = await t.offlineReason(dropped);
    expect(reason).toBeInstanceOf(PeerCertificateRejectedError);
    expect((reason as PeerCertificateRejectedError).rejection).toBe("untrusted");
    expect(reason.message).toContain(
      "certificate chain does not verify: root CN=paynet test CA is not in tls.ca",
    );
    expect(t.errors.find((e) => e.error === reason)?.session).toBe(dropped);
    await droppedRaw.closed;
    expect([...t.server.sessions()]).toEqual([kept]);
    const line = t.logger.lines.find((l) => l.message === `${reason.message}; closing the session`);
    expect(line?.fields).toMatchObject({
      conn: dropped.id,
      commonName: "device-001",
      rejection: "untrusted",
    });
  });
});

describe("a CA bundle added to a pinning server by reloadTls", () => {
  it("keeps the sessions whose certificate chains to it and closes the others", async () => {
    const t = await startTestServer(pki, {
      tls: { cert: pki.server.cert, key: pki.server.key, requireClientCert: true, verifyPeer: () => true },
    });
    await t.connect(credentials(pki.device));
    const chained = await t.nextSession();
    await t.connect(credentials(pki.foreignDevice));
    const foreign = await t.nextSession();

    t.server.reloadTls({ ca: pki.ca.cert });

    const reason = await t.offlineReason(foreign);
    expect(reason.message).toContain("issuer CN=other CA of CN=device-001 is not in tls.ca");
    expect([...t.server.sessions()]).toEqual([chained]);
  });
});

describe("a revoked intermediate CA", () => {
  async function crls(revokeIntermediate: boolean): Promise<string[]> {
    return Promise.all([
      issueCrl(pki.rootCa, revokeIntermediate ? [{ serialNumber: pki.intermediateCa.serialNumber }] : []),
      issueCrl(pki.intermediateCa, []),
    ]);
  }

  it("locks out its devices: connected sessions, resumed and full handshakes", async () => {
    const t = await startTestServer(pki, { tls: mtls({ crl: await crls(false) }) });
    const ticket = await ticketOf(t, pki.chainDevice);
    const connectedRaw = await t.connect(credentials(pki.chainDevice));
    const connected = await t.nextSession();
    const otherRaw = await t.connect(credentials(pki.device));
    const other = await t.nextSession();

    t.server.reloadTls({ crl: await crls(true) });

    const expected = "CA certificate CN=paynet test intermediate CA of its chain is revoked";
    const reason = await t.offlineReason(connected);
    expect((reason as PeerCertificateRejectedError).rejection).toBe("revoked");
    expect(reason.message).toContain(expected);
    await connectedRaw.closed;

    const resumed = await refusedResumption(t, pki.chainDevice, ticket);
    expect(resumed.rejection).toBe("revoked");
    expect(resumed.message).toContain(expected);

    const full = await t.connect(credentials(pki.chainDevice));
    expect(full.resumed).toBe(false);
    await full.closed;
    const errors = t.errors.filter((e) => e.error.message.includes(expected));
    expect(errors).toHaveLength(3);
    // Devices of other CAs are untouched.
    expect(otherRaw.isClosed).toBe(false);
    expect([...t.server.sessions()]).toEqual([other]);
    expect(t.server.stats().tls).toMatchObject({ crls: 2, revokedCertificates: 1 });
    expect(t.server.stats().tls.rejections.revoked).toBe(3);
  });
});

describe("stale CRLs", () => {
  /** A CRL of `pki.ca` whose nextUpdate was yesterday. */
  function staleCrl(): Promise<string> {
    return issueCrl(pki.ca, [], { thisUpdate: new Date(Date.now() - 2 * DAY_MS), nextUpdateDays: 1 });
  }

  it("warn (default): logs it once, flags it in stats and lets devices in", async () => {
    const t = await startTestServer(pki, { tls: mtls({ crl: await staleCrl() }) });
    const warning = "CRL #1 (issuer CN=paynet test CA) is past its nextUpdate";
    const lines = () => t.logger.lines.filter((l) => l.message.startsWith(warning));
    expect(lines()).toHaveLength(1);
    expect(lines()[0]?.level).toBe("warn");
    expect(lines()[0]?.message).toContain('devices are still let in (tls.staleCrl "warn")');
    await t.connect(credentials(pki.device));
    expect((await t.nextSession()).identity?.commonName).toBe("device-001");
    await t.connect(credentials(pki.device2));
    await t.nextSession();
    expect(lines()).toHaveLength(1);
    expect(t.server.stats().tls).toMatchObject({ crls: 1, staleCrls: 1, staleCrlPolicy: "warn" });

    // A fresh CRL clears the flag.
    t.server.reloadTls({ crl: pki.emptyCrl });
    expect(t.server.stats().tls.staleCrls).toBe(0);
  });

  it("logs a CRL that goes stale while the server runs, without any connection", async () => {
    // thisUpdate a day ago, nextUpdate 1.5 s from now.
    const thisUpdate = new Date(Date.now() - DAY_MS + 1_500);
    const crl = await issueCrl(pki.ca, [], { thisUpdate, nextUpdateDays: 1 });
    const t = await startTestServer(pki, { tls: mtls({ crl }) });
    expect(t.server.stats().tls.staleCrls).toBe(0);
    const stale = new Promise<void>((resolve) => {
      const warn = t.logger.warn;
      t.logger.warn = (fields, message) => {
        warn(fields, message);
        if (message.includes("is past its nextUpdate")) resolve();
      };
    });
    await stale;
    expect(t.server.stats().tls.staleCrls).toBe(1);
  });

  it("fail: refuses devices under the stale CRL's issuer, full and resumed, and no others", async () => {
    const t = await startTestServer(pki, { tls: mtls({ crl: pki.emptyCrl, staleCrl: "fail" }) });
    const ticket = await ticketOf(t, pki.device);
    t.server.reloadTls({ crl: await staleCrl() });
    expect(t.logger.lines.some((l) => l.message.includes("devices under its issuer are refused"))).toBe(true);

    const resumed = await refusedResumption(t, pki.device, ticket);
    expect(resumed.rejection).toBe("stale-crl");
    expect(resumed.message).toMatch(
      /CRL #1 \(issuer CN=paynet test CA\) is past its nextUpdate \(\d{4}-\d\d-\d\dT[\d:.]+Z\) and tls\.staleCrl is "fail"/,
    );
    const full = await t.connect(credentials(pki.device2));
    await full.closed;
    expect(t.errors.filter((e) => e.error.message.includes('tls.staleCrl is "fail"'))).toHaveLength(2);
    // The root CA's devices have no stale CRL on their chain.
    await t.connect(credentials(pki.chainDevice));
    expect((await t.nextSession()).identity?.commonName).toBe("device-101");
    expect(t.server.stats().tls).toMatchObject({ staleCrls: 1, staleCrlPolicy: "fail" });
    expect(t.server.stats().tls.rejections["stale-crl"]).toBe(2);
  });
});

describe("TLS 1.2 opt-in", () => {
  it("applies the same re-verification to resumed TLS 1.2 sessions", async () => {
    const t = await startTestServer(pki, { tls: mtls({ minVersion: "TLSv1.2" }) });
    const dropped = await ticketOf(t, pki.device, "TLSv1.2");
    const kept = await ticketOf(t, pki.chainDevice, "TLSv1.2");
    t.server.reloadTls({ ca: pki.rootCa.cert });
    const error = await refusedResumption(t, pki.device, dropped, "TLSv1.2");
    expect(error.rejection).toBe("untrusted");
    const session = await acceptedResumption(t, pki.chainDevice, kept, "TLSv1.2");
    expect(session.identity?.commonName).toBe("device-101");
  });

  it("keeps TLS 1.2 refused after a reload of a default server", async () => {
    const t = await startTestServer(pki, { tls: mtls() });
    t.server.reloadTls({ ca: pki.ca.cert });
    await expect(t.connect({ ...credentials(pki.device), maxVersion: "TLSv1.2" })).rejects.toThrow();
    expect((await t.nextError("HANDSHAKE_FAILED")).message).toMatch(/unsupported protocol/);
  });
});
