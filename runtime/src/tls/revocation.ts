/**
 * Certificate revocation by CRL, checked by the server itself on every connection. OpenSSL checks
 * CRLs only during a full handshake; a resumed TLS session skips them, so a device revoked after it
 * got its ticket would otherwise get back in. Entries are keyed by issuer Name and serial, because
 * serials are only unique per issuer.
 *
 * The CRL is operator configuration (like the CA bundle), so its signature is not re-verified here.
 */
import { childrenOf, DerTag, elementHex, expectElement, integerHex, readElement } from "./der.js";

type PemInput = string | Buffer | ReadonlyArray<string | Buffer>;

const PEM_CRL = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/g;

/** Issuer and serials of one CRL. */
export interface ParsedCrl {
  /** DER of the issuer Name, hex. */
  readonly issuer: string;
  /** Revoked serials: upper-case hex, no leading zeros. */
  readonly serials: readonly string[];
}

/** Parses a DER CertificateList (RFC 5280 §5.1). Throws `RangeError` when it is not one. */
export function parseCrlDer(der: Uint8Array): ParsedCrl {
  const certificateList = expectElement(readElement(der, 0), DerTag.sequence, "CertificateList");
  const [tbsElement] = childrenOf(der, certificateList);
  const tbs = childrenOf(der, expectElement(tbsElement, DerTag.sequence, "TBSCertList"));
  let index = 0;
  if (tbs[index]?.tag === DerTag.integer) index++; // version (v2)
  expectElement(tbs[index++], DerTag.sequence, "signature algorithm");
  const issuer = expectElement(tbs[index++], DerTag.sequence, "issuer Name");
  const thisUpdate = tbs[index++];
  if (thisUpdate?.tag !== DerTag.utcTime && thisUpdate?.tag !== DerTag.generalizedTime) {
    throw new RangeError("expected thisUpdate time in CRL");
  }
  const next = tbs[index];
  if (next?.tag === DerTag.utcTime || next?.tag === DerTag.generalizedTime) index++; // nextUpdate
  const serials: string[] = [];
  const revoked = tbs[index];
  if (revoked?.tag === DerTag.sequence) {
    for (const entry of childrenOf(der, revoked)) {
      const [serial] = childrenOf(der, expectElement(entry, DerTag.sequence, "revoked certificate entry"));
      serials.push(integerHex(der, expectElement(serial, DerTag.integer, "revoked serial")));
    }
  }
  return { issuer: elementHex(der, issuer), serials };
}

/** Issuer Name (DER hex) and serial (normalised hex) of a DER certificate. */
export function certificateIssuerAndSerial(der: Uint8Array): { issuer: string; serial: string } {
  const certificate = expectElement(readElement(der, 0), DerTag.sequence, "Certificate");
  const [tbsElement] = childrenOf(der, certificate);
  const tbs = childrenOf(der, expectElement(tbsElement, DerTag.sequence, "TBSCertificate"));
  let index = 0;
  if (tbs[index]?.tag === DerTag.context0) index++; // [0] version
  const serial = expectElement(tbs[index++], DerTag.integer, "serialNumber");
  expectElement(tbs[index++], DerTag.sequence, "signature algorithm");
  const issuer = expectElement(tbs[index], DerTag.sequence, "issuer Name");
  return { issuer: elementHex(der, issuer), serial: integerHex(der, serial) };
}

/** The DER bodies of every `X509 CRL` block in the PEM input(s). */
export function crlDersFromPem(input: PemInput): Buffer[] {
  const texts = (Array.isArray(input) ? input : [input]) as ReadonlyArray<string | Buffer>;
  const ders: Buffer[] = [];
  for (const text of texts) {
    for (const match of String(text).matchAll(PEM_CRL)) {
      ders.push(Buffer.from((match[1] ?? "").replace(/\s+/g, ""), "base64"));
    }
  }
  return ders;
}

/** Revoked (issuer, serial) pairs of a set of CRLs; immutable, replaced as a whole on reload. */
export class RevocationList {
  readonly #revoked: ReadonlySet<string>;

  private constructor(revoked: ReadonlySet<string>) {
    this.#revoked = revoked;
  }

  /** An empty list: nothing is revoked. */
  static readonly empty = new RevocationList(new Set());

  /**
   * Parses every CRL in `pem`. Throws `RangeError` naming the broken CRL; a PEM input with no CRL
   * block at all is an error too, because a typo there would silently disable revocation.
   */
  static fromPem(pem: PemInput | undefined): RevocationList {
    if (pem === undefined) return RevocationList.empty;
    const ders = crlDersFromPem(pem);
    if (ders.length === 0) throw new RangeError("no '-----BEGIN X509 CRL-----' block found");
    const revoked = new Set<string>();
    ders.forEach((der, position) => {
      let parsed: ParsedCrl;
      try {
        parsed = parseCrlDer(der);
      } catch (error) {
        throw new RangeError(`CRL #${position + 1} is malformed: ${(error as Error).message}`);
      }
      for (const serial of parsed.serials) revoked.add(`${parsed.issuer}/${serial}`);
    });
    return new RevocationList(revoked);
  }

  /** Number of revoked certificates listed. */
  get size(): number {
    return this.#revoked.size;
  }

  /** Whether the DER certificate is listed as revoked by its issuer. */
  isRevoked(certificateDer: Uint8Array): boolean {
    if (this.#revoked.size === 0) return false;
    const { issuer, serial } = certificateIssuerAndSerial(certificateDer);
    return this.#revoked.has(`${issuer}/${serial}`);
  }
}
