/** Peer identity from a verified certificate, and the expiry arithmetic around it. */
import { X509Certificate } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import type { PeerIdentity } from "../server/types.js";
import { normaliseSerial } from "./der.js";

/** Warn about certificates that expire within this many days. */
export const EXPIRY_WARNING_DAYS = 30;

const DAY_MS = 86_400_000;

/**
 * The identity of a peer certificate as Node reports it, or `undefined` when the peer sent none
 * (Node then returns an empty object).
 */
export function identityOf(
  certificate: PeerCertificate | Record<string, never> | undefined,
): PeerIdentity | undefined {
  if (certificate === undefined || !("raw" in certificate) || certificate.raw === undefined) return undefined;
  const cn = certificate.subject?.CN;
  return {
    commonName: Array.isArray(cn) ? cn[0] : cn,
    subjectAltNames: splitAltNames(certificate.subjectaltname),
    serialNumber: normaliseSerial(certificate.serialNumber),
    fingerprint256: certificate.fingerprint256,
    validTo: new Date(certificate.valid_to),
  };
}

/** `DNS:a, IP Address:1.2.3.4` → `["DNS:a", "IP Address:1.2.3.4"]`. */
function splitAltNames(altNames: string | undefined): string[] {
  if (altNames === undefined || altNames === "") return [];
  return altNames.split(/,\s*/).filter((name) => name !== "");
}

/** Why a certificate's validity period excludes `now`, or `undefined` when it is valid. */
export function validityProblem(certificate: PeerCertificate, now: number): string | undefined {
  if (Date.parse(certificate.valid_to) < now) return `certificate expired on ${certificate.valid_to}`;
  if (Date.parse(certificate.valid_from) > now)
    return `certificate not valid before ${certificate.valid_from}`;
  return undefined;
}

/** Whole days left until `validTo` (negative when already expired). */
export function daysLeft(validTo: Date, now: number): number {
  return Math.floor((validTo.getTime() - now) / DAY_MS);
}

/** Whether a certificate valid until `validTo` is inside the expiry warning window. */
export function expiresSoon(validTo: Date, now: number): boolean {
  return validTo.getTime() - now < EXPIRY_WARNING_DAYS * DAY_MS;
}

/** Subject CN and expiry of the first certificate in a PEM chain (the server's own certificate). */
export function leafCertificateInfo(pem: string | Buffer): { subject: string; validTo: Date } {
  const leaf = new X509Certificate(pem);
  return { subject: leaf.subject.replace(/\n/g, ", "), validTo: new Date(leaf.validTo) };
}
