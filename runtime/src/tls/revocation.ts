/**
 * Certificate revocation by CRL, checked by the server itself on every connection, for every
 * certificate of the peer's chain (a revoked intermediate CA locks out every device under it).
 * OpenSSL checks CRLs only during a full handshake; a resumed TLS session skips them, so a device
 * revoked after it got its ticket would otherwise get back in. Entries are keyed by issuer Name and
 * serial, because serials are only unique per issuer. Each CRL's `nextUpdate` is kept, so a CRL
 * that is no longer refreshed can be reported (see `tls.staleCrl`).
 *
 * The CRL is operator configuration (like the CA bundle), so its signature is not re-verified here.
 */
import {
  childrenOf,
  DerTag,
  elementHex,
  expectElement,
  integerHex,
  isTime,
  readElement,
  timeOf,
} from "./der.js";

type PemInput = string | Buffer | ReadonlyArray<string | Buffer>;

const PEM_CRL = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/g;

/** Issuer, dates and serials of one CRL. */
export interface ParsedCrl {
  /** DER of the issuer Name, hex. */
  readonly issuer: string;
  readonly thisUpdate: Date;
  /** When the issuer promised the next CRL; `undefined` when the CRL does not say. */
  readonly nextUpdate: Date | undefined;
  /** Revoked serials: upper-case hex, no leading zeros. */
  readonly serials: readonly string[];
}

/** One CRL in force: where it was in the input, whom it is from and until when it is fresh. */
export interface CrlInfo {
  /** 1-based position among the CRLs given (`tls.crl`). */
  readonly position: number;
  /** DER of the issuer Name, hex. */
  readonly issuer: string;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
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
  if (!isTime(thisUpdate)) throw new RangeError("expected thisUpdate time in CRL");
  const next = tbs[index];
  const nextUpdate = isTime(next) ? timeOf(der, next) : undefined;
  if (nextUpdate !== undefined) index++;
  const serials: string[] = [];
  const revoked = tbs[index];
  if (revoked?.tag === DerTag.sequence) {
    for (const entry of childrenOf(der, revoked)) {
      const [serial] = childrenOf(der, expectElement(entry, DerTag.sequence, "revoked certificate entry"));
      serials.push(integerHex(der, expectElement(serial, DerTag.integer, "revoked serial")));
    }
  }
  return { issuer: elementHex(der, issuer), thisUpdate: timeOf(der, thisUpdate), nextUpdate, serials };
}

/** Issuer and subject Names (DER hex) and serial (normalised hex) of a DER certificate. */
export function certificateIssuerAndSerial(der: Uint8Array): {
  issuer: string;
  subject: string;
  serial: string;
} {
  const certificate = expectElement(readElement(der, 0), DerTag.sequence, "Certificate");
  const [tbsElement] = childrenOf(der, certificate);
  const tbs = childrenOf(der, expectElement(tbsElement, DerTag.sequence, "TBSCertificate"));
  let index = 0;
  if (tbs[index]?.tag === DerTag.context0) index++; // [0] version
  const serial = expectElement(tbs[index++], DerTag.integer, "serialNumber");
  expectElement(tbs[index++], DerTag.sequence, "signature algorithm");
  const issuer = expectElement(tbs[index++], DerTag.sequence, "issuer Name");
  expectElement(tbs[index++], DerTag.sequence, "validity");
  const subject = expectElement(tbs[index], DerTag.sequence, "subject Name");
  return {
    issuer: elementHex(der, issuer),
    subject: elementHex(der, subject),
    serial: integerHex(der, serial),
  };
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
  readonly #crls: readonly CrlInfo[];

  private constructor(revoked: ReadonlySet<string>, crls: readonly CrlInfo[]) {
    this.#revoked = revoked;
    this.#crls = crls;
  }

  /** An empty list: nothing is revoked. */
  static readonly empty = new RevocationList(new Set(), []);

  /**
   * Parses every CRL in `pem`. Throws `RangeError` naming the broken CRL; a PEM input with no CRL
   * block at all is an error too, because a typo there would silently disable revocation.
   */
  static fromPem(pem: PemInput | undefined): RevocationList {
    if (pem === undefined) return RevocationList.empty;
    const ders = crlDersFromPem(pem);
    if (ders.length === 0) throw new RangeError("no '-----BEGIN X509 CRL-----' block found");
    const revoked = new Set<string>();
    const crls: CrlInfo[] = [];
    ders.forEach((der, index) => {
      const position = index + 1;
      let parsed: ParsedCrl;
      try {
        parsed = parseCrlDer(der);
      } catch (error) {
        throw new RangeError(`CRL #${position} is malformed: ${(error as Error).message}`);
      }
      for (const serial of parsed.serials) revoked.add(`${parsed.issuer}/${serial}`);
      crls.push({
        position,
        issuer: parsed.issuer,
        thisUpdate: parsed.thisUpdate,
        nextUpdate: parsed.nextUpdate,
      });
    });
    return new RevocationList(revoked, crls);
  }

  /** Number of revoked certificates listed. */
  get size(): number {
    return this.#revoked.size;
  }

  /** The CRLs in force, in input order. */
  get crls(): readonly CrlInfo[] {
    return this.#crls;
  }

  /** Whether the DER certificate is listed as revoked by its issuer. */
  isRevoked(certificateDer: Uint8Array): boolean {
    if (this.#revoked.size === 0) return false;
    const { issuer, serial } = certificateIssuerAndSerial(certificateDer);
    return this.isListed(issuer, serial);
  }

  /** Whether `issuer` (DER hex of a Name) lists `serial` (normalised hex) as revoked. */
  isListed(issuer: string, serial: string): boolean {
    return this.#revoked.size > 0 && this.#revoked.has(`${issuer}/${serial}`);
  }

  /**
   * The CRLs of `issuer` (DER hex of a Name) that are past their `nextUpdate` at `now`. A CRL
   * without `nextUpdate` never goes stale. With several CRLs of one issuer, one fresh CRL is enough.
   */
  staleCrlsOf(issuer: string, now: number): CrlInfo[] {
    const own = this.#crls.filter((crl) => crl.issuer === issuer);
    return own.some((crl) => !isStale(crl, now)) ? [] : own;
  }

  /** Every CRL past its `nextUpdate` at `now`. */
  staleCrls(now: number): CrlInfo[] {
    return this.#crls.filter((crl) => isStale(crl, now));
  }
}

function isStale(crl: CrlInfo, now: number): boolean {
  return crl.nextUpdate !== undefined && crl.nextUpdate.getTime() < now;
}
