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
  /**
   * Warnings about the client certificate: it expires within {@link EXPIRY_WARNING_DAYS} days, or
   * it names another device than `--sn`.
   */
  readonly warnings: readonly string[];
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
 * Trusts `ca.crt` of the certs directory and presents `--cert/--key`, else the serial's own
 * `<SN>.crt/<SN>.key` (as `paynet-gen certs device SN` writes them), else `device.crt/device.key`
 * of the certs directory, when both files exist (so the same command works against mTLS servers).
 */
export async function loadDeviceTls(options: PaynetcliOptions): Promise<DeviceTls> {
  const ca = await readRequired(join(options.certsDir, "ca.crt"), options.certsDir);
  const server: ClientTlsOptions = {
    minVersion: options.tlsMinVersion,
    ...(options.servername === undefined ? {} : { servername: options.servername }),
  };
  const candidates =
    options.certPath !== undefined && options.keyPath !== undefined
      ? [{ cert: options.certPath, key: options.keyPath }]
      : [
          ...[serialCertFiles(options.certsDir, options.sn)].filter((files) => files !== undefined),
          { cert: join(options.certsDir, "device.crt"), key: join(options.certsDir, "device.key") },
        ];
  for (const files of candidates) {
    const [cert, key] = await Promise.all([readOptional(files.cert), readOptional(files.key)]);
    if (cert === undefined || key === undefined) continue;
    const warnings = [
      certificateExpiryWarning(cert, files.cert),
      serialMismatchWarning(cert, files.cert, options.sn),
    ].filter((warning) => warning !== undefined);
    return { tls: { ca, cert, key, ...server }, certPath: files.cert, warnings };
  }
  if (options.certPath !== undefined) await readRequired(options.certPath, options.certsDir);
  return { tls: { ca, ...server }, certPath: undefined, warnings: [] };
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
