import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ClientTlsOptions } from "@paynet/runtime";
import { certificatesIn, expiryWarning } from "../shared/cert-expiry.js";
import { ExampleError } from "../shared/errors.js";
import type { PaynetcliOptions } from "./options.js";

/** The device's TLS material, and whether it presents a client certificate. */
export interface DeviceTls {
  readonly tls: ClientTlsOptions;
  /** Path of the client certificate presented, if any. */
  readonly certPath: string | undefined;
  /** A warning when the client certificate expires within `certWarnDays` days. */
  readonly expiryWarning: string | undefined;
  /** A warning when the client certificate names another device than `--sn`. */
  readonly serialWarning: string | undefined;
}

/**
 * A warning text when the certificate `pem` (at `path`) does not name the serial `sn`: a server
 * binding identities (paynetd --mtls) refuses a device that registers as another serial.
 */
export function serialMismatchWarning(pem: string, path: string, sn: string): string | undefined {
  const cn = /^CN=(.*)$/m.exec(new X509Certificate(pem).subject)?.[1];
  if (cn === sn) return undefined;
  return `device certificate ${path} names device ${cn === undefined ? "(no CN)" : JSON.stringify(cn)}, not --sn ${JSON.stringify(sn)}: an mTLS server refuses this registration; issue one for it with: npx paynet-gen certs device ${sn}`;
}

/** Files `paynet-gen certs device SN` writes for a serial made only of `[A-Za-z0-9._-]`. */
function serialCertFiles(certsDir: string, sn: string): { cert: string; key: string } | undefined {
  if (!/^[A-Za-z0-9._-]+$/.test(sn)) return undefined;
  return { cert: join(certsDir, `${sn}.crt`), key: join(certsDir, `${sn}.key`) };
}

/**
 * Trusts the CA and presents `--cert/--key`, else the serial's own `<SN>.crt/<SN>.key` of the
 * certs directory (as `paynet-gen certs device SN` writes them), else `device.crt/device.key` of
 * the certs directory, when both files exist (so the same command works against mTLS servers).
 */
export async function loadDeviceTls(options: PaynetcliOptions): Promise<DeviceTls> {
  const certsDir = options.certsDir ?? "certs";
  const ca = await readRequired(options.caPath, certsDir);
  const server: ClientTlsOptions = {
    minVersion: options.tlsMinVersion,
    ...(options.servername === undefined ? {} : { servername: options.servername }),
  };
  const dir = options.certsDir;
  const candidates =
    options.certPath !== undefined && options.keyPath !== undefined
      ? [{ cert: options.certPath, key: options.keyPath }]
      : dir === undefined
        ? []
        : [
            ...[serialCertFiles(dir, options.sn)].filter((files) => files !== undefined),
            { cert: join(dir, "device.crt"), key: join(dir, "device.key") },
          ];
  for (const files of candidates) {
    const [cert, key] = await Promise.all([readOptional(files.cert), readOptional(files.key)]);
    if (cert === undefined || key === undefined) continue;
    const [leaf] = certificatesIn(cert, files.cert, "device");
    return {
      tls: { ca, cert, key, ...server },
      certPath: files.cert,
      expiryWarning: leaf === undefined ? undefined : expiryWarning(leaf, options.certWarnDays),
      serialWarning: serialMismatchWarning(cert, files.cert, options.sn),
    };
  }
  if (options.certPath !== undefined) await readRequired(options.certPath, certsDir);
  return { tls: { ca, ...server }, certPath: undefined, expiryWarning: undefined, serialWarning: undefined };
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

async function readRequired(path: string, certsDir: string): Promise<string> {
  const pem = await readOptional(path);
  if (pem === undefined) {
    throw new ExampleError(
      "CERTS_MISSING",
      `cannot read ${path}; issue certificates with: npx paynet-gen certs init --out ${certsDir}`,
    );
  }
  return pem;
}
