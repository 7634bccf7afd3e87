/** Stable codes for certificate file operations; the CLI maps them to exit status 1. */
export type CertFilesErrorCode =
  /** Target files exist and `force` was not given. */
  | "CERTS_EXIST"
  /** `ca.crt` or `ca.key` is missing from the output directory. */
  | "CA_MISSING"
  /** The CA files exist but cannot be used (not a CA, key mismatch, unreadable PEM). */
  | "CA_INVALID"
  /** An option is out of range (empty common name, bad SAN, ...). */
  | "INVALID_OPTION"
  /** `certs revoke`: no certificate file, device name or serial number matches the argument. */
  | "CERT_NOT_FOUND"
  /** `certs revoke`: the certificate was not issued by the CA in the directory. */
  | "CERT_FOREIGN"
  /** `certs revoke`: the CA or the server certificate, which needs `force`. */
  | "CERT_PROTECTED"
  /** `certs revoke`: the existing `ca.crl` is unreadable or not signed by the CA. */
  | "CRL_INVALID";

/** A failure of `initCerts` / `issueDeviceFiles` / `revokeCertificate`, with a message meant for the user. */
export class CertFilesError extends Error {
  override readonly name = "CertFilesError";
  constructor(
    readonly code: CertFilesErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
