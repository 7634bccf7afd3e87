/**
 * The CA bundle (`tls.ca`) as the server's own chain verifier. OpenSSL verifies a peer's chain only
 * in a full handshake; a resumed session brings back the verdict of its original handshake and the
 * leaf certificate alone, so after a CA is dropped a device could resume under trust that is gone.
 * The server therefore rebuilds every peer's chain against the bundle in force, on every handshake
 * (resumed ones included) and for every connected session after a reload.
 *
 * As with OpenSSL's defaults, a chain must end at a self-signed certificate of the bundle. Between
 * leaf and root may stand the bundle's other certificates, the ones the peer sent, and intermediates
 * seen in earlier verified chains ({@link CertificatePool}: a resumed peer sends none). Checked per
 * link: issuer name and key identifiers (`checkIssued`), the signature, the CA flag of every issuer
 * below the root and the validity period of every CA certificate. What OpenSSL checks besides
 * (policies, name constraints, path lengths) it checked in the peer's full handshake.
 */
import { X509Certificate } from "node:crypto";

type PemInput = string | Buffer | ReadonlyArray<string | Buffer>;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
/** Longest chain searched, leaf excluded (OpenSSL's default depth limit is 100; fleets use 1-3). */
const MAX_ISSUERS = 8;

/** Outcome of {@link TrustStore.verify}. */
export type ChainVerdict =
  | {
      readonly trusted: true;
      /** From the leaf's issuer up to the trusted root, inclusive. */
      readonly issuers: readonly X509Certificate[];
    }
  | { readonly trusted: false; readonly reason: string };

/** A path from a CA certificate up to a root of the bundle, with the window all of it is valid in. */
interface AnchoredPath {
  /** The CA certificate itself first, the root last. */
  readonly certs: readonly X509Certificate[];
  readonly notBefore: number;
  readonly notAfter: number;
  /** The certificate whose validity bounds the window from above (for the refusal reason). */
  readonly firstToExpire: X509Certificate;
}

/** Certificates by subject, deduplicated by fingerprint: where issuers are looked up. */
export class CertificatePool {
  readonly #bySubject = new Map<string, X509Certificate[]>();
  readonly #fingerprints = new Set<string>();
  readonly #limit: number;

  /** A pool that takes at most `limit` certificates (further ones are not kept). */
  constructor(limit = Number.POSITIVE_INFINITY) {
    this.#limit = limit;
  }

  /** Number of certificates held. */
  get size(): number {
    return this.#fingerprints.size;
  }

  /** Whether the certificate is held. */
  has(cert: X509Certificate): boolean {
    return this.#fingerprints.has(cert.fingerprint256);
  }

