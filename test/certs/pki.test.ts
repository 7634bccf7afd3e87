import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { makeTestPki } from "../helpers/pki.js";
import { mtlsHandshake } from "./tls-harness.js";

describe("test PKI (test/helpers/pki.ts)", () => {
  it("is memoised per process", async () => {
    expect(await makeTestPki()).toBe(await makeTestPki());
  });

  it("has the documented subjects, issuers and validity", async () => {
    const pki = await makeTestPki();
    const ca = new X509Certificate(pki.ca.cert);
    const otherCa = new X509Certificate(pki.otherCa.cert);
    const cert = (pem: string) => new X509Certificate(pem);
    expect(cert(pki.server.cert).subject).toBe("CN=localhost");
    expect(cert(pki.server.cert).checkHost("paynet.local")).toBe("paynet.local");
    expect(cert(pki.serverNew.cert).checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(pki.serverNew.serialNumber).not.toBe(pki.server.serialNumber);
    expect(cert(pki.device.cert).subject).toBe("CN=device-001");
    expect(cert(pki.device2.cert).subject).toBe("CN=device-002");
    for (const leaf of [
      pki.server,
      pki.serverNew,
      pki.device,
      pki.device2,
      pki.expiredDevice,
      pki.revokedDevice,
    ]) {
      expect(cert(leaf.cert).verify(ca.publicKey)).toBe(true);
    }
    expect(cert(pki.foreignDevice.cert).verify(otherCa.publicKey)).toBe(true);
    expect(cert(pki.foreignDevice.cert).verify(ca.publicKey)).toBe(false);
    expect(new Date(cert(pki.expiredDevice.cert).validTo).getTime()).toBeLessThan(Date.now());
    expect(pki.crl).toMatch(/^-----BEGIN X509 CRL-----\n/);
    expect(pki.emptyCrl).toMatch(/^-----BEGIN X509 CRL-----\n/);
  });

  it("issueDevice issues from the main CA or from a given CA", async () => {
    const pki = await makeTestPki();
    const own = new X509Certificate((await pki.issueDevice("device-xyz")).cert);
    const foreign = new X509Certificate((await pki.issueDevice("device-abc", { ca: pki.otherCa })).cert);
    expect(own.subject).toBe("CN=device-xyz");
    expect(own.verify(new X509Certificate(pki.ca.cert).publicKey)).toBe(true);
    expect(foreign.verify(new X509Certificate(pki.otherCa.cert).publicKey)).toBe(true);
  });

  describe("Node's tls (real mTLS on 127.0.0.1)", () => {
    const serverWith = async (extra: { crl?: string } = {}) => {
      const pki = await makeTestPki();
      return { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, ...extra };
    };
    const clientWith = async (device: { cert: string; key: string }) => {
      const pki = await makeTestPki();
      return { ca: pki.ca.cert, cert: device.cert, key: device.key, servername: "localhost" };
    };

    it("accepts device and device2, and the hot-reload server certificate", async () => {
      const pki = await makeTestPki();
      expect(await mtlsHandshake(await serverWith(), await clientWith(pki.device))).toMatchObject({
        ok: true,
        peerSubjectCN: "device-001",
      });
      const reloaded = { ...(await serverWith()), cert: pki.serverNew.cert, key: pki.serverNew.key };
      expect(await mtlsHandshake(reloaded, await clientWith(pki.device2))).toMatchObject({
        ok: true,
        peerSubjectCN: "device-002",
      });
    });

    it("refuses the foreign, expired and revoked devices (requestCert + rejectUnauthorized)", async () => {
      const pki = await makeTestPki();
      const withCrl = await serverWith({ crl: pki.crl });
      for (const device of [pki.foreignDevice, pki.expiredDevice, pki.revokedDevice]) {
        expect(await mtlsHandshake(withCrl, await clientWith(device))).toMatchObject({ ok: false });
      }
    });

    it("names the reason for each refusal", async () => {
      const pki = await makeTestPki();
      const withCrl = await serverWith({ crl: pki.crl });
      const reason = async (device: { cert: string; key: string }) =>
        mtlsHandshake(withCrl, await clientWith(device), { enforce: false });
      expect(await reason(pki.foreignDevice)).toEqual({
        ok: false,
        reason: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      });
      expect(await reason(pki.expiredDevice)).toEqual({ ok: false, reason: "CERT_HAS_EXPIRED" });
      expect(await reason(pki.revokedDevice)).toEqual({ ok: false, reason: "CERT_REVOKED" });
    });

    it("the empty CRL revokes nothing", async () => {
      const pki = await makeTestPki();
      const outcome = await mtlsHandshake(
        await serverWith({ crl: pki.emptyCrl }),
        await clientWith(pki.revokedDevice),
      );
      expect(outcome).toMatchObject({ ok: true, peerSubjectCN: "device-revoked" });
    });

    it("the CRL leaves unrevoked devices alone", async () => {
      const pki = await makeTestPki();
      const outcome = await mtlsHandshake(await serverWith({ crl: pki.crl }), await clientWith(pki.device));
      expect(outcome).toMatchObject({ ok: true, peerSubjectCN: "device-001" });
    });
  });
});
