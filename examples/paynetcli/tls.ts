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
}

/**
 * Trusts `ca.crt` of the certs directory and presents `--cert/--key`, else `device.crt/device.key`
 * of the certs directory when both exist (so the same command works against mTLS servers).
 */
export async function loadDeviceTls(options: PaynetcliOptions): Promise<DeviceTls> {
  const certsDir = options.certsDir ?? "certs";
  const ca = await readRequired(options.caPath, certsDir);
  const server: ClientTlsOptions = {
    minVersion: options.tlsMinVersion,
    ...(options.servername === undefined ? {} : { servername: options.servername }),
  };
  const certPath =
    options.certPath ?? (options.certsDir === undefined ? undefined : join(options.certsDir, "device.crt"));
  const keyPath =
    options.keyPath ?? (options.certsDir === undefined ? undefined : join(options.certsDir, "device.key"));
  if (certPath === undefined || keyPath === undefined) {
    return { tls: { ca, ...server }, certPath: undefined, expiryWarning: undefined };
  }
  const [cert, key] = await Promise.all([readOptional(certPath), readOptional(keyPath)]);
  if (cert === undefined || key === undefined) {
    if (options.certPath !== undefined) await readRequired(certPath, certsDir);
    return { tls: { ca, ...server }, certPath: undefined, expiryWarning: undefined };
  }
  const [leaf] = certificatesIn(cert, certPath, "device");
  const warning = leaf === undefined ? undefined : expiryWarning(leaf, options.certWarnDays);
  return { tls: { ca, cert, key, ...server }, certPath, expiryWarning: warning };
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
