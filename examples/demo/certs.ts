/**
 * Whether the demo may reuse the certificates of an earlier run: all six files of `paynet-gen certs
 * init` present, the leaves issued by that CA with their own keys, the device certificate naming
 * the demo's device (under mTLS a certificate acts only for the serial its CN names), and nothing
 * expiring within a day (the demo must not start with certificates that are about to stop working).
 */
import { createPublicKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The files `paynet-gen certs init` writes. */
export const CERT_FILES = [
  "ca.crt",
  "ca.key",
  "server.crt",
  "server.key",
  "device.crt",
  "device.key",
] as const;

const DAY_MS = 86_400_000;

/** The serial of the demo's device: the CN of its certificate. */
export const DEMO_DEVICE_SN = "SN-DEMO-001";

/** Why the certificates in `dir` cannot be reused, or `undefined` when they can. */
export function certsProblem(dir: string, now = Date.now(), deviceSn = DEMO_DEVICE_SN): string | undefined {
  const pems: Record<string, string> = {};
  for (const name of CERT_FILES) {
    try {
      pems[name] = readFileSync(join(dir, name), "utf8");
    } catch {
      return `${name} is missing`;
    }
  }
  try {
    const ca = new X509Certificate(pems["ca.crt"] as string);
    for (const name of ["ca", "server", "device"] as const) {
      const cert = name === "ca" ? ca : new X509Certificate(pems[`${name}.crt`] as string);
      if (name !== "ca" && !(cert.checkIssued(ca) && cert.verify(ca.publicKey))) {
        return `${name}.crt was not issued by ca.crt`;
      }
      if (!sameKey(cert, pems[`${name}.key`] as string)) return `${name}.key does not belong to ${name}.crt`;
      const validTo = new Date(cert.validTo).getTime();
      if (validTo - now < DAY_MS)
        return `${name}.crt expires within a day (${new Date(validTo).toISOString()})`;
      if (new Date(cert.validFrom).getTime() > now) return `${name}.crt is not valid yet`;
      if (name === "device" && cert.subject !== `CN=${deviceSn}`) {
        return `device.crt names ${cert.subject.replace(/\n/g, ", ")}, not the device ${deviceSn}`;
      }
    }
  } catch (error) {
    return `unreadable certificate or key: ${error instanceof Error ? error.message : String(error)}`;
  }
  return undefined;
}

function sameKey(cert: X509Certificate, keyPem: string): boolean {
  const fromKey = createPublicKey(keyPem).export({ type: "spki", format: "der" });
  return fromKey.equals(cert.publicKey.export({ type: "spki", format: "der" }));
}
