/** Stable codes for certificate file operations; the CLI maps them to exit status 1. */
export type CertFilesErrorCode =
  /** Target files exist and `force` was not given. */
  | "CERTS_EXIST"
  /** `ca.crt` or `ca.key` is missing from the output directory. */
  | "CA_MISSING"
  /** The CA files exist but cannot be used (not a CA, key mismatch, unreadable PEM). */
  | "CA_INVALID"
  /** An option is out of range (empty common name, bad SAN, ...). */
  | "INVALID_OPTION";

/** A failure of `initCerts` / `issueDeviceFiles`, with a message meant for the user. */
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
