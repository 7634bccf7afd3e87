/** Up-front validation of a server's `tls` options, with messages naming the option. */
import { InvalidOptionsError } from "../errors.js";
import type { ServerTlsOptions } from "../server/types.js";

/** Length Node requires of `ticketKeys`: 16 bytes name, 16 HMAC, 16 AES. */
export const TICKET_KEYS_LENGTH = 48;

/** The TLS versions a server or client may be limited to; 1.2 is an explicit opt-in. */
const TLS_MIN_VERSIONS = ["TLSv1.3", "TLSv1.2"] as const;

/** Throws `InvalidOptionsError` naming the first bad `tls.*` option. */
export function validateTlsOptions(options: ServerTlsOptions): void {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionsError("tls", "expected an object with cert and key");
  }
  if (options.cert === undefined) throw new InvalidOptionsError("tls.cert", "required (PEM contents)");
  if (options.key === undefined) throw new InvalidOptionsError("tls.key", "required (PEM contents)");
  const { minVersion, staleCrl, ticketKeys, ticketLifetimeSec, verifyPeer } = options;
  validateMinVersion("tls.minVersion", minVersion);
  if (staleCrl !== undefined && staleCrl !== "warn" && staleCrl !== "fail") {
    throw new InvalidOptionsError(
      "tls.staleCrl",
      `expected "warn" or "fail", got ${JSON.stringify(staleCrl)}`,
    );
  }
  if (
    ticketKeys !== undefined &&
    (!Buffer.isBuffer(ticketKeys) || ticketKeys.length !== TICKET_KEYS_LENGTH)
  ) {
    const got = Buffer.isBuffer(ticketKeys) ? `${ticketKeys.length} bytes` : typeof ticketKeys;
    throw new InvalidOptionsError(
      "tls.ticketKeys",
      `expected a Buffer of ${TICKET_KEYS_LENGTH} bytes, got ${got}`,
    );
  }
  if (ticketLifetimeSec !== undefined && !(Number.isInteger(ticketLifetimeSec) && ticketLifetimeSec > 0)) {
    throw new InvalidOptionsError(
      "tls.ticketLifetimeSec",
      `expected a positive integer, got ${ticketLifetimeSec}`,
    );
  }
  if (verifyPeer !== undefined && typeof verifyPeer !== "function") {
    throw new InvalidOptionsError("tls.verifyPeer", `expected a function, got ${typeof verifyPeer}`);
  }
  if (options.requireClientCert === true && options.ca === undefined && verifyPeer === undefined) {
    throw new InvalidOptionsError(
      "tls.ca",
      "required when requireClientCert is true (CA that signs device certificates), unless verifyPeer decides alone",
    );
  }
}

/**
 * `minVersion` must be one of {@link TLS_MIN_VERSIONS}, spelt as Node spells it: anything else
 * (`"1.2"`, `"TLSv1.1"`, a number) is refused rather than guessed at.
 */
export function validateMinVersion(option: string, minVersion: unknown): void {
  if (minVersion === undefined || (TLS_MIN_VERSIONS as readonly unknown[]).includes(minVersion)) return;
  const got = typeof minVersion === "string" ? JSON.stringify(minVersion) : String(minVersion);
  throw new InvalidOptionsError(
    option,
    `expected "TLSv1.3" (the default) or "TLSv1.2" (opt-in for device stacks without TLS 1.3), got ${got}`,
  );
}
