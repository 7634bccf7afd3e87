/**
 * Certificates of a new project, each side getting only what it runs with: the server its
 * certificate and key plus `ca.crt` (to check devices), the device its certificate and key plus
 * `ca.crt` (to check the server). The CA's private key signs every certificate of the fleet, so it
 * never goes into a device project: a device-only project is issued from the operator's CA
 * (`--ca DIR`), or, without one, from a new CA created in a directory next to the project.
 */
import { createPublicKey, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { writeFileAtomic } from "../certs/atomic-write.js";
import { issueCa, issueDeviceCert, issueServerCert } from "../certs/issue.js";
import type { IssuedCert } from "../certs/types.js";
import type { Side } from "./config.js";
import { ScaffoldError } from "./errors.js";

const CERT_MODE = 0o644;
const KEY_MODE = 0o600;
const DIR_MODE = 0o700;

/**
 * The serial of a new project's device: the CN of its certificate and what `src/device.ts`
 * registers with (under mTLS a certificate acts only for the serial it names).
 */
export const PROJECT_DEVICE_SN = "SN-0001";

/** Where the CA of a project lives and whether this run created it. */
export interface ProjectCa {
  /** Directory holding `ca.crt` and `ca.key` (absolute). */
  readonly dir: string;
  readonly created: boolean;
  /** Whether `dir` is the project's own `certs/` (a server or full project keeps its CA there). */
  readonly inProject: boolean;
}

export interface ProjectCerts {
  /** Files written under the project's `certs/` (names only). */
  readonly files: readonly string[];
  readonly ca: ProjectCa;
}

/** The CA directory a device-only project gets when no `--ca` is given: `<dir>-ca` beside it. */
export function siblingCaDir(projectDir: string): string {
  return join(dirname(projectDir), `${basename(projectDir)}-ca`);
}

/**
 * Issues the project's certificates into `<projectDir>/certs`. `caDir` names an existing CA
 * (`ca.crt` + `ca.key`) to issue from; its key is read, never copied. Without it a new CA is made:
 * in `certs/` for a project that runs the server (the operator's side), else in `siblingCaDir`
 * (reused when it already holds a CA).
 */
export async function issueProjectCerts(
  projectDir: string,
  sides: readonly Side[],
  caDir: string | undefined,
): Promise<ProjectCerts> {
  const certsDir = join(projectDir, "certs");
  const ca = await obtainCa(certsDir, sides, caDir === undefined ? undefined : resolve(caDir), projectDir);
  mkdirSync(certsDir, { recursive: true, mode: DIR_MODE });
  const files: string[] = [];
  const write = async (name: string, text: string, mode: number) => {
    await writeFileAtomic(join(certsDir, name), text, mode);
    files.push(name);
  };
  await write("ca.crt", ca.cert.cert, CERT_MODE);
  // Only the operator's own project keeps the CA key, and never in a device project.
  if (ca.location.inProject) await write("ca.key", ca.cert.key, KEY_MODE);
  if (sides.includes("server")) {
    const server = await issueServerCert(ca.cert, { commonName: "localhost" });
    await write("server.crt", server.cert, CERT_MODE);
    await write("server.key", server.key, KEY_MODE);
  }
  if (sides.includes("client")) {
    const device = await issueDeviceCert(ca.cert, { commonName: PROJECT_DEVICE_SN });
    await write("device.crt", device.cert, CERT_MODE);
    await write("device.key", device.key, KEY_MODE);
  }
  return { files, ca: ca.location };
}

async function obtainCa(
  certsDir: string,
  sides: readonly Side[],
  caDir: string | undefined,
  projectDir: string,
): Promise<{ cert: IssuedCert; location: ProjectCa }> {
  if (caDir !== undefined) {
    return { cert: readCa(caDir), location: { dir: caDir, created: false, inProject: false } };
  }
  if (sides.includes("server")) {
    const cert = await issueCa({ commonName: "paynet CA" });
    return { cert, location: { dir: certsDir, created: true, inProject: true } };
  }
  const sibling = siblingCaDir(projectDir);
  if (existsSync(join(sibling, "ca.crt")) && existsSync(join(sibling, "ca.key"))) {
    return { cert: readCa(sibling), location: { dir: sibling, created: false, inProject: false } };
  }
  if (existsSync(sibling) && readdirSync(sibling).length > 0) {
    throw new ScaffoldError(
      "TARGET_NOT_EMPTY",
      `${sibling} exists without a CA in it: a device project keeps the CA's key out of the project, ` +
        "in that directory; pass --ca DIR to issue from the operator's CA (ca.crt and ca.key) instead",
    );
  }
  const cert = await issueCa({ commonName: "paynet CA" });
  mkdirSync(sibling, { recursive: true, mode: DIR_MODE });
  await writeFileAtomic(join(sibling, "ca.crt"), cert.cert, CERT_MODE);
  await writeFileAtomic(join(sibling, "ca.key"), cert.key, KEY_MODE);
  return { cert, location: { dir: sibling, created: true, inProject: false } };
}

/** Reads and checks the CA in `dir`: a CA certificate and the key that belongs to it. */
function readCa(dir: string): IssuedCert {
  const certPath = join(dir, "ca.crt");
  const keyPath = join(dir, "ca.key");
  for (const path of [certPath, keyPath]) {
    if (!existsSync(path)) {
      throw new ScaffoldError(
        "PROJECT_CONFIG",
        `--ca ${dir}: ${path} not found (the CA directory holds ca.crt and ca.key, as \`paynet-gen certs init\` writes them)`,
      );
    }
  }
  const cert = readFileSync(certPath, "utf8");
  const key = readFileSync(keyPath, "utf8");
  let parsed: X509Certificate;
  try {
    parsed = new X509Certificate(cert);
  } catch (error) {
    throw new ScaffoldError(
      "PROJECT_CONFIG",
      `--ca ${dir}: ${certPath} is not a certificate (${String(error)})`,
    );
  }
  if (!parsed.ca)
    throw new ScaffoldError("PROJECT_CONFIG", `--ca ${dir}: ${certPath} is not a CA certificate`);
  const keySpki = createPublicKey(key).export({ type: "spki", format: "der" });
  if (!keySpki.equals(parsed.publicKey.export({ type: "spki", format: "der" }))) {
    throw new ScaffoldError("PROJECT_CONFIG", `--ca ${dir}: ${keyPath} does not belong to ${certPath}`);
  }
  return { cert, key, serialNumber: parsed.serialNumber };
}
