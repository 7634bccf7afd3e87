import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type IssuedCert,
  issueCa,
  issueCrl,
  issueDeviceCert,
  issueServerCert,
} from "../../src/certs/index.js";
import { x509 } from "../../src/certs/x509.js";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const DAY_MS = 86_400_000;

/** Key usage bits and key identifiers are not exposed by Node, so read them with the library. */
function parsed(pem: string) {
  const cert = new x509.X509Certificate(pem);
  return {
    keyUsage: cert.getExtension(x509.KeyUsagesExtension)?.usages,
    keyUsageCritical: cert.getExtension(x509.KeyUsagesExtension)?.critical,
    basic: cert.getExtension(x509.BasicConstraintsExtension),
    ski: cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    aki: cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId,
    cn: cert.subjectName.getField("CN"),
  };
}

function keyMatchesCert(issued: IssuedCert): boolean {
  const fromKey = createPublicKey(issued.key).export({ type: "spki", format: "der" });
  const fromCert = new X509Certificate(issued.cert).publicKey.export({ type: "spki", format: "der" });
  return fromKey.equals(fromCert);
}

describe("issueCa", () => {
  let ca: IssuedCert;
  beforeAll(async () => {
    ca = await issueCa({ commonName: "unit CA" });
  });

  it("is a self-signed CA with CA key usages and key identifiers", () => {
    const cert = new X509Certificate(ca.cert);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe("CN=unit CA");
    expect(cert.issuer).toBe("CN=unit CA");
    expect(cert.verify(cert.publicKey)).toBe(true);
    const ext = parsed(ca.cert);
    expect(ext.basic?.ca).toBe(true);
    expect(ext.basic?.critical).toBe(true);
    expect(ext.basic?.pathLength).toBe(0);
    expect(ext.keyUsage! & x509.KeyUsageFlags.keyCertSign).toBeTruthy();
    expect(ext.keyUsage! & x509.KeyUsageFlags.cRLSign).toBeTruthy();
    expect(ext.keyUsageCritical).toBe(true);
    expect(ext.ski).toMatch(/^[0-9a-f]{40}$/);
    expect(ext.aki).toBe(ext.ski);
  });

  it("returns an ECDSA P-256 PKCS#8 key by default that belongs to the certificate", () => {
    expect(ca.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const key = createPrivateKey(ca.key);
    expect(key.asymmetricKeyType).toBe("ec");
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(keyMatchesCert(ca)).toBe(true);
  });

  it("reports the serial exactly as Node prints it: random, positive, 16 bytes", async () => {
    const other = await issueCa({ commonName: "unit CA" });
    for (const issued of [ca, other]) {
      expect(issued.serialNumber).toMatch(/^[1-7][0-9A-F]{31}$/);
      expect(new X509Certificate(issued.cert).serialNumber).toBe(issued.serialNumber);
    }
    expect(other.serialNumber).not.toBe(ca.serialNumber);
  });

  it("honours notBefore and validDays", async () => {
    const notBefore = new Date("2030-01-02T03:04:05Z");
    const cert = new X509Certificate((await issueCa({ commonName: "later", notBefore, validDays: 10 })).cert);
    expect(new Date(cert.validFrom).getTime()).toBe(notBefore.getTime());
    expect(new Date(cert.validTo).getTime()).toBe(notBefore.getTime() + 10 * DAY_MS);
  });

  it("defaults to 3650 days, starting a little before now", async () => {
    const before = Date.now();
    const cert = new X509Certificate(ca.cert);
    const from = new Date(cert.validFrom).getTime();
    expect(from).toBeLessThan(before);
    expect(from).toBeGreaterThan(before - 3_600_000);
    const days = (new Date(cert.validTo).getTime() - from) / DAY_MS;
    expect(Math.round(days)).toBe(3650);
  });

  it("encodes any common name verbatim", async () => {
    const cn = 'Zähler, Inc. + "CA"=1 /\\ 设备';
    expect(parsed((await issueCa({ commonName: cn })).cert).cn).toEqual([cn]);
  });

  it("rejects an empty common name and a non-positive validity", async () => {
    await expect(issueCa({ commonName: "" })).rejects.toThrow(/common name/);
    await expect(issueCa({ commonName: "c".repeat(65) })).rejects.toThrow(/at most 64/);
    await expect(issueCa({ commonName: "x", validDays: 0 })).rejects.toThrow(/validDays/);
    await expect(issueCa({ commonName: "x", validDays: Number.NaN })).rejects.toThrow(/validDays/);
  });
});

describe("issueServerCert", () => {
  let ca: IssuedCert;
  let otherCa: IssuedCert;
  let server: IssuedCert;
  beforeAll(async () => {
    [ca, otherCa] = await Promise.all([issueCa({ commonName: "srv CA" }), issueCa({ commonName: "other" })]);
    server = await issueServerCert(ca, {
      commonName: "paynet.local",
      altNames: ["api.example.com", "10.0.0.7", "::1"],
    });
  });

  it("is signed by the CA, not by another CA", () => {
    const cert = new X509Certificate(server.cert);
    expect(cert.issuer).toBe("CN=srv CA");
    expect(cert.checkIssued(new X509Certificate(ca.cert))).toBe(true);
    expect(cert.verify(new X509Certificate(ca.cert).publicKey)).toBe(true);
    expect(cert.verify(new X509Certificate(otherCa.cert).publicKey)).toBe(false);
    expect(keyMatchesCert(server)).toBe(true);
  });

  it("is a leaf for serverAuth only, with digitalSignature", () => {
    const cert = new X509Certificate(server.cert);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual([SERVER_AUTH]);
    const ext = parsed(server.cert);
    expect(ext.basic?.ca).toBe(false);
    expect(ext.keyUsage).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(ext.aki).toBe(parsed(ca.cert).ski);
    expect(ext.ski).not.toBe(ext.aki);
  });

  it("always carries the CN, localhost and 127.0.0.1, with IPs typed as IPs", () => {
    const cert = new X509Certificate(server.cert);
    expect(cert.subjectAltName).toBe(
      "DNS:paynet.local, DNS:localhost, IP Address:127.0.0.1, DNS:api.example.com, IP Address:10.0.0.7, " +
        "IP Address:0:0:0:0:0:0:0:1",
    );
    expect(cert.checkHost("paynet.local")).toBe("paynet.local");
    expect(cert.checkHost("localhost")).toBe("localhost");
    expect(cert.checkHost("api.example.com")).toBe("api.example.com");
    expect(cert.checkHost("evil.example.com")).toBeUndefined();
    expect(cert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(cert.checkIP("10.0.0.7")).toBe("10.0.0.7");
    expect(cert.checkIP("::1")).toBe("::1");
    expect(cert.checkIP("10.0.0.8")).toBeUndefined();
  });

  it("de-duplicates names and uses an IP common name as an IP SAN", async () => {
    const cert = new X509Certificate(
      (await issueServerCert(ca, { commonName: "192.168.1.5", altNames: ["LOCALHOST", "127.0.0.1"] })).cert,
    );
    expect(cert.subjectAltName).toBe("IP Address:192.168.1.5, DNS:localhost, IP Address:127.0.0.1");
  });

  it("leaves a CN that is not a host name out of the SANs", async () => {
    const cert = new X509Certificate((await issueServerCert(ca, { commonName: "Paynet server" })).cert);
    expect(cert.subject).toBe("CN=Paynet server");
    expect(cert.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1");
  });

  it("rejects an alt name that is neither a host name nor an IP", async () => {
    await expect(issueServerCert(ca, { commonName: "x", altNames: ["not a host"] })).rejects.toThrow(
      /not a DNS name or IP/,
    );
  });

  it("refuses to sign with a non-CA certificate or a key that does not belong to the CA", async () => {
    await expect(issueServerCert(server, { commonName: "x" })).rejects.toThrow(/not a CA/);
    await expect(issueServerCert({ ...ca, key: otherCa.key }, { commonName: "x" })).rejects.toThrow(
      /does not match/,
    );
  });
});

describe("issueDeviceCert", () => {
  let ca: IssuedCert;
  beforeAll(async () => {
    ca = await issueCa({ commonName: "dev CA" });
  });

  it("is a clientAuth leaf with DNS:<cn> when the CN is a host name", async () => {
    const device = await issueDeviceCert(ca, { commonName: "device-001" });
    const cert = new X509Certificate(device.cert);
    expect(cert.subject).toBe("CN=device-001");
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual([CLIENT_AUTH]);
    expect(cert.subjectAltName).toBe("DNS:device-001");
    expect(cert.verify(new X509Certificate(ca.cert).publicKey)).toBe(true);
  });

  it("has no SAN when the CN is not a host name", async () => {
    for (const cn of ["box 7 (lobby)", "a_b", "-dash", "设备"]) {
      const cert = new X509Certificate((await issueDeviceCert(ca, { commonName: cn })).cert);
      expect(cert.subjectAltName).toBeUndefined();
      expect(parsed(cert.toString()).cn).toEqual([cn]);
    }
  });

  it("defaults to 825 days", async () => {
    const cert = new X509Certificate((await issueDeviceCert(ca, { commonName: "d" })).cert);
    const from = new Date(cert.validFrom).getTime();
    expect(Math.round((new Date(cert.validTo).getTime() - from) / DAY_MS)).toBe(825);
  });
});

describe("RSA keys", () => {
  it("issues RSA 2048 leaves with keyEncipherment, also from an EC CA and vice versa", async () => {
    const [ecCa, rsaCa] = await Promise.all([
      issueCa({ commonName: "ec" }),
      issueCa({ commonName: "rsa", algorithm: "rsa-2048" }),
    ]);
    expect(createPrivateKey(rsaCa.key).asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(new x509.X509Certificate(rsaCa.cert).signatureAlgorithm).toMatchObject({
      name: "RSASSA-PKCS1-v1_5",
      hash: { name: "SHA-256" },
    });
    const rsaLeaf = await issueServerCert(ecCa, { commonName: "localhost", algorithm: "rsa-2048" });
    const ecLeaf = await issueDeviceCert(rsaCa, { commonName: "device-001" });
    expect(createPrivateKey(rsaLeaf.key).asymmetricKeyType).toBe("rsa");
    expect(parsed(rsaLeaf.cert).keyUsage).toBe(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
    );
    expect(new X509Certificate(rsaLeaf.cert).verify(new X509Certificate(ecCa.cert).publicKey)).toBe(true);
    expect(createPrivateKey(ecLeaf.key).asymmetricKeyType).toBe("ec");
    expect(new X509Certificate(ecLeaf.cert).verify(new X509Certificate(rsaCa.cert).publicKey)).toBe(true);
    expect(keyMatchesCert(rsaLeaf)).toBe(true);
  });

  it("issues RSA 4096 keys", async () => {
    const ca = await issueCa({ commonName: "big", algorithm: "rsa-4096" });
    expect(createPrivateKey(ca.key).asymmetricKeyDetails?.modulusLength).toBe(4096);
    expect(keyMatchesCert(ca)).toBe(true);
  });

  it("signs with a CA key in traditional (PKCS#1 / SEC1) PEM form, as other tools write it", async () => {
    const [rsaCa, ecCa] = await Promise.all([
      issueCa({ commonName: "rsa", algorithm: "rsa-2048" }),
      issueCa({ commonName: "ec" }),
    ]);
    for (const [ca, type] of [
      [rsaCa, "pkcs1"],
      [ecCa, "sec1"],
    ] as const) {
      const legacyKey = createPrivateKey(ca.key).export({ type, format: "pem" }).toString();
      expect(legacyKey).not.toContain("BEGIN PRIVATE KEY");
      const leaf = await issueDeviceCert({ ...ca, key: legacyKey }, { commonName: "d" });
      expect(new X509Certificate(leaf.cert).verify(new X509Certificate(ca.cert).publicKey)).toBe(true);
    }
  });
});

describe("issueCrl", () => {
  it("is a signed X509 CRL listing the revoked serials with their dates", async () => {
    const ca = await issueCa({ commonName: "crl CA" });
    const [a, b] = await Promise.all([
      issueDeviceCert(ca, { commonName: "a" }),
      issueDeviceCert(ca, { commonName: "b" }),
    ]);
    const revokedAt = new Date("2025-05-06T07:08:09Z");
    const thisUpdate = new Date("2025-06-01T00:00:00Z");
    const pem = await issueCrl(
      ca,
      [
        { serialNumber: a.serialNumber.toLowerCase() },
        { serialNumber: b.serialNumber.replace(/(..)(?!$)/g, "$1:"), revokedAt, reason: "keyCompromise" },
      ],
      { thisUpdate, nextUpdateDays: 7 },
    );
    expect(pem).toMatch(/^-----BEGIN X509 CRL-----\n[\s\S]+\n-----END X509 CRL-----\n?$/);
    const crl = new x509.X509Crl(pem.replace(/X509 CRL/g, "CRL"));
    expect(await crl.verify({ publicKey: new x509.X509Certificate(ca.cert) })).toBe(true);
    expect(crl.issuer).toBe("CN=crl CA");
    expect(crl.thisUpdate.getTime()).toBe(thisUpdate.getTime());
    expect(crl.nextUpdate?.getTime()).toBe(thisUpdate.getTime() + 7 * DAY_MS);
    const entries = crl.entries.map((e) => [
      e.serialNumber.toUpperCase(),
      e.revocationDate.getTime(),
      e.reason,
    ]);
    expect(entries).toEqual([
      [a.serialNumber, thisUpdate.getTime(), x509.X509CrlReason.unspecified],
      [b.serialNumber, revokedAt.getTime(), x509.X509CrlReason.keyCompromise],
    ]);
    expect(crl.getExtension("2.5.29.20")).toBeTruthy();
  });

  it("rejects a serial that is not hex", async () => {
    const ca = await issueCa({ commonName: "crl CA" });
    await expect(issueCrl(ca, [{ serialNumber: "xyz" }])).rejects.toThrow(/invalid serial/);
  });
});
