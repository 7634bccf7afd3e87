/**
 * Certificate expiry warnings of the programs: paynetd for its own certificate and its CA (at start
 * and daily), paynetcli for its device certificate, with the same wording.
 */
import { X509Certificate } from "node:crypto";
import { ExampleError } from "./errors.js";

/** One certificate of a PEM file (a CA bundle has several). */
export interface CertificateInfo {
  /** What it is to the program: `server`, `ca`, `device`. */
  readonly label: string;
  readonly path: string;
  /** Subject, `CN=..., O=...`. */
  readonly subject: string;
  readonly notAfter: Date;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const DAY_MS = 86_400_000;

/** Every certificate in `pem` (read from `path`); throws `ExampleError` when there is none or one is bad. */
export function certificatesIn(pem: string, path: string, label: string): CertificateInfo[] {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new ExampleError("CERTS_MISSING", `${path} holds no PEM certificate`);
  return blocks.map((block) => {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch (error) {
      throw new ExampleError("CERTS_MISSING", `${path} is not a PEM certificate: ${String(error)}`, {
        cause: error,
      });
    }
    return { label, path, subject: cert.subject.replace(/\n/g, ", "), notAfter: new Date(cert.validTo) };
  });
}

/**
 * A warning when `info` expires within `warnDays` days (or has expired), else `undefined`:
 * `server certificate certs/server.crt (CN=localhost) expires in 12 day(s), on 2031-...: ...`.
 */
export function expiryWarning(info: CertificateInfo, warnDays: number, now = Date.now()): string | undefined {
  const days = (info.notAfter.getTime() - now) / DAY_MS;
  if (days >= warnDays) return undefined;
  const when = days <= 0 ? "has expired" : `expires in ${Math.ceil(days)} day(s)`;
  const renew = info.label === "ca" ? "paynet-gen certs init" : `paynet-gen certs ${info.label}`;
  return `${info.label} certificate ${info.path} (${info.subject}) ${when}, on ${info.notAfter.toISOString()}: issue a new one (${renew})`;
}

/** Whole days left until `info` expires (negative once expired). */
export function daysLeft(info: CertificateInfo, now = Date.now()): number {
  return Math.floor((info.notAfter.getTime() - now) / DAY_MS);
}
