import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  certificateIssuerAndSerial,
  crlDersFromPem,
  parseCrlDer,
  RevocationList,
} from "../../runtime/src/tls/revocation.js";
import { issueCrl, issueServerCert } from "../../src/certs/index.js";
import { setUpServerTests, startTestServer } from "../helpers/test-server.js";

const pki = await setUpServerTests();

function derOf(pem: string): Buffer {
  return new X509Certificate(pem).raw;
}

describe("CRL parsing", () => {
  it("reads the issuer and revoked serials of a CRL", () => {
    const [der] = crlDersFromPem(pki.crl);
    const parsed = parseCrlDer(der!);
    expect(parsed.serials).toEqual([pki.revokedDevice.serialNumber.replace(/^0+/, "")]);
    expect(parsed.issuer).toBe(certificateIssuerAndSerial(derOf(pki.revokedDevice.cert)).issuer);
    expect(parseCrlDer(crlDersFromPem(pki.emptyCrl)[0]!).serials).toEqual([]);
  });

  it("matches certificates by issuer and serial", () => {
    const list = RevocationList.fromPem(pki.crl);
    expect(list.size).toBe(1);
    expect(list.isRevoked(derOf(pki.revokedDevice.cert))).toBe(true);
    expect(list.isRevoked(derOf(pki.device.cert))).toBe(false);
    expect(list.isRevoked(derOf(pki.foreignDevice.cert))).toBe(false);
  });

  it("does not confuse equal serials of different issuers", async () => {
    const otherCaCrl = await issueCrl(pki.otherCa, [{ serialNumber: pki.device.serialNumber }]);
    const list = RevocationList.fromPem(otherCaCrl);
    expect(list.isRevoked(derOf(pki.device.cert))).toBe(false);
  });

  it("merges several CRLs and refuses input without a CRL or with a broken one", () => {
    const both = RevocationList.fromPem([pki.crl, pki.emptyCrl]);
    expect(both.size).toBe(1);
    expect(() => RevocationList.fromPem("nothing here")).toThrow(/no '-----BEGIN X509 CRL-----' block/);
    const broken = "-----BEGIN X509 CRL-----\nMAMCAQA=\n-----END X509 CRL-----\n";
    expect(() => RevocationList.fromPem(broken)).toThrow(/CRL #1 is malformed/);
  });
});

describe("certificate expiry warnings", () => {
  it("warns at start when the server certificate expires within 30 days", async () => {
    const soon = await issueServerCert(pki.ca, { commonName: "localhost", validDays: 20 });
    const t = await startTestServer(pki, { tls: { cert: soon.cert, key: soon.key } });
    const warning = t.logger.lines.find((l) => l.message === "server certificate expires soon");
    expect(warning?.level).toBe("warn");
    expect(warning?.fields?.daysLeft).toBeLessThanOrEqual(20);
    expect(String(warning?.fields?.subject)).toContain("CN=localhost");
  });

  it("does not warn for a certificate valid for longer, and warns after reloading a short-lived one", async () => {
    const t = await startTestServer(pki);
    expect(t.logger.lines.some((l) => l.message === "server certificate expires soon")).toBe(false);
    const soon = await issueServerCert(pki.ca, { commonName: "localhost", validDays: 5 });
    t.server.reloadTls({ cert: soon.cert, key: soon.key });
    expect(t.logger.lines.some((l) => l.message === "server certificate expires soon")).toBe(true);
  });
});

describe("revocation of connected sessions", () => {
  it("closes a session whose certificate a reloaded CRL revokes, with PEER_CERTIFICATE_REJECTED", async () => {
    const t = await startTestServer(pki, {
      tls: {
        cert: pki.server.cert,
        key: pki.server.key,
        ca: pki.ca.cert,
        crl: pki.emptyCrl,
        requireClientCert: true,
      },
    });
    const revoked = await t.connect({ cert: pki.revokedDevice.cert, key: pki.revokedDevice.key });
    const revokedSession = await t.nextSession();
    await t.connect({ cert: pki.device.cert, key: pki.device.key });
    const keptSession = await t.nextSession();

    t.server.reloadTls({ crl: pki.crl });
    const reason = await t.offlineReason(revokedSession);
    expect(reason.code).toBe("PEER_CERTIFICATE_REJECTED");
    expect(reason.message).toContain("certificate revoked");
    const error = await t.nextError("PEER_CERTIFICATE_REJECTED");
    expect(t.errors.find((e) => e.error === error)?.session).toBe(revokedSession);
    await revoked.closed;
    expect(t.offline.some((o) => o.session === keptSession)).toBe(false);
    expect([...t.server.sessions()]).toEqual([keptSession]);
  });
});
