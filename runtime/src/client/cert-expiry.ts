/**
 * The device's own certificate (`tls.cert`, mTLS): a warning in the logger when it expires within
 * 30 days, at `start()` and then at most once a day, at a login, so a device that runs for months
 * is reminded without a restart. An unreadable certificate is left to the TLS handshake to report.
 */
import type { Logger } from "../logger.js";
import { daysLeft, expiresSoon, leafCertificateInfo } from "../tls/identity.js";
import type { ClientTlsOptions } from "./types.js";

const DAY_MS = 86_400_000;

export class OwnCertificateExpiry {
  readonly #leaf: { subject: string; validTo: Date } | undefined;
  readonly #logger: Logger;
  #lastWarnedAt = Number.NEGATIVE_INFINITY;

  constructor(tls: ClientTlsOptions, logger: Logger) {
    this.#logger = logger;
    this.#leaf = readLeaf(tls.cert);
  }

  /** Warns when the certificate is inside the window, unless it did so less than a day ago. */
  check(now = Date.now()): void {
    const leaf = this.#leaf;
    if (leaf === undefined || !expiresSoon(leaf.validTo, now) || now - this.#lastWarnedAt < DAY_MS) return;
    this.#lastWarnedAt = now;
    this.#logger.warn(
      { subject: leaf.subject, validTo: leaf.validTo.toISOString(), daysLeft: daysLeft(leaf.validTo, now) },
      "device certificate expires soon",
    );
  }
}

function readLeaf(cert: ClientTlsOptions["cert"]): { subject: string; validTo: Date } | undefined {
  const first = typeof cert === "string" || Buffer.isBuffer(cert) ? cert : cert?.[0];
  if (first === undefined) return undefined;
  try {
    return leafCertificateInfo(first);
  } catch {
    return undefined;
  }
}
