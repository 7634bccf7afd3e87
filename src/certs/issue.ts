import { createPublicKey, X509Certificate as NodeX509Certificate, randomBytes } from "node:crypto";
import { isIP } from "node:net";
import { exportPrivateKeyPem, generateKey, importSigningKey, type SigningKey } from "./keys.js";
import { commonNameProblem, isDnsName, toAltNames } from "./names.js";
import {
  type CaOptions,
  type CrlOptions,
  DEFAULT_CA_DAYS,
  DEFAULT_CRL_DAYS,
  DEFAULT_LEAF_DAYS,
  type DeviceCertOptions,
  type IssuedCert,
  type KeyAlgorithm,
  REVOCATION_REASON_CODES,
  type RevocationReason,
  type RevokedEntry,
  type ServerCertOptions,
} from "./types.js";
import { x509 } from "./x509.js";

const DAY_MS = 86_400_000;
/** Default backdating of notBefore, so a device whose clock runs a little behind still accepts. */
const CLOCK_SKEW_MS = 5 * 60_000;
const OID_CRL_NUMBER = "2.5.29.20";
const OID_REASON_CODE = "2.5.29.21";

/**
 * Issues a self-signed certification authority: basicConstraints CA:true with pathLen
 * `options.pathLength` (default 0: it signs only leaf certificates), keyUsage keyCertSign + cRLSign,
 * subject and authority key identifiers.
 */
export async function issueCa(options: CaOptions): Promise<IssuedCert> {
  return issueCaCertificate(undefined, options);
}

/**
 * Issues an intermediate CA signed by `parent` (which needs pathLen of at least 1, see
 * {@link CaOptions.pathLength}): the same extensions as {@link issueCa}, with the parent's key
 * identifier as authority key identifier. Devices under it send it along with their certificate.
 */
export async function issueIntermediateCa(parent: IssuedCert, options: CaOptions): Promise<IssuedCert> {
  return issueCaCertificate(parent, options);
}

async function issueCaCertificate(parent: IssuedCert | undefined, options: CaOptions): Promise<IssuedCert> {
  const pathLength = options.pathLength ?? 0;
  if (!Number.isInteger(pathLength) || pathLength < 0) {
    throw new Error(`pathLength must be a non-negative integer, got ${pathLength}`);
  }
  const { notBefore, notAfter } = validity(options, DEFAULT_CA_DAYS);
  const { keys, signingAlgorithm } = await generateKey(options.algorithm ?? "ec-p256");
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const extensions = [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
      true,
    ),
    ski,
  ];
  const serialNumber = randomSerial();
  if (parent === undefined) {
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber,
      name: subjectName(options.commonName),
      notBefore,
      notAfter,
      signingAlgorithm,
      keys,
      extensions: [...extensions, new x509.AuthorityKeyIdentifierExtension(ski.keyId)],
    });
    return { cert: cert.toString("pem"), key: await exportPrivateKeyPem(keys.privateKey), serialNumber };
  }
  const { caCert, signer } = await loadCa(parent);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject: subjectName(options.commonName),
    issuer: caCert.subjectName,
    notBefore,
    notAfter,
    signingAlgorithm: signer.signingAlgorithm,
    signingKey: signer.key,
    publicKey: keys.publicKey,
    extensions: [...extensions, new x509.AuthorityKeyIdentifierExtension(await caKeyId(caCert))],
  });
  return { cert: cert.toString("pem"), key: await exportPrivateKeyPem(keys.privateKey), serialNumber };
}

/**
 * Issues a TLS server certificate signed by `ca`: EKU serverAuth, and SANs made of the common
 * name (when it is a host name or IP), `localhost`, `127.0.0.1` and `altNames`.
 */
export async function issueServerCert(ca: IssuedCert, options: ServerCertOptions): Promise<IssuedCert> {
  const cn = options.commonName;
  const candidates = [...(isDnsName(cn) || isIP(cn) !== 0 ? [cn] : []), "localhost", "127.0.0.1"];
  const altNames = toAltNames([...candidates, ...(options.altNames ?? [])]);
  return issueLeaf(ca, options, x509.ExtendedKeyUsage.serverAuth, altNames);
}

/**
 * Issues a device (TLS client) certificate signed by `ca`: EKU clientAuth, and a DNS SAN equal to
 * the common name only when the common name is a valid host name.
 */
export async function issueDeviceCert(ca: IssuedCert, options: DeviceCertOptions): Promise<IssuedCert> {
  const cn = options.commonName;
  const altNames = isDnsName(cn) ? toAltNames([cn]) : [];
  return issueLeaf(ca, options, x509.ExtendedKeyUsage.clientAuth, altNames);
}

/**
 * Issues a PEM X.509 v2 CRL signed by `ca` listing `revoked` (an empty list is a valid CRL that
 * revokes nothing). Carries an authority key identifier and a CRL number that grows with time.
 */
