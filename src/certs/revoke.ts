/**
 * `paynet-gen certs revoke`: adds a certificate to the CA's revocation list `<out>/ca.crl`.
 *
 * The signed CRL itself is the only record of what was revoked (no side file that could drift from
 * it): each run reads the existing `ca.crl`, checks it is signed by the CA, keeps every entry with
 * its date and reason, adds the new serial and signs a fresh CRL, written atomically.
 */
import { X509Certificate } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { writeFileAtomic } from "./atomic-write.js";
import { CrlFileError, canonicalSerial, readSignedCrl, type SignedCrl, sameSerial } from "./crl-file.js";
import { CertFilesError } from "./errors.js";
import { deviceFileName } from "./filename.js";
import { exists, messageOf, readCa } from "./files.js";
import { issueCrl } from "./issue.js";
import {
  DEFAULT_CRL_DAYS,
  type IssuedCert,
  REVOCATION_REASON_CODES,
  type RevocationReason,
  type RevokedEntry,
} from "./types.js";
import { x509 } from "./x509.js";

/** File name of the CA's revocation list inside the certificates directory. */
export const CRL_FILE = "ca.crl";
const CRL_MODE = 0o644;
/** `paynet-gen certs device` names; also `ca`, `server`, `device` of `certs init`. */
const PLAIN_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const SERIAL = /^(?:[0-9A-Fa-f]{2}:)*[0-9A-Fa-f]+$/;
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

export interface RevokeOptions {
  /** Directory with `ca.crt`/`ca.key` and the certificates; `ca.crl` is written there. */
  readonly out: string;
  /**
   * What to revoke: a name as written by `certs init`/`certs device` (`device`, `SN-0002`, or the
   * CN the file name was derived from), a path to a certificate file, or a hex serial number.
   */
  readonly target: string;
  /** Reason code of the new entry (default `unspecified`). */
  readonly reason?: RevocationReason;
  /** Also revoke the CA or the server certificate. */
  readonly force?: boolean;
  /** Days until the CRL's nextUpdate (default 30). */
  readonly nextUpdateDays?: number;
  /** The time of revocation and the CRL's thisUpdate (default: now). */
  readonly now?: Date;
}

/** What {@link revokeCertificate} did. */
export interface RevokeResult {
  /** Upper-case hex serial number that is now listed. */
  readonly serialNumber: string;
  /** The certificate file found for the target, if any (a bare serial may have none). */
  readonly certPath: string | undefined;
  readonly commonName: string | undefined;
  /** `unknown` when only the serial number was given and no file in `out` carries it. */
  readonly role: "ca" | "server" | "device" | "unknown";
  /** The serial was listed already: its original date and reason were kept. */
  readonly alreadyRevoked: boolean;
  readonly reason: RevocationReason;
  readonly revokedAt: Date;
  readonly crlPath: string;
  /** Number of entries in the written CRL. */
  readonly revokedCount: number;
  readonly nextUpdate: Date;
}

/** A certificate located for revocation. */
interface Target {
  readonly serialNumber: string;
  readonly cert: X509Certificate | undefined;
  readonly path: string | undefined;
}

/** An entry of the existing CRL, kept as it was (serial hex as encoded there). */
interface ListedEntry extends RevokedEntry {
  readonly serialNumber: string;
  readonly revokedAt: Date;
  readonly reason: RevocationReason;
}

/**
 * Revokes one certificate of the CA in `options.out`: finds it, refuses the CA and the server
 * certificate without `force` and certificates of another CA always, then rewrites `ca.crl` with
 * every earlier entry plus this one. Throws {@link CertFilesError}.
 */
export async function revokeCertificate(options: RevokeOptions): Promise<RevokeResult> {
  const ca = await readCa(options.out);
  const caCert = new X509Certificate(ca.cert);
  const target = await findTarget(options.out, options.target, caCert);
  const role = roleOf(target);
  if ((role === "ca" || role === "server") && !options.force) {
    throw new CertFilesError(
      "CERT_PROTECTED",
      `${target.path ?? target.serialNumber} is the ${role === "ca" ? "CA" : "server"} certificate; ` +
        `revoking it ${role === "ca" ? "breaks every certificate of this CA" : "makes devices refuse the server"}. ` +
        "Pass --force if that is what you want",
    );
  }
  const crlPath = join(options.out, CRL_FILE);
  const previous = await readCrl(crlPath, caCert);
  const now = options.now ?? new Date();
  const listed = previous.entries.find((entry) => sameSerial(entry.serialNumber, target.serialNumber));
  const entry: ListedEntry = listed ?? {
    serialNumber: target.serialNumber,
    revokedAt: now,
    reason: options.reason ?? "unspecified",
  };
  const entries = listed === undefined ? [...previous.entries, entry] : previous.entries;
  // The CRL number is derived from thisUpdate (seconds), and must grow from one CRL to the next.
  const thisUpdate =
    previous.thisUpdate !== undefined && previous.thisUpdate.getTime() + 1000 > now.getTime()
      ? new Date(previous.thisUpdate.getTime() + 1000)
      : now;
  const nextUpdateDays = options.nextUpdateDays ?? DEFAULT_CRL_DAYS;
  const pem = await signCrl(ca, entries, thisUpdate, nextUpdateDays);
  await writeFileAtomic(crlPath, pem, CRL_MODE);
  return {
    serialNumber: target.serialNumber,
    certPath: target.path,
    commonName: target.cert === undefined ? undefined : commonNameOf(target.cert),
    role,
    alreadyRevoked: listed !== undefined,
    reason: entry.reason,
    revokedAt: entry.revokedAt,
    crlPath,
    revokedCount: entries.length,
    nextUpdate: new Date(thisUpdate.getTime() + nextUpdateDays * 86_400_000),
  };
}

