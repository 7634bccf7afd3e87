import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ClientTlsOptions } from "@paynet/runtime";
import { ExampleError } from "../shared/errors.js";
import type { PaynetcliOptions } from "./options.js";

/** Certificates expiring sooner than this many days get a warning at startup. */
export const EXPIRY_WARNING_DAYS = 30;

/** The device's TLS material, and whether it presents a client certificate. */
export interface DeviceTls {
  readonly tls: ClientTlsOptions;
  /** Path of the client certificate presented, if any. */
  readonly certPath: string | undefined;
  /** A warning when the client certificate expires within {@link EXPIRY_WARNING_DAYS} days. */
  readonly expiryWarning: string | undefined;
}

/**
 * A warning text when `pem` (the device's certificate at `path`) expires within
 * {@link EXPIRY_WARNING_DAYS} days or has expired, else `undefined`.
 */
export function certificateExpiryWarning(pem: string, path: string, now = Date.now()): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (error) {
    throw new ExampleError("CERTS_MISSING", `${path} is not a PEM certificate: ${String(error)}`, {
      cause: error,
    });
  }
  const validTo = new Date(cert.validTo);
  const days = (validTo.getTime() - now) / 86_400_000;
  if (days >= EXPIRY_WARNING_DAYS) return undefined;
  const when = days <= 0 ? "has expired" : `expires in ${Math.ceil(days)} day(s)`;
  return `device certificate ${path} (${cert.subject.replace(/\n/g, ", ")}) ${when}, on ${validTo.toISOString()}: issue a new one (paynet-gen certs device)`;
}

/**
 * Trusts `ca.crt` of the certs directory and presents `--cert/--key`, else `device.crt/device.key`
 * of the certs directory when both exist (so the same command works against mTLS servers).
 */
export async function loadDeviceTls(options: PaynetcliOptions): Promise<DeviceTls> {
  const ca = await readRequired(join(options.certsDir, "ca.crt"), options.certsDir);
  const server: ClientTlsOptions = {
    minVersion: options.tlsMinVersion,
    ...(options.servername === undefined ? {} : { servername: options.servername }),
  };
  const certPath = options.certPath ?? join(options.certsDir, "device.crt");
  const keyPath = options.keyPath ?? join(options.certsDir, "device.key");
  const [cert, key] = await Promise.all([readOptional(certPath), readOptional(keyPath)]);
  if (cert === undefined || key === undefined) {
    if (options.certPath !== undefined) await readRequired(certPath, options.certsDir);
    return { tls: { ca, ...server }, certPath: undefined, expiryWarning: undefined };
  }
  const expiryWarning = certificateExpiryWarning(cert, certPath);
  return { tls: { ca, cert, key, ...server }, certPath, expiryWarning };
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
