/**
 * The file layer behind `paynet-gen certs`: issues certificates with ./issue.ts and writes them as
 * PEM files (keys 0600, directory 0700 when created), refusing to overwrite without `force`.
 */
import { createPublicKey, X509Certificate } from "node:crypto";
import { access, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "./atomic-write.js";
import { CertFilesError } from "./errors.js";
import { deviceFileName } from "./filename.js";
import { issueCa, issueDeviceCert, issueServerCert } from "./issue.js";
import { commonNameProblem } from "./names.js";
import {
  DEFAULT_CA_DAYS,
  DEFAULT_LEAF_DAYS,
  DEMO_DEVICE_SN,
  type IssuedCert,
  type KeyAlgorithm,
} from "./types.js";

const CERT_MODE = 0o644;
const KEY_MODE = 0o600;
const DIR_MODE = 0o700;

export interface InitCertsOptions {
  /** Output directory (created with mode 0700 if missing). */
  readonly out: string;
  /** Common name of the CA (default `paynet CA`). */
  readonly caCn?: string;
  /** Server common name, also a SAN next to `localhost` and `127.0.0.1` (default `paynet.local`). */
  readonly serverCn?: string;
  /**
   * Serial number of the device, the CN of its certificate (default {@link DEMO_DEVICE_SN}): under
   * mTLS a device certificate acts only for the serial it names.
   */
  readonly deviceSn?: string;
  /** Key algorithm for all three keys (default `ec-p256`). */
  readonly algorithm?: KeyAlgorithm;
  /** Validity of the server and device certificates in days (default 825). */
  readonly days?: number;
  /** Validity of the CA in days (default 3650). */
  readonly caDays?: number;
  /** Overwrite existing files. */
  readonly force?: boolean;
}

export interface DeviceFilesOptions {
  /** Directory holding `ca.crt` and `ca.key`; the device files are written there too. */
  readonly out: string;
  /** The device's serial, its certificate's CN (any characters; the file name is derived safely). */
  readonly commonName: string;
  readonly algorithm?: KeyAlgorithm;
  /** Validity in days (default 825). */
  readonly days?: number;
  readonly force?: boolean;
}

/** One certificate/key pair that was written. */
export interface WrittenCert {
  readonly role: "ca" | "server" | "device";
  readonly commonName: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly serialNumber: string;
  readonly notAfter: Date;
}

/** The file names `initCerts` writes, in order. */
export const INIT_FILES = [
  "ca.crt",
  "ca.key",
  "server.crt",
  "server.key",
  "device.crt",
  "device.key",
] as const;

/** Issues a CA, a server and a device certificate into `options.out`. */
export async function initCerts(options: InitCertsOptions): Promise<WrittenCert[]> {
  const algorithm = options.algorithm ?? "ec-p256";
  const leafDays = options.days ?? DEFAULT_LEAF_DAYS;
  const caCn = options.caCn ?? "paynet CA";
  const serverCn = options.serverCn ?? "paynet.local";
  const deviceCn = options.deviceSn ?? DEMO_DEVICE_SN;
  checkCommonName("CA", caCn);
  checkCommonName("server", serverCn);
  checkCommonName("device", deviceCn);
  await refuseExisting(
    INIT_FILES.map((name) => join(options.out, name)),
    options.force,
  );
  const { ca, server, device } = await asOptionError(async () => {
    const ca = await issueCa({ commonName: caCn, algorithm, validDays: options.caDays ?? DEFAULT_CA_DAYS });
    const [server, device] = await Promise.all([
      issueServerCert(ca, { commonName: serverCn, algorithm, validDays: leafDays }),
      issueDeviceCert(ca, { commonName: deviceCn, algorithm, validDays: leafDays }),
    ]);
    return { ca, server, device };
  });
  await ensureDir(options.out);
  return [
    await writePair(options.out, "ca", "ca", caCn, ca),
    await writePair(options.out, "server", "server", serverCn, server),
    await writePair(options.out, "device", "device", deviceCn, device),
  ];
}

/** Issues one more device certificate from the CA in `options.out` into `<safe name>.crt/.key`. */
export async function issueDeviceFiles(options: DeviceFilesOptions): Promise<WrittenCert> {
  checkCommonName("device", options.commonName);
  const ca = await readCa(options.out);
  const name = deviceFileName(options.commonName);
  await refuseExisting([join(options.out, `${name}.crt`), join(options.out, `${name}.key`)], options.force);
  const device = await asOptionError(() =>
    issueDeviceCert(ca, {
      commonName: options.commonName,
      algorithm: options.algorithm ?? "ec-p256",
      validDays: options.days ?? DEFAULT_LEAF_DAYS,
    }),
  );
  return writePair(options.out, name, "device", options.commonName, device);
}

/**
 * Reads and checks `ca.crt`/`ca.key` in `out`: `CA_MISSING` when a file is absent, `CA_INVALID`
 * when the certificate is not a CA or the key does not belong to it.
 */
export async function readCa(out: string): Promise<IssuedCert> {
  const certPath = join(out, "ca.crt");
  const keyPath = join(out, "ca.key");
  for (const path of [certPath, keyPath]) {
    if (!(await exists(path))) {
      throw new CertFilesError("CA_MISSING", `no CA found at ${path}; run \`paynet-gen certs init\` first`);
    }
  }
  const [cert, key] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
  try {
    const parsed = new X509Certificate(cert);
    if (!parsed.ca) throw new Error(`${certPath} is not a CA certificate`);
    const keySpki = createPublicKey(key).export({ type: "spki", format: "der" });
    if (!keySpki.equals(parsed.publicKey.export({ type: "spki", format: "der" }))) {
      throw new Error(`${keyPath} does not belong to ${certPath}`);
    }
    return { cert, key, serialNumber: parsed.serialNumber };
  } catch (error) {
    throw new CertFilesError("CA_INVALID", `cannot use the CA in ${out}: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

/** Refuses a common name X.509 does not allow before any file is read or written. */
function checkCommonName(role: string, cn: string): void {
  const problem = commonNameProblem(cn);
  if (problem !== undefined) throw new CertFilesError("INVALID_OPTION", `${role}: ${problem}`);
}

async function refuseExisting(paths: readonly string[], force: boolean | undefined): Promise<void> {
  if (force) return;
  const present: string[] = [];
  for (const path of paths) if (await exists(path)) present.push(path);
  if (present.length > 0) {
    throw new CertFilesError(
      "CERTS_EXIST",
      `refusing to overwrite ${present.join(", ")}; pass --force to replace ${present.length === 1 ? "it" : "them"}`,
    );
  }
}

async function writePair(
  out: string,
  name: string,
  role: WrittenCert["role"],
  commonName: string,
  issued: IssuedCert,
): Promise<WrittenCert> {
  const certPath = join(out, `${name}.crt`);
  const keyPath = join(out, `${name}.key`);
  // Key first: a certificate on disk without its key would look usable but is not.
  await writeFileAtomic(keyPath, issued.key, KEY_MODE);
  await writeFileAtomic(certPath, issued.cert, CERT_MODE);
  const notAfter = new Date(new X509Certificate(issued.cert).validTo);
  return { role, commonName, certPath, keyPath, serialNumber: issued.serialNumber, notAfter };
}

async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
}

/** Whether `path` exists (any kind of file). */
export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Errors raised while issuing are caused by the options (a CN or SAN the issuer rejects). */
async function asOptionError<T>(issue: () => Promise<T>): Promise<T> {
  try {
    return await issue();
  } catch (error) {
    if (error instanceof CertFilesError) throw error;
    throw new CertFilesError("INVALID_OPTION", messageOf(error), { cause: error });
  }
}

/** The message of an error, or the value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