export async function issueCrl(
  ca: IssuedCert,
  revoked: readonly RevokedEntry[],
  options: CrlOptions = {},
): Promise<string> {
  const { caCert, signer } = await loadCa(ca);
  const thisUpdate = options.thisUpdate ?? new Date();
  const nextUpdateDays = positiveDays(options.nextUpdateDays ?? DEFAULT_CRL_DAYS, "nextUpdateDays");
  const crl = await x509.X509CrlGenerator.create({
    issuer: caCert.subjectName,
    thisUpdate,
    nextUpdate: new Date(thisUpdate.getTime() + nextUpdateDays * DAY_MS),
    signingKey: signer.key,
    signingAlgorithm: signer.signingAlgorithm,
    extensions: [
      new x509.AuthorityKeyIdentifierExtension(await caKeyId(caCert)),
      new x509.Extension(OID_CRL_NUMBER, false, derPositiveInteger(Math.floor(thisUpdate.getTime() / 1000))),
    ],
    entries: revoked.map((entry) => ({
      serialNumber: normaliseSerial(entry.serialNumber),
      revocationDate: entry.revokedAt ?? thisUpdate,
      // Always one entry extension: without any, the library writes an empty crlEntryExtensions
      // SEQUENCE, which DER forbids (OpenSSL tolerates it, stricter parsers do not).
      extensions: [reasonCodeExtension(entry.reason ?? "unspecified")],
    })),
  });
  // OpenSSL (hence Node's tls) only reads the "X509 CRL" PEM label, not the library's "CRL".
  return x509.PemConverter.encode(crl.rawData, "X509 CRL");
}

async function issueLeaf(
  ca: IssuedCert,
  options: ServerCertOptions | DeviceCertOptions,
  usage: x509.ExtendedKeyUsage,
  altNames: ReturnType<typeof toAltNames>,
): Promise<IssuedCert> {
  const { notBefore, notAfter } = validity(options, DEFAULT_LEAF_DAYS);
  const { caCert, signer } = await loadCa(ca);
  const algorithm: KeyAlgorithm = options.algorithm ?? "ec-p256";
  const { keys } = await generateKey(algorithm);
  // RSA keys may be used for key transport by TLS 1.2 peers; EC keys only sign.
  const keyUsage = algorithm.startsWith("rsa")
    ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
    : x509.KeyUsageFlags.digitalSignature;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(keyUsage, true),
    new x509.ExtendedKeyUsageExtension([usage], false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    new x509.AuthorityKeyIdentifierExtension(await caKeyId(caCert)),
  ];
  if (altNames.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        altNames.map((n) => ({ ...n })),
        false,
      ),
    );
  }
  const serialNumber = randomSerial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject: subjectName(options.commonName),
    issuer: caCert.subjectName,
    notBefore,
    notAfter,
    signingAlgorithm: signer.signingAlgorithm,
    signingKey: signer.key,
    publicKey: keys.publicKey,
    extensions,
  });
  return { cert: cert.toString("pem"), key: await exportPrivateKeyPem(keys.privateKey), serialNumber };
}

/** Parses the CA and checks it can sign: a CA certificate whose key matches `ca.key`. */
async function loadCa(ca: IssuedCert): Promise<{ caCert: x509.X509Certificate; signer: SigningKey }> {
  const nodeCert = new NodeX509Certificate(ca.cert);
  if (!nodeCert.ca)
    throw new Error(`certificate ${nodeCert.subject} is not a CA (basicConstraints CA:false)`);
  const certSpki = nodeCert.publicKey.export({ type: "spki", format: "der" });
  const keySpki = createPublicKey(ca.key).export({ type: "spki", format: "der" });
  if (!certSpki.equals(keySpki)) throw new Error("the CA private key does not match the CA certificate");
  return { caCert: new x509.X509Certificate(ca.cert), signer: await importSigningKey(ca.key) };
}

async function caKeyId(caCert: x509.X509Certificate): Promise<string> {
  const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return ski.keyId;
  return (await x509.SubjectKeyIdentifierExtension.create(caCert.publicKey)).keyId;
}

function subjectName(commonName: string): x509.Name {
  const problem = commonNameProblem(commonName);
  if (problem !== undefined) throw new Error(problem);
  // Built from JSON, the value is encoded verbatim (a "CN=..." string would be parsed and break on ','
  // or '+'); UTF8String as RFC 5280 asks, since the library's default PrintableString mangles non-ASCII.
  return new x509.Name([{ CN: [{ utf8String: commonName }] }]);
}

function validity(options: CaOptions, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const days = positiveDays(options.validDays ?? defaultDays, "validDays");
  const start = options.notBefore ?? new Date();
  const notBefore = options.notBefore ?? new Date(start.getTime() - CLOCK_SKEW_MS);
  return { notBefore, notAfter: new Date(start.getTime() + days * DAY_MS) };
}

function positiveDays(days: number, what: string): number {
  if (!Number.isFinite(days) || days <= 0) throw new Error(`${what} must be a positive number, got ${days}`);
  return days;
}

/**
 * 16 random bytes with the first byte in 0x10..0x7F: positive (no sign padding) and no leading zero
 * nibble, so the hex is exactly what Node's `X509Certificate.serialNumber` reports.
 */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = 0x10 + (bytes[0]! % 0x70);
  return bytes.toString("hex").toUpperCase();
}

function normaliseSerial(serial: string): string {
  const hex = serial.replace(/:/g, "").toUpperCase();
  if (!/^[0-9A-F]+$/.test(hex)) throw new Error(`invalid serial number ${JSON.stringify(serial)}`);
  return hex.length % 2 === 0 ? hex : `0${hex}`;
}

function reasonCodeExtension(reason: RevocationReason): x509.Extension {
  const code = REVOCATION_REASON_CODES[reason];
  if (code === undefined) throw new Error(`unknown revocation reason ${JSON.stringify(reason)}`);
  // CRLReason ::= ENUMERATED
  return new x509.Extension(OID_REASON_CODE, false, new Uint8Array([0x0a, 0x01, code]).buffer);
}

function derPositiveInteger(value: number): ArrayBuffer {
  const bytes: number[] = [];
  let rest = value;
  do {
    bytes.unshift(rest & 0xff);
    rest = Math.floor(rest / 256);
  } while (rest > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return new Uint8Array([0x02, bytes.length, ...bytes]).buffer;
}
