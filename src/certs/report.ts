/** Human-readable lines about written certificates, shared by the `certs` commands. */
import type { WrittenCert } from "./files.js";

/** Certificates expiring sooner than this many days get a warning. */
export const EXPIRY_WARNING_DAYS = 30;

/** One line per written pair: paths, CN, serial and expiry date. */
export function describeWritten(cert: WrittenCert): string {
  return (
    `wrote ${cert.certPath} and ${cert.keyPath} (${cert.role}, CN=${JSON.stringify(cert.commonName)}, ` +
    `serial ${cert.serialNumber}, expires ${cert.notAfter.toISOString()})`
  );
}

/** A warning text when `cert` expires within {@link EXPIRY_WARNING_DAYS} days, else undefined. */
export function expiryWarning(cert: WrittenCert, now = new Date()): string | undefined {
  const days = (cert.notAfter.getTime() - now.getTime()) / 86_400_000;
  if (days >= EXPIRY_WARNING_DAYS) return undefined;
  const when = days <= 0 ? "has already expired" : `expires in ${Math.ceil(days)} day(s)`;
  return `${cert.certPath} (CN=${JSON.stringify(cert.commonName)}) ${when}, on ${cert.notAfter.toISOString()}`;
}
