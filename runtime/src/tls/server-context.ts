/**
 * The server's TLS material and admission policy: builds the `tls.Server` options, hot-reloads
 * certificate/key/CA/CRL without invalidating session tickets, and decides after every handshake
 * (full or resumed) whether the peer is let in.
 */
import { randomBytes } from "node:crypto";
import { createSecureContext, type TLSSocket, type TlsOptions, type Server as TlsServer } from "node:tls";
import { InvalidOptionsError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { PeerIdentity, ServerTlsOptions } from "../server/types.js";
import { daysLeft, expiresSoon, identityOf, leafCertificateInfo, validityProblem } from "./identity.js";
import { RevocationList } from "./revocation.js";

/** Length Node requires of `ticketKeys`: 16 bytes name, 16 HMAC, 16 AES. */
export const TICKET_KEYS_LENGTH = 48;
/** Default ticket lifetime: a day, so devices resume after hours-long 4G outages. */
export const DEFAULT_TICKET_LIFETIME_SEC = 86_400;
/**
 * Fixed session id context. Node derives one from `process.argv` when client certificates are
 * requested, which makes tickets unusable by any other process sharing the ticket keys.
 */
const SESSION_ID_CONTEXT = "paynet";

type TlsMaterial = Pick<ServerTlsOptions, "cert" | "key" | "ca" | "crl">;

/** Outcome of {@link ServerTlsContext.admit}. */
export type PeerVerdict =
  | { readonly accepted: true; readonly identity: PeerIdentity | undefined }
  | { readonly accepted: false; readonly identity: PeerIdentity | undefined; readonly reason: string };

/** TLS state of one server; see the module comment. */
export class ServerTlsContext {
  /** Ticket encryption keys; re-applied after every reload so issued tickets stay valid. */
  readonly ticketKeys: Buffer;
  readonly #options: ServerTlsOptions;
  readonly #logger: Logger;
  #material: TlsMaterial;
  #revocations: RevocationList;

  /** Validates `options`; throws `InvalidOptionsError` naming the offending `tls.*` option. */
  constructor(options: ServerTlsOptions, logger: Logger) {
    validateTlsOptions(options);
    this.#options = options;
    this.#logger = logger;
    this.#material = { cert: options.cert, key: options.key };
    if (options.ca !== undefined) this.#material.ca = options.ca;
    if (options.crl !== undefined) this.#material.crl = options.crl;
    this.#revocations = parseCrl(options.crl);
    this.ticketKeys = options.ticketKeys ?? randomBytes(TICKET_KEYS_LENGTH);
    secureContextOf(this.#material);
  }

  /** Whether a client certificate is required (mTLS). */
  get requireClientCert(): boolean {
    return this.#options.requireClientCert === true;
  }

  /** Options for `tls.createServer`. */
  serverOptions(handshakeTimeoutMs: number): TlsOptions {
    return {
      ...this.#contextOptions(this.#material),
      requestCert: this.requireClientCert,
      // Node's own rejection destroys the socket after the handshake without telling why (the
      // server only sees ECONNRESET). `admit()` refuses instead, with the verification reason.
      rejectUnauthorized: false,
      // Node's own timer; 0 disables it. It surfaces as a `tlsClientError` ("TLS handshake timeout").
      handshakeTimeout: handshakeTimeoutMs,
    };
  }

  /**
   * Everything that lives in the secure context. `setSecureContext()` resets whatever it is not
   * given (minVersion back to TLS 1.2, an argv-derived session id context, fresh ticket keys), so a
   * reload must pass all of it again.
   */
  #contextOptions(material: TlsMaterial): TlsOptions {
    return {
      ...pemOptions(material),
      minVersion: this.#options.minVersion ?? "TLSv1.3",
      ticketKeys: this.ticketKeys,
      sessionTimeout: this.#options.ticketLifetimeSec ?? DEFAULT_TICKET_LIFETIME_SEC,
      sessionIdContext: SESSION_ID_CONTEXT,
    };
  }

  /**
   * Replaces certificate, key, CA and/or CRL on a running server. Everything is validated before
   * anything changes; on error the old material stays in force. Existing tickets stay valid.
   */
  reload(server: TlsServer | undefined, update: Partial<TlsMaterial>): void {
    const material: TlsMaterial = { ...this.#material };
    for (const name of ["cert", "key", "ca", "crl"] as const) {
      if (name in update) material[name] = update[name] as never;
    }
    const revocations = parseCrl(material.crl);
    secureContextOf(material);
    if (server !== undefined) {
      server.setSecureContext(this.#contextOptions(material));
      // Belt and braces: without our keys every ticket issued so far would be invalid.
      server.setTicketKeys(this.ticketKeys);
    }
    this.#material = material;
    this.#revocations = revocations;
    this.#logger.info({ revoked: revocations.size, changed: Object.keys(update) }, "TLS material reloaded");
    this.warnOwnExpiry();
  }

  /**
   * Why a peer certificate (DER) is refused by the current CRLs, or `undefined` when it is not
   * revoked. Used after a reload to close sessions admitted before the revocation.
   */
  revocationOf(certificateDer: Uint8Array, identity: PeerIdentity | undefined): string | undefined {
    if (!this.#revocations.isRevoked(certificateDer)) return undefined;
    return `certificate revoked (serial ${identity?.serialNumber ?? "?"})`;
  }

  /** Logs a warning when the server's own certificate expires within 30 days. */
  warnOwnExpiry(now = Date.now()): void {
    const pem = firstPem(this.#material.cert);
    if (pem === undefined) return;
    const { subject, validTo } = leafCertificateInfo(pem);
    if (expiresSoon(validTo, now)) {
      this.#logger.warn(
        {
          subject,
          validTo: validTo.toISOString(),
          daysLeft: daysLeft(validTo, now),
        },
        "server certificate expires soon",
      );
    }
  }

  /**
   * Decides whether the peer of a completed handshake is let in: verification result, validity
   * period, revocation (all re-checked because a resumed handshake skips OpenSSL's checks) and the
   * `verifyPeer` callback (given at most `verifyTimeoutMs`, 0 = unbounded). Without a CA bundle the
   * chain is not required to verify: `verifyPeer` sees `authorized: false` and decides (pinning).
   * Warns about peer certificates close to expiry.
   */
  async admit(socket: TLSSocket, peer: string, verifyTimeoutMs = 0, now = Date.now()): Promise<PeerVerdict> {
    const certificate = this.requireClientCert ? socket.getPeerCertificate() : undefined;
    const identity = identityOf(certificate);
    const resumed = socket.isSessionReused();
    const refuse = (reason: string): PeerVerdict => ({ accepted: false, identity, reason });
    const verifyPeer = this.#options.verifyPeer;
    const authorizationError =
      socket.authorized || socket.authorizationError === undefined
        ? undefined
        : String(socket.authorizationError);
    if (this.requireClientCert) {
      if (certificate === undefined || identity === undefined) return refuse("no client certificate");
      // With a CA bundle the chain must verify; without one, `verifyPeer` alone decides (pinning).
      if (!socket.authorized && (this.#material.ca !== undefined || verifyPeer === undefined)) {
        return refuse(`certificate verification failed: ${authorizationError ?? "unknown reason"}`);
      }
      const invalid = validityProblem(certificate, now);
      if (invalid !== undefined) return refuse(invalid);
      if (this.#revocations.isRevoked(certificate.raw)) {
        return refuse(`certificate revoked (serial ${identity.serialNumber})`);
      }
      if (expiresSoon(identity.validTo, now)) {
        this.#logger.warn(
          {
            peer,
            commonName: identity.commonName,
            validTo: identity.validTo.toISOString(),
            daysLeft: daysLeft(identity.validTo, now),
          },
          "peer certificate expires soon",
        );
      }
    }
    if (verifyPeer !== undefined) {
      let verdict: true | string;
      const facts = {
        remoteAddress: socket.remoteAddress ?? "",
        resumed,
        authorized: socket.authorized,
        authorizationError,
      };
      try {
        verdict = await withTimeout(Promise.resolve(verifyPeer(identity, facts)), verifyTimeoutMs);
      } catch (error) {
        return refuse(`verifyPeer failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (verdict !== true) return refuse(typeof verdict === "string" ? verdict : "refused by verifyPeer");
    }
    return { accepted: true, identity };
  }
}

function validateTlsOptions(options: ServerTlsOptions): void {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionsError("tls", "expected an object with cert and key");
  }
  if (options.cert === undefined) throw new InvalidOptionsError("tls.cert", "required (PEM contents)");
  if (options.key === undefined) throw new InvalidOptionsError("tls.key", "required (PEM contents)");
  const { minVersion, ticketKeys, ticketLifetimeSec, verifyPeer } = options;
  if (minVersion !== undefined && minVersion !== "TLSv1.2" && minVersion !== "TLSv1.3") {
    throw new InvalidOptionsError(
      "tls.minVersion",
      `expected "TLSv1.2" or "TLSv1.3", got ${JSON.stringify(minVersion)}`,
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

function parseCrl(crl: TlsMaterial["crl"]): RevocationList {
  try {
    return RevocationList.fromPem(crl);
  } catch (error) {
    throw new InvalidOptionsError("tls.crl", (error as Error).message);
  }
}

/** Builds a secure context only to validate the material, turning OpenSSL's errors into ours. */
function secureContextOf(material: TlsMaterial): void {
  try {
    createSecureContext(pemOptions(material));
  } catch (error) {
    throw new InvalidOptionsError("tls.cert/key/ca", (error as Error).message);
  }
}

function pemOptions(material: TlsMaterial): Pick<TlsOptions, "cert" | "key" | "ca"> {
  const options: Pick<TlsOptions, "cert" | "key" | "ca"> = {
    cert: material.cert as TlsOptions["cert"],
    key: material.key as TlsOptions["key"],
  };
  if (material.ca !== undefined) options.ca = material.ca as TlsOptions["ca"];
  return options;
}

function firstPem(input: TlsMaterial["cert"]): string | Buffer | undefined {
  return Array.isArray(input) ? input[0] : (input as string | Buffer);
}

/** Rejects with "no answer within N ms" when `promise` takes longer than `timeoutMs` (0: never). */
function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  if (timeoutMs <= 0) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
