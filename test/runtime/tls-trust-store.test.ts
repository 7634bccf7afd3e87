/** The server's own chain verifier and CRL freshness, without sockets (times are given explicitly). */
import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { crlDersFromPem, parseCrlDer, RevocationList } from "../../runtime/src/tls/revocation.js";
import { CertificatePool, TrustStore } from "../../runtime/src/tls/trust-store.js";
import { issueCa, issueCrl, issueDeviceCert, issueIntermediateCa } from "../../src/certs/index.js";
import { makeTestPki } from "../helpers/pki.js";

const pki = await makeTestPki();
const DAY_MS = 86_400_000;
const now = Date.now();

function x509(pem: string): X509Certificate {
  return new X509Certificate(pem);
}

function pool(...pems: string[]): CertificatePool {
  const result = new CertificatePool();
  for (const pem of pems) result.add(x509(pem));
  return result;
}

describe("TrustStore", () => {
  it("verifies a leaf issued by a root of the bundle", () => {
    const store = TrustStore.fromPem([pki.ca.cert, pki.rootCa.cert]);
    const verdict = store.verify(x509(pki.device.cert), [], now);
    expect(verdict.trusted).toBe(true);
    expect(verdict.trusted && verdict.issuers.map((c) => c.subject)).toEqual(["CN=paynet test CA"]);
  });

  it("builds the chain through an intermediate sent by the peer or held in the bundle", () => {
    const leaf = x509(pki.chainDevice.cert);
    const sent = TrustStore.fromPem(pki.rootCa.cert).verify(leaf, [pool(pki.intermediateCa.cert)], now);
    expect(sent.trusted && sent.issuers.map((c) => c.subject)).toEqual([
      "CN=paynet test intermediate CA",
      "CN=paynet test root CA",
    ]);
    const bundled = TrustStore.fromPem([pki.intermediateCa.cert, pki.rootCa.cert]).verify(leaf, [], now);
    expect(bundled.trusted).toBe(true);
    const missing = TrustStore.fromPem(pki.rootCa.cert).verify(leaf, [], now);
    expect(missing).toEqual({
      trusted: false,
      reason: "issuer CN=paynet test intermediate CA of CN=device-101 is not in tls.ca",
    });
  });

  it("refuses a leaf whose issuer name matches a trusted CA but whose signature does not", async () => {
    const impostor = await issueCa({ commonName: "paynet test CA" });
    const forged = await issueDeviceCert(impostor, { commonName: "device-001" });
    const verdict = TrustStore.fromPem(pki.ca.cert).verify(x509(forged.cert), [], now);
    expect(verdict).toEqual({
      trusted: false,
      reason: "CN=device-001 is not signed by the CN=paynet test CA of tls.ca",
    });
  });

  it("refuses a chain through an expired intermediate, naming it", async () => {
    const root = await issueCa({
      commonName: "short root",
      pathLength: 1,
      notBefore: new Date(now - 20 * DAY_MS),
    });
    const intermediate = await issueIntermediateCa(root, {
      commonName: "short intermediate",
      notBefore: new Date(now - 10 * DAY_MS),
      validDays: 5,
    });
    const leaf = await issueDeviceCert(intermediate, {
      commonName: "device-x",
      notBefore: new Date(now - DAY_MS),
    });
    const store = TrustStore.fromPem(root.cert);
    const verdict = store.verify(x509(leaf.cert), [pool(intermediate.cert)], now);
    expect(verdict.trusted).toBe(false);
    expect(!verdict.trusted && verdict.reason).toMatch(/^CA certificate CN=short intermediate expired on /);
    // The same chain verified at a time inside the intermediate's validity.
    expect(store.verify(x509(leaf.cert), [pool(intermediate.cert)], now - 7 * DAY_MS).trusted).toBe(true);
  });

  it("rechecks a connected session from its issuer: still trusted, or its root gone", () => {
    const issuer = x509(pki.intermediateCa.cert);
    const remembered = [pool(pki.intermediateCa.cert)];
    expect(TrustStore.fromPem(pki.rootCa.cert).verifyIssuedBy(issuer, remembered, now).trusted).toBe(true);
    expect(TrustStore.fromPem(pki.ca.cert).verifyIssuedBy(issuer, remembered, now)).toEqual({
      trusted: false,
      reason: "issuer CN=paynet test root CA of CN=paynet test intermediate CA is not in tls.ca",
    });
    expect(TrustStore.fromPem(pki.rootCa.cert).verifyIssuedBy(x509(pki.ca.cert), [], now)).toEqual({
      trusted: false,
      reason: "root CN=paynet test CA is not in tls.ca",
    });
  });
});

describe("CRL freshness", () => {
  it("reads thisUpdate and nextUpdate", async () => {
    const thisUpdate = new Date(Math.floor(now / 1000) * 1000 - DAY_MS);
    const pem = await issueCrl(pki.ca, [], { thisUpdate, nextUpdateDays: 2 });
    const parsed = parseCrlDer(crlDersFromPem(pem)[0]!);
    expect(parsed.thisUpdate).toEqual(thisUpdate);
    expect(parsed.nextUpdate).toEqual(new Date(thisUpdate.getTime() + 2 * DAY_MS));
  });

  it("calls a CRL stale once past its nextUpdate, per issuer unless a fresh one of it is loaded too", async () => {
    const thisUpdate = new Date(now - DAY_MS);
    const [shortLived, fresh] = await Promise.all([
      issueCrl(pki.ca, [], { thisUpdate, nextUpdateDays: 2 }),
      issueCrl(pki.ca, [], { nextUpdateDays: 30 }),
    ]);
    const list = RevocationList.fromPem(shortLived);
    const [crl] = list.crls;
    expect(list.staleCrls(now)).toEqual([]);
    expect(list.staleCrls(now + 2 * DAY_MS)).toEqual([crl]);
    expect(list.staleCrlsOf(crl!.issuer, now + 2 * DAY_MS)).toEqual([crl]);
    const both = RevocationList.fromPem([shortLived, fresh]);
    expect(both.staleCrls(now + 2 * DAY_MS)).toHaveLength(1);
    expect(both.staleCrlsOf(crl!.issuer, now + 2 * DAY_MS)).toEqual([]);
  });
});