  /** Adds `cert` unless held already; `false` when the pool is full. */
  add(cert: X509Certificate): boolean {
    if (this.#fingerprints.has(cert.fingerprint256)) return true;
    if (this.#fingerprints.size >= this.#limit) return false;
    this.#fingerprints.add(cert.fingerprint256);
    const same = this.#bySubject.get(cert.subject);
    if (same === undefined) this.#bySubject.set(cert.subject, [cert]);
    else same.push(cert);
    return true;
  }

  /** Every certificate held. */
  *values(): Generator<X509Certificate> {
    for (const same of this.#bySubject.values()) yield* same;
  }

  /** Certificates whose subject is `name` (Node's multi-line form, as in `issuer`). */
  withSubject(name: string): readonly X509Certificate[] {
    return this.#bySubject.get(name) ?? [];
  }
}

/** The trusted CA bundle; immutable, replaced as a whole on reload. See the module comment. */
export class TrustStore {
  readonly #certs: CertificatePool;
  /** Fingerprints of the bundle's self-signed certificates: where chains may end. */
  readonly #roots: ReadonlySet<string>;
  /** Successful paths by CA fingerprint, so each handshake costs one signature check (the leaf's). */
  readonly #anchored = new Map<string, AnchoredPath>();

  private constructor(certs: CertificatePool, roots: ReadonlySet<string>) {
    this.#certs = certs;
    this.#roots = roots;
  }

  /**
   * Parses the certificates of `pem`. Throws `RangeError` naming the broken one; an input without a
   * certificate or without any self-signed root (nothing could ever verify) is an error too.
   */
  static fromPem(pem: PemInput): TrustStore {
    const texts = (Array.isArray(pem) ? pem : [pem]) as ReadonlyArray<string | Buffer>;
    const certs = new CertificatePool();
    const roots = new Set<string>();
    let position = 0;
    for (const text of texts) {
      for (const [block] of String(text).matchAll(PEM_CERTIFICATE)) {
        position++;
        let cert: X509Certificate;
        try {
          cert = new X509Certificate(block);
        } catch (error) {
          throw new RangeError(`certificate #${position} is malformed: ${(error as Error).message}`);
        }
        certs.add(cert);
        if (isSelfSigned(cert)) roots.add(cert.fingerprint256);
      }
    }
    if (position === 0) throw new RangeError("no '-----BEGIN CERTIFICATE-----' block found");
    if (roots.size === 0) {
      throw new RangeError("no self-signed root CA among its certificates: no chain could ever verify");
    }
    return new TrustStore(certs, roots);
  }

  /** Number of certificates in the bundle. */
  get size(): number {
    return this.#certs.size;
  }

  /** The bundle's certificates. */
  certificates(): Iterable<X509Certificate> {
    return this.#certs.values();
  }

  /** Whether `cert` is one of the bundle's certificates. */
  has(cert: X509Certificate): boolean {
    return this.#certs.has(cert);
  }

  /**
   * Builds and checks a chain from `leaf` to a root of this bundle at time `now`. `extra` holds
   * untrusted candidates for the certificates between (sent by the peer, or seen before). The
   * leaf's own validity period is the caller's business (it has its own refusal reason).
   */
  verify(leaf: X509Certificate, extra: readonly CertificatePool[], now: number): ChainVerdict {
    const found = this.#pathAbove(leaf, extra, now, new Set([leaf.fingerprint256]));
    return typeof found === "string"
      ? { trusted: false, reason: found }
      : { trusted: true, issuers: found.certs };
  }

  /**
   * Whether a certificate signed by `issuer` still verifies: some CA certificate with the same
   * subject and key (`issuer` itself, or one re-issued with new dates) anchors in this bundle. Used
   * after a reload for connected sessions, without their leaf's signature checked again.
   */
  verifyIssuedBy(issuer: X509Certificate, extra: readonly CertificatePool[], now: number): ChainVerdict {
    let failure = `issuer ${nameOf(issuer)} is no longer trusted by tls.ca`;
    for (const candidate of this.#candidates(issuer.subject, extra, issuer)) {
      if (candidate !== issuer && !candidate.publicKey.equals(issuer.publicKey)) continue;
      const found = this.#anchoredAt(candidate, extra, now, new Set());
      if (typeof found !== "string") return { trusted: true, issuers: found.certs };
      failure = found;
    }
    return { trusted: false, reason: failure };
  }

  /** The path from `cert`'s issuer to a root, valid at `now`, or why there is none. */
  #pathAbove(
    cert: X509Certificate,
    extra: readonly CertificatePool[],
    now: number,
    visiting: Set<string>,
  ): AnchoredPath | string {
    if (visiting.size > MAX_ISSUERS) return `chain longer than ${MAX_ISSUERS} certificates`;
    let failure = `issuer ${cert.issuer.replace(/\n/g, ", ")} of ${nameOf(cert)} is not in tls.ca`;
    for (const parent of this.#candidates(cert.issuer, extra)) {
      if (visiting.has(parent.fingerprint256)) continue;
      if (!issuedBy(cert, parent)) {
        failure = `${nameOf(cert)} is not signed by the ${nameOf(parent)} of tls.ca`;
        continue;
      }
      const found = this.#anchoredAt(parent, extra, now, visiting);
      if (typeof found !== "string") return found;
      failure = found;
    }
    return failure;
  }

  /** The path from the CA certificate `ca` (inclusive) to a root, valid at `now`, or why not. */
  #anchoredAt(
    ca: X509Certificate,
    extra: readonly CertificatePool[],
    now: number,
    visiting: Set<string>,
  ): AnchoredPath | string {
    const path = this.#anchored.get(ca.fingerprint256) ?? this.#anchor(ca, extra, now, visiting);
    if (typeof path === "string") return path;
    this.#anchored.set(ca.fingerprint256, path);
    if (now > path.notAfter) {
      return `CA certificate ${nameOf(path.firstToExpire)} expired on ${path.firstToExpire.validTo}`;
    }
    if (now < path.notBefore) return `a CA certificate of the chain of ${nameOf(ca)} is not valid yet`;
    return path;
  }

  #anchor(
    ca: X509Certificate,
    extra: readonly CertificatePool[],
    now: number,
    visiting: Set<string>,
  ): AnchoredPath | string {
    const notBefore = Date.parse(ca.validFrom);
    const notAfter = Date.parse(ca.validTo);
    if (this.#roots.has(ca.fingerprint256)) return { certs: [ca], notBefore, notAfter, firstToExpire: ca };
    if (isSelfSigned(ca)) return `root ${nameOf(ca)} is not in tls.ca`;
    if (!ca.ca) return `${nameOf(ca)} is not a CA certificate (basicConstraints CA:false)`;
    visiting.add(ca.fingerprint256);
    const above = this.#pathAbove(ca, extra, now, visiting);
    visiting.delete(ca.fingerprint256);
    if (typeof above === "string") return above;
    return {
      certs: [ca, ...above.certs],
      notBefore: Math.max(notBefore, above.notBefore),
      notAfter: Math.min(notAfter, above.notAfter),
      firstToExpire: notAfter < above.notAfter ? ca : above.firstToExpire,
    };
  }

  /** Bundle certificates first, then the untrusted candidates, each once. */
  *#candidates(
    subject: string,
    extra: readonly CertificatePool[],
    first?: X509Certificate,
  ): Generator<X509Certificate> {
    const seen = new Set<string>();
    if (first !== undefined) {
      seen.add(first.fingerprint256);
      yield first;
    }
    for (const pool of [this.#certs, ...extra]) {
      for (const cert of pool.withSubject(subject)) {
        if (seen.has(cert.fingerprint256)) continue;
        seen.add(cert.fingerprint256);
        yield cert;
      }
    }
  }
}

/** `child` names `parent` as its issuer (name and key identifiers) and carries its signature. */
function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

function isSelfSigned(cert: X509Certificate): boolean {
  return issuedBy(cert, cert);
}

/** `CN=paynet CA` (subject on one line), for refusal reasons and logs. */
export function nameOf(cert: X509Certificate): string {
  return cert.subject.replace(/\n/g, ", ");
}
