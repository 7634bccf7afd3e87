/** Reading a CA's revocation list file (`ca.crl`): parsed and its signature checked against the CA. */
import type { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { messageOf } from "./files.js";
import { x509 } from "./x509.js";

/** One revoked serial of a CRL, as encoded there (hex). */
export interface CrlEntry {
  readonly serialNumber: string;
  readonly revokedAt: Date;
  /** The CRL reason code, when the entry has one. */
  readonly reasonCode: number | undefined;
}

/** A CRL signed by the CA it was checked against. */
export interface SignedCrl {
  readonly entries: readonly CrlEntry[];
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
}

/** Why a CRL file cannot be used. */
export class CrlFileError extends Error {
  override readonly name = "CrlFileError";
}

/** Reads the PEM CRL at `path` and checks it is signed by `caCert`; throws {@link CrlFileError}. */
export async function readSignedCrl(path: string, caCert: X509Certificate): Promise<SignedCrl> {
  let crl: x509.X509Crl;
  try {
    crl = new x509.X509Crl(x509.PemConverter.decodeFirst(await readFile(path, "utf8")));
  } catch (error) {
    throw new CrlFileError(`not a PEM CRL (${messageOf(error)})`, { cause: error });
  }
  const signer = new x509.X509Certificate(caCert.raw);
  if (
    crl.issuerName.toString() !== signer.subjectName.toString() ||
    !(await crl.verify({ publicKey: signer }))
  ) {
    throw new CrlFileError(`it is not signed by the CA ${caCert.subject}`);
  }
  return {
    entries: crl.entries.map((entry) => ({
      serialNumber: entry.serialNumber,
      revokedAt: entry.revocationDate,
      reasonCode: entry.reason,
    })),
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
  };
}

/** Upper-case hex without separators or leading zero bytes (sign padding), as Node prints serials. */
export function canonicalSerial(serial: string): string {
  const hex = serial
    .replace(/:/g, "")
    .toUpperCase()
    .replace(/^(?:00)+(?=[0-9A-F])/, "");
  return hex.length === 0 ? "00" : hex;
}

/** Whether two hex serial numbers denote the same number. */
export function sameSerial(a: string, b: string): boolean {
  return canonicalSerial(a).replace(/^0+/, "") === canonicalSerial(b).replace(/^0+/, "");
}