/** Looks `target` up as a file path, a name in `out`, then a serial number. */
async function findTarget(out: string, target: string, caCert: X509Certificate): Promise<Target> {
  const tried: string[] = [];
  // Names in `out` first: a bare `device` means out/device.crt, not a file of the working directory.
  const candidates = [
    ...(PLAIN_NAME.test(target) ? [join(out, `${target}.crt`)] : []),
    ...(target.length > 0 ? [join(out, `${deviceFileName(target)}.crt`)] : []),
    target,
  ];
  for (const path of new Set(candidates)) {
    tried.push(path);
    if (!(await isFile(path))) continue;
    const cert = await readCertificate(path);
    checkIssuedBy(cert, caCert, path);
    return { serialNumber: canonicalSerial(cert.serialNumber), cert, path };
  }
  if (SERIAL.test(target)) {
    const serialNumber = canonicalSerial(target);
    const known = await findBySerial(out, serialNumber, caCert);
    return known ?? { serialNumber, cert: undefined, path: undefined };
  }
  throw new CertFilesError(
    "CERT_NOT_FOUND",
    `no certificate ${JSON.stringify(target)}: looked for ${tried.join(", ")}, and it is not a hex serial number`,
  );
}

/** A certificate of this CA in `out` whose serial is `serialNumber`, so the report can name it. */
async function findBySerial(
  out: string,
  serialNumber: string,
  caCert: X509Certificate,
): Promise<Target | undefined> {
  for (const name of (await readdir(out)).filter((file) => file.endsWith(".crt")).sort()) {
    const path = join(out, name);
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(await readFile(path));
    } catch {
      continue;
    }
    if (!sameSerial(cert.serialNumber, serialNumber) || !issuedBy(cert, caCert)) continue;
    return { serialNumber, cert, path };
  }
  return undefined;
}

async function readCertificate(path: string): Promise<X509Certificate> {
  try {
    return new X509Certificate(await readFile(path));
  } catch (error) {
    throw new CertFilesError("CERT_NOT_FOUND", `${path} is not a certificate: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

function checkIssuedBy(cert: X509Certificate, caCert: X509Certificate, path: string): void {
  if (issuedBy(cert, caCert)) return;
  throw new CertFilesError(
    "CERT_FOREIGN",
    `${path} (${cert.subject}) was not issued by the CA ${caCert.subject}; its CRL cannot revoke it`,
  );
}

function issuedBy(cert: X509Certificate, caCert: X509Certificate): boolean {
  return cert.checkIssued(caCert) && cert.verify(caCert.publicKey);
}

function roleOf(target: Target): RevokeResult["role"] {
  const { cert, path } = target;
  if (cert === undefined) return "unknown";
  if (cert.ca) return "ca";
  // Node lists the extended key usages (OIDs) as `keyUsage`.
  if (
    (cert.keyUsage ?? []).includes(SERVER_AUTH) ||
    (path !== undefined && basename(path) === "server.crt")
  ) {
    return "server";
  }
  return "device";
}

/** The existing CRL's entries and thisUpdate; none when `ca.crl` does not exist yet. */
async function readCrl(
  path: string,
  caCert: X509Certificate,
): Promise<{ entries: ListedEntry[]; thisUpdate: Date | undefined }> {
  if (!(await exists(path))) return { entries: [], thisUpdate: undefined };
  let crl: SignedCrl;
  try {
    crl = await readSignedCrl(path, caCert);
  } catch (error) {
    if (!(error instanceof CrlFileError)) throw error;
    throw new CertFilesError(
      "CRL_INVALID",
      `cannot extend ${path}: ${error.message}; move it away to start a new list (its revocations are then lost)`,
      { cause: error },
    );
  }
  const entries = crl.entries.map((entry) => ({
    serialNumber: entry.serialNumber,
    revokedAt: entry.revokedAt,
    reason: reasonName(entry.reasonCode),
  }));
  return { entries, thisUpdate: crl.thisUpdate };
}

async function signCrl(
  ca: IssuedCert,
  entries: readonly ListedEntry[],
  thisUpdate: Date,
  nextUpdateDays: number,
): Promise<string> {
  try {
    return await issueCrl(ca, entries, { thisUpdate, nextUpdateDays });
  } catch (error) {
    throw new CertFilesError("INVALID_OPTION", messageOf(error), { cause: error });
  }
}

/** Our name of a CRL reason code; codes this tool does not issue read as `unspecified`. */
function reasonName(code: number | undefined): RevocationReason {
  const found = Object.entries(REVOCATION_REASON_CODES).find(([, value]) => value === code);
  return (found?.[0] as RevocationReason | undefined) ?? "unspecified";
}

function commonNameOf(cert: X509Certificate): string | undefined {
  return new x509.X509Certificate(cert.raw).subjectName.getField("CN")[0];
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
