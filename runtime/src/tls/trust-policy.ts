/**
 * What the server trusts at one moment: the CA bundle, the CRLs and what a stale CRL means. One
 * immutable {@link TrustPolicy} is in force at a time; a reload builds a new one, so every cache it
 * holds is valid for exactly the material it was built from.
 */
import { X509Certificate } from "node:crypto";
import { type CrlInfo, certificateIssuerAndSerial, type RevocationList } from "./revocation.js";
import { type CertificatePool, nameOf, type TrustStore } from "./trust-store.js";

/**
 * Why a peer certificate was refused after the handshake; stable, for metrics and branching
 * (`PeerCertificateRejectedError.rejection`).
 * - `no-certificate`: mTLS and the peer sent none.
 * - `untrusted`: the chain does not verify against the CA bundle in force (e.g. its CA was dropped).
 * - `expired`: the certificate is outside its validity period.
 * - `revoked`: the certificate or a CA of its chain is listed in a CRL.
 * - `stale-crl`: a CRL of the chain is past its `nextUpdate` and `tls.staleCrl` is `fail`.
 * - `verify-peer`: the `verifyPeer` callback refused (or failed).
 * - `check-failed`: the certificate could not be checked at all (e.g. unparseable).
 */
export type CertificateRejection =
  | "no-certificate"
  | "untrusted"
  | "expired"
  | "revoked"
  | "stale-crl"
  | "verify-peer"
  | "check-failed";

/** Every {@link CertificateRejection}, in a fixed order (stats keys). */
export const CERTIFICATE_REJECTIONS: readonly CertificateRejection[] = [
  "no-certificate",
  "untrusted",
  "expired",
  "revoked",
  "stale-crl",
  "verify-peer",
  "check-failed",
];

/** What a server does with a certificate whose chain has a CRL past its `nextUpdate`. */
export type StaleCrlPolicy = "warn" | "fail";

/** Outcome of a trust check. */
export type TrustVerdict =
  | {
      readonly trusted: true;
      /** The verified chain above the leaf, root last; empty without a CA bundle. */
      readonly issuers: readonly X509Certificate[];
      /** Stale CRLs met on the chain (only reported under `staleCrl: "warn"`). */
      readonly staleCrls: readonly CrlInfo[];
    }
  | { readonly trusted: false; readonly rejection: CertificateRejection; readonly reason: string };

/** Issuer and serial of a certificate, as CRLs name it. */
type CrlKey = { readonly issuer: string; readonly serial: string };

/** See the module comment. */
export class TrustPolicy {
  /** The CA bundle; `undefined` when `verifyPeer` alone decides (pinning). */
  readonly store: TrustStore | undefined;
  readonly revocations: RevocationList;
  readonly staleCrl: StaleCrlPolicy;
  /** CRL keys of CA certificates, computed once per policy. */
  readonly #keys = new WeakMap<X509Certificate, CrlKey>();

  constructor(store: TrustStore | undefined, revocations: RevocationList, staleCrl: StaleCrlPolicy) {
    this.store = store;
    this.revocations = revocations;
    this.staleCrl = staleCrl;
  }

  /**
   * The checks of a handshake (full or resumed): the chain of `leaf` against the CA bundle (`extra`:
   * untrusted intermediates to build it with), then revocation and CRL freshness along it.
   */
  check(leaf: X509Certificate, extra: readonly CertificatePool[], now: number): TrustVerdict {
    let issuers: readonly X509Certificate[] = [];
    if (this.store !== undefined) {
      const chain = this.store.verify(leaf, extra, now);
      if (!chain.trusted) return untrusted(chain.reason);
      issuers = chain.issuers;
    }
    const key = certificateIssuerAndSerial(leaf.raw);
    const revoked = this.#revocation(key, issuers);
    if (revoked !== undefined) return revoked;
    const staleCrls = this.#staleCrls(key, issuers, now);
    const stale = staleCrls[0];
    if (stale !== undefined && this.staleCrl === "fail") {
      return {
        trusted: false,
        rejection: "stale-crl",
        reason: `${this.describeCrl(stale)} is past its nextUpdate (${stale.nextUpdate?.toISOString()}) and tls.staleCrl is "fail"`,
      };
    }
    return { trusted: true, issuers, staleCrls };
  }

  /**
   * The checks after a reload for a session admitted earlier: does a certificate (`leafDer`) signed
   * by `issuers[0]` still anchor in the CA bundle, and is nothing on its chain revoked? CRL
   * freshness is left to new handshakes: a CRL going stale says nothing against one device.
   */
  recheck(
    leafDer: Uint8Array,
    issuers: readonly X509Certificate[],
    extra: readonly CertificatePool[],
    now: number,
  ): TrustVerdict {
    let chain = issuers;
    const issuer = issuers[0];
    if (this.store !== undefined) {
      // Admitted without a CA bundle (pinning, before a reload added one): verify it from scratch.
      const verdict =
        issuer === undefined
          ? this.store.verify(new X509Certificate(leafDer), extra, now)
          : this.store.verifyIssuedBy(issuer, extra, now);
      if (!verdict.trusted) return untrusted(verdict.reason);
      chain = verdict.issuers;
    }
    return (
      this.#revocation(certificateIssuerAndSerial(leafDer), chain) ?? {
        trusted: true,
        issuers: chain,
        staleCrls: [],
      }
    );
  }

  /** `CRL #2 (issuer CN=paynet CA)`, naming the issuer when the CA bundle holds it. */
  describeCrl(crl: CrlInfo): string {
    const issuer = this.#issuerName(crl.issuer);
    return issuer === undefined ? `CRL #${crl.position}` : `CRL #${crl.position} (issuer ${issuer})`;
  }

  /** The refusal when the leaf or a CA certificate below the root is revoked. */
  #revocation(leaf: CrlKey, issuers: readonly X509Certificate[]): TrustVerdict | undefined {
    const revocations = this.revocations;
    if (revocations.size === 0) return undefined;
    if (revocations.isListed(leaf.issuer, leaf.serial)) {
      return { trusted: false, rejection: "revoked", reason: `certificate revoked (serial ${leaf.serial})` };
    }
    for (const ca of issuers.slice(0, -1)) {
      const key = this.#keyOf(ca);
      if (revocations.isListed(key.issuer, key.serial)) {
        return {
          trusted: false,
          rejection: "revoked",
          reason: `CA certificate ${nameOf(ca)} of its chain is revoked (serial ${key.serial})`,
        };
      }
    }
    return undefined;
  }

  /** CRLs past their `nextUpdate` of the issuers of the leaf and of the CAs below the root. */
  #staleCrls(leaf: CrlKey, issuers: readonly X509Certificate[], now: number): CrlInfo[] {
    if (this.revocations.crls.length === 0) return [];
    const stale = this.revocations.staleCrlsOf(leaf.issuer, now);
    for (const ca of issuers.slice(0, -1))
      stale.push(...this.revocations.staleCrlsOf(this.#keyOf(ca).issuer, now));
    return stale;
  }

  #keyOf(ca: X509Certificate): CrlKey {
    let key = this.#keys.get(ca);
    if (key === undefined) {
      key = certificateIssuerAndSerial(ca.raw);
      this.#keys.set(ca, key);
    }
    return key;
  }

  #issuerName(issuer: string): string | undefined {
    for (const cert of this.store?.certificates() ?? []) {
      if (certificateIssuerAndSerial(cert.raw).subject === issuer) return nameOf(cert);
    }
    return undefined;
  }
}

function untrusted(reason: string): TrustVerdict {
  return { trusted: false, rejection: "untrusted", reason: `certificate chain does not verify: ${reason}` };
}
