/**
 * `paynet-gen certs check`: every certificate in a certificates directory with its subject, expiry
 * and state (ok, expiring within the warning window, expired, or revoked by the directory's CA
 * through `ca.crl`), and the CRL's own next update, which paynetd needs refreshed before it passes.
 */
import { X509Certificate } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { CrlFileError, readSignedCrl, type SignedCrl, sameSerial } from "./crl-file.js";
import { CertFilesError } from "./errors.js";
import { exists, messageOf } from "./files.js";
import { CRL_FILE } from "./revoke.js";

const DAY_MS = 86_400_000;
/**
 * A CRL is `expiring` this many days (at most `warnDays`) before its next update: CRLs live for
 * weeks (`certs revoke` signs them for 30 days) and are refreshed often, so a certificate's window
 * would flag every fresh one.
 */
export const CRL_WARN_DAYS = 7;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
/** Files read as certificates. */
const CERT_FILE = /\.(crt|pem)$/;

/** The state of one certificate (or of the CRL: its next update). */
export type CertState = "ok" | "expiring" | "expired" | "revoked";

/** One certificate of the directory (a bundle file gives several). */
export interface CheckedCertificate {
  readonly kind: "certificate";
  readonly path: string;
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  readonly notAfter: Date;
  /** Whole days until `notAfter` (negative once expired). */
  readonly daysLeft: number;
  readonly state: CertState;
}

/** The directory's CRL: its next update, which must not pass. */
export interface CheckedCrl {
  readonly kind: "crl";
  readonly path: string;
  readonly revoked: number;
  /** `undefined` for a CRL without nextUpdate (never stale). */
  readonly nextUpdate: Date | undefined;
  readonly daysLeft: number | undefined;
  /** `expiring` / `expired`: refresh it with `paynet-gen certs revoke` before paynetd refuses devices. */
  readonly state: Exclude<CertState, "revoked">;
}

export type CheckedItem = CheckedCertificate | CheckedCrl;

export interface CheckOptions {
  readonly out: string;
  /** Within this many days of its end a certificate is `expiring`. */
  readonly warnDays: number;
  readonly now?: Date;
}

/** The result: every item, and whether any needs action (expiring or expired, revoked ones aside). */
export interface CheckReport {
  readonly items: readonly CheckedItem[];
  readonly needsAction: boolean;
}

/** Checks the certificates of `options.out`; throws `CertFilesError` when the directory cannot be read. */
export async function checkCertificates(options: CheckOptions): Promise<CheckReport> {
  const now = (options.now ?? new Date()).getTime();
  let names: string[];
  try {
    names = (await readdir(options.out)).filter((name) => CERT_FILE.test(name)).sort();
  } catch (error) {
    throw new CertFilesError("CA_MISSING", `cannot read ${options.out} (${messageOf(error)})`, {
      cause: error,
    });
  }
  const certificates: Array<{ path: string; cert: X509Certificate }> = [];
  for (const name of names) {
    const path = join(options.out, name);
    for (const block of (await readFile(path, "utf8")).match(PEM_CERTIFICATE) ?? []) {
      try {
        certificates.push({ path, cert: new X509Certificate(block) });
      } catch (error) {
        throw new CertFilesError("INVALID_OPTION", `${path}: not a PEM certificate (${messageOf(error)})`, {
          cause: error,
        });
      }
    }
  }
  if (certificates.length === 0) {
    throw new CertFilesError("CERT_NOT_FOUND", `no certificate (*.crt, *.pem) in ${options.out}`);
  }
  const crl = await readCrlOf(options.out, certificates);
  const state = (notAfter: number, warnDays = options.warnDays): Exclude<CertState, "revoked"> =>
    notAfter <= now ? "expired" : notAfter - now < warnDays * DAY_MS ? "expiring" : "ok";
  const items: CheckedItem[] = certificates.map(({ path, cert }) => {
    const notAfter = new Date(cert.validTo);
    const revoked =
      crl !== undefined &&
      cert.checkIssued(crl.ca) &&
      crl.list.entries.some((entry) => sameSerial(entry.serialNumber, cert.serialNumber));
    return {
      kind: "certificate",
      path,
      subject: oneLine(cert.subject),
      issuer: oneLine(cert.issuer),
      serialNumber: cert.serialNumber,
      notAfter,
      daysLeft: Math.trunc((notAfter.getTime() - now) / DAY_MS),
      state: revoked ? "revoked" : state(notAfter.getTime()),
    };
  });
  if (crl !== undefined) {
    const next = crl.list.nextUpdate;
    items.push({
      kind: "crl",
      path: crl.path,
      revoked: crl.list.entries.length,
      nextUpdate: next,
      daysLeft: next === undefined ? undefined : Math.trunc((next.getTime() - now) / DAY_MS),
      state: next === undefined ? "ok" : state(next.getTime(), Math.min(CRL_WARN_DAYS, options.warnDays)),
    });
  }
  return { items, needsAction: items.some((item) => item.state === "expiring" || item.state === "expired") };
}

/** `ca.crl` of the directory with the CA that signed it, when there is one. */
async function readCrlOf(
  out: string,
  certificates: ReadonlyArray<{ path: string; cert: X509Certificate }>,
): Promise<{ path: string; ca: X509Certificate; list: SignedCrl } | undefined> {
  const path = join(out, CRL_FILE);
  if (!(await exists(path))) return undefined;
  const ca = certificates.find((entry) => entry.path === join(out, "ca.crt"))?.cert;
  if (ca === undefined)
    throw new CertFilesError("CA_MISSING", `${path} found, but no ca.crt in ${out} to check it against`);
  try {
    return { path, ca, list: await readSignedCrl(path, ca) };
  } catch (error) {
    if (error instanceof CrlFileError)
      throw new CertFilesError("CRL_INVALID", `${path}: ${error.message}`, { cause: error });
    throw error;
  }
}

function oneLine(name: string): string {
  return name.replace(/\n/g, ", ");
}
