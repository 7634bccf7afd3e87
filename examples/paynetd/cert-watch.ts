/**
 * paynetd's own certificates: its server certificate and the client CA(s). A warning is logged at
 * start, after every TLS reload and once a day while one of them expires within the warning window;
 * the Prometheus gauge `paynet_cert_expiry_timestamp_seconds{cert}` reads the dates from here.
 */
import { readFileSync } from "node:fs";
import { type CertificateInfo, certificatesIn, daysLeft, expiryWarning } from "../shared/cert-expiry.js";
import type { Log } from "../shared/log.js";
import type { ServerTlsFiles } from "./tls.js";

const DAY_MS = 86_400_000;

/** Watches the expiry of the certificates paynetd serves with. */
export class CertificateWatch {
  readonly #log: Log;
  #warnDays: number;
  #certificates: CertificateInfo[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(log: Log, warnDays: number) {
    this.#log = log;
    this.#warnDays = warnDays;
  }

  /** Reads the certificates in force (server and, with mTLS, the client CA bundle) and checks them. */
  load(files: ServerTlsFiles, mtls: boolean): void {
    const certificates = certificatesIn(readFileSync(files.cert, "utf8"), files.cert, "server").slice(0, 1);
    if (mtls && files.ca !== undefined) {
      const cas = certificatesIn(readFileSync(files.ca, "utf8"), files.ca, "ca");
      certificates.push(
        ...cas.map((ca, index) => (cas.length === 1 ? ca : { ...ca, label: `ca${index + 1}` })),
      );
    }
    this.#certificates = certificates;
    this.check();
  }

  /** A new warning window (SIGHUP); checks again. */
  setWarnDays(days: number): void {
    this.#warnDays = days;
    this.check();
  }

  /** Logs one warning per certificate within the window. */
  check(now = Date.now()): void {
    for (const certificate of this.#certificates) {
      const warning = expiryWarning(certificate, this.#warnDays, now);
      if (warning === undefined) continue;
      this.#log.warn(
        {
          event: "cert_expiry",
          cert: certificate.label,
          path: certificate.path,
          notAfter: certificate.notAfter.toISOString(),
          daysLeft: daysLeft(certificate, now),
        },
        warning,
      );
    }
  }

  /** Checks once a day from now on (the timer does not keep the process alive). */
  start(): void {
    this.#timer ??= setInterval(() => this.check(), DAY_MS).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The certificates and their expiry, for the metrics gauge. */
  expiries(): Array<{ cert: string; notAfter: Date }> {
    return this.#certificates.map((certificate) => ({
      cert: certificate.label,
      notAfter: certificate.notAfter,
    }));
  }
}
