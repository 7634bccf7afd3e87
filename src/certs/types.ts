/** Key types the issuer can generate. ECDSA P-256 is the default: cheap handshakes on devices. */
export type KeyAlgorithm = "ec-p256" | "rsa-2048" | "rsa-4096";

/** The key algorithms accepted on the command line, in help order. */
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ["ec-p256", "rsa-2048", "rsa-4096"];

/** A certificate together with its private key, both PEM encoded. */
export interface IssuedCert {
  /** The certificate, PEM (`-----BEGIN CERTIFICATE-----`). */
  readonly cert: string;
  /** The private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  readonly key: string;
  /** The serial number as upper-case hex without separators, as Node's `X509Certificate` prints it. */
  readonly serialNumber: string;
}

/** Options shared by every certificate kind. */
export interface CertOptions {
  /** Subject common name; any characters are allowed (it is encoded, never parsed). */
  readonly commonName: string;
  /** Key algorithm of the new certificate (default `ec-p256`). */
  readonly algorithm?: KeyAlgorithm;
  /** Validity in days, counted from `notBefore` (defaults: CA 3650, leaf 825). */
  readonly validDays?: number;
  /** Start of validity (default: five minutes ago, to tolerate clock skew on devices). */
  readonly notBefore?: Date;
}

export interface CaOptions extends CertOptions {
  /**
   * How many intermediate CAs may stand between this CA and a leaf (basicConstraints pathLen).
   * Default 0: the CA signs leaf certificates only. A root that signs intermediates needs at least 1.
   */
  readonly pathLength?: number;
}

export interface ServerCertOptions extends CertOptions {
  /**
   * Extra subject alternative names: DNS names or IP addresses (v4 or v6), typed automatically.
   * The common name, `localhost` and `127.0.0.1` are always included.
   */
  readonly altNames?: readonly string[];
}

export interface DeviceCertOptions extends CertOptions {}

/** CRL reason codes (RFC 5280 §5.3.1). */
export type RevocationReason =
  | "unspecified"
  | "keyCompromise"
  | "cACompromise"
  | "affiliationChanged"
  | "superseded"
  | "cessationOfOperation"
  | "certificateHold"
  | "privilegeWithdrawn";

/** The CRL reason code (RFC 5280 §5.3.1) written for each {@link RevocationReason}. */
export const REVOCATION_REASON_CODES: Readonly<Record<RevocationReason, number>> = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
};

/** The revocation reasons accepted on the command line, in help order. */
export const REVOCATION_REASONS = Object.keys(REVOCATION_REASON_CODES) as readonly RevocationReason[];

/** One revoked certificate for {@link issueCrl}. */
export interface RevokedEntry {
  /** Serial number in hex (case and `:` separators do not matter). */
  readonly serialNumber: string;
  /** When it was revoked (default: now). */
  readonly revokedAt?: Date;
  /** Reason code written into the entry (default `unspecified`). */
  readonly reason?: RevocationReason;
}

export interface CrlOptions {
  /** Days until the CRL's nextUpdate (default 30). Verifiers reject a CRL past its nextUpdate. */
  readonly nextUpdateDays?: number;
  /** thisUpdate of the CRL (default: now). */
  readonly thisUpdate?: Date;
}

export const DEFAULT_CA_DAYS = 3650;
export const DEFAULT_LEAF_DAYS = 825;

/** The serial `certs init` issues its device certificate for unless told otherwise: the demo's device. */
export const DEMO_DEVICE_SN = "SN-DEMO-001";
export const DEFAULT_CRL_DAYS = 30;
