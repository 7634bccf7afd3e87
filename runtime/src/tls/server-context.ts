/**
 * The server's TLS material and admission policy: builds the `tls.Server` options, hot-reloads
 * certificate/key/CA/CRL without invalidating session tickets, and decides after every handshake
 * (full or resumed) whether the peer is let in, against the trust in force at that moment.
 */
import { randomBytes, type X509Certificate } from "node:crypto";
import { createSecureContext, type TLSSocket, type TlsOptions, type Server as TlsServer } from "node:tls";
import { InvalidOptionsError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { PeerIdentity, ServerTlsOptions, TlsStats } from "../server/types.js";
import { CrlFreshness } from "./crl-freshness.js";
import { daysLeft, expiresSoon, identityOf, leafCertificateInfo, validityProblem } from "./identity.js";
import { RevocationList } from "./revocation.js";
import { TICKET_KEYS_LENGTH, validateTlsOptions } from "./tls-options.js";
import {
  CERTIFICATE_REJECTIONS,
  type CertificateRejection,
  type StaleCrlPolicy,
  TrustPolicy,
} from "./trust-policy.js";
import { CertificatePool, TrustStore } from "./trust-store.js";

export { TICKET_KEYS_LENGTH } from "./tls-options.js";
/** Default ticket lifetime: a day, so devices resume after hours-long 4G outages. */
export const DEFAULT_TICKET_LIFETIME_SEC = 86_400;
/**
 * Fixed session id context. Node derives one from `process.argv` when client certificates are
 * requested, which makes tickets unusable by any other process sharing the ticket keys.
 */
const SESSION_ID_CONTEXT = "paynet";
/**
 * Intermediate CAs remembered from verified full handshakes, to rebuild the chains of resumed ones
 * (a resumed peer sends no certificates). Fleets have a handful; the bound only stops growth.
 */
const MAX_REMEMBERED_INTERMEDIATES = 1_000;
/** Certificates taken from what a peer sent after its own (OpenSSL verified the chain already). */
const MAX_SENT_INTERMEDIATES = 16;

type TlsMaterial = Pick<ServerTlsOptions, "cert" | "key" | "ca" | "crl">;

/** Outcome of {@link ServerTlsContext.admit}. */
export type PeerVerdict =
  | {
      readonly accepted: true;
      readonly identity: PeerIdentity | undefined;
      /** The peer certificate and its verified chain (mTLS), for the checks after a reload. */
      readonly certificate: AdmittedCertificate | undefined;
    }
  | {
      readonly accepted: false;
      readonly identity: PeerIdentity | undefined;
      readonly rejection: CertificateRejection;
      readonly reason: string;
    };

/** What a connected session's certificate is re-checked with after a reload. */
export interface AdmittedCertificate {
  /** DER of the peer certificate. */
  readonly certificateDer: Uint8Array;
  /** Its verified chain above it at admission, root last; empty without a CA bundle. */
  readonly issuers: readonly X509Certificate[];
}

/** A refusal of {@link ServerTlsContext.recheck}. */
export interface Rejection {
  readonly rejection: CertificateRejection;
  readonly reason: string;
}

/** TLS state of one server; see the module comment. */
export class ServerTlsContext {
  /** Ticket encryption keys; re-applied after every reload so issued tickets stay valid. */
  readonly ticketKeys: Buffer;
  readonly #options: ServerTlsOptions;
  readonly #logger: Logger;
  readonly #staleCrl: StaleCrlPolicy;
  readonly #remembered = new CertificatePool(MAX_REMEMBERED_INTERMEDIATES);
  readonly #rejections = Object.fromEntries(CERTIFICATE_REJECTIONS.map((kind) => [kind, 0])) as Record<
    CertificateRejection,
    number
  >;
  #material: TlsMaterial;
  #policy: TrustPolicy;
  #rememberedFullLogged = false;
  readonly #freshness: CrlFreshness;

  /** Validates `options`; throws `InvalidOptionsError` naming the offending `tls.*` option. */
  constructor(options: ServerTlsOptions, logger: Logger) {
    validateTlsOptions(options);
    this.#options = options;
    this.#logger = logger;
    this.#staleCrl = options.staleCrl ?? "warn";
    this.#material = { cert: options.cert, key: options.key };
    if (options.ca !== undefined) this.#material.ca = options.ca;
    if (options.crl !== undefined) this.#material.crl = options.crl;
    this.#policy = this.#policyOf(this.#material);
    this.ticketKeys = options.ticketKeys ?? randomBytes(TICKET_KEYS_LENGTH);
    secureContextOf(this.#material);
    this.#freshness = new CrlFreshness(logger, this.#staleCrl);
    this.#freshness.watch(this.#policy);
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
   * anything changes; on error the old material stays in force. Existing tickets stay valid (and
   * every handshake, resumed or not, is checked against the new trust). Returns whether the trust
   * changed (`ca` or `crl` given), i.e. whether connected sessions need {@link recheck}.
   */
  reload(server: TlsServer | undefined, update: Partial<TlsMaterial>): boolean {
    const material: TlsMaterial = { ...this.#material };
    for (const name of ["cert", "key", "ca", "crl"] as const) {
      if (name in update) material[name] = update[name] as never;
    }
    const policy = this.#policyOf(material);
    secureContextOf(material);
    if (server !== undefined) {
      server.setSecureContext(this.#contextOptions(material));
      // Belt and braces: without our keys every ticket issued so far would be invalid.
      server.setTicketKeys(this.ticketKeys);
    }
    this.#material = material;
    this.#policy = policy;
    this.#logger.info(
      {
        revoked: policy.revocations.size,
        crls: policy.revocations.crls.length,
        trustedCertificates: policy.store?.size ?? 0,
        changed: Object.keys(update),
      },
      "TLS material reloaded",
    );
    this.warnOwnExpiry();
    this.#freshness.watch(policy);
    return "ca" in update || "crl" in update;
  }

  /** Stops the CRL freshness timer (the server stopped). */
  close(): void {
    this.#freshness.close();
  }

  /**
   * Whether a session admitted earlier would still be let in by the trust now in force: its chain
   * anchors in the CA bundle and nothing on it is revoked. Counts the refusal.
   */
  recheck(admitted: AdmittedCertificate, now = Date.now()): Rejection | undefined {
    const verdict = this.#policy.recheck(admitted.certificateDer, admitted.issuers, [this.#remembered], now);
    if (verdict.trusted) return undefined;
    this.#rejections[verdict.rejection]++;
    return verdict;
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

  /** CRLs and refusals, for `server.stats().tls`; logs CRLs gone stale since the last look. */
  stats(now = Date.now()): TlsStats {
    const revocations = this.#policy.revocations;
    const staleCrls = this.#freshness.staleCount(now);
    return {
      crls: revocations.crls.length,
      staleCrls,
      revokedCertificates: revocations.size,
      staleCrlPolicy: this.#staleCrl,
      rejections: { ...this.#rejections },
    };
  }

  /**
   * Decides whether the peer of a completed handshake is let in, against the trust in force now:
   * OpenSSL's verdict (full handshakes only: a resumed one carries the verdict of its original
   * handshake), the chain rebuilt against the current CA bundle, the validity period, revocation of
   * every certificate of the chain, CRL freshness (`tls.staleCrl`) and the `verifyPeer` callback
   * (given at most `verifyTimeoutMs`, 0 = unbounded). Without a CA bundle the chain is not required
   * to verify: `verifyPeer` sees `authorized: false` and decides (pinning). Warns about peer
   * certificates close to expiry.
   */
  async admit(socket: TLSSocket, peer: string, verifyTimeoutMs = 0, now = Date.now()): Promise<PeerVerdict> {
    const certificate = this.requireClientCert ? socket.getPeerCertificate() : undefined;
    const identity = identityOf(certificate);
    const resumed = socket.isSessionReused();
    const refuse = (rejection: CertificateRejection, reason: string): PeerVerdict => {
      this.#rejections[rejection]++;
      return { accepted: false, identity, rejection, reason };
    };
    const verifyPeer = this.#options.verifyPeer;
    const authorizationError =
      socket.authorized || socket.authorizationError === undefined
        ? undefined
        : String(socket.authorizationError);
    let admitted: AdmittedCertificate | undefined;
    if (this.requireClientCert) {
      const leaf = socket.getPeerX509Certificate();
      if (certificate === undefined || identity === undefined || leaf === undefined) {
        return refuse("no-certificate", "no client certificate");
      }
      const policy = this.#policy;
      // With a CA bundle the chain must verify; without one, `verifyPeer` alone decides (pinning).
      if (!resumed && !socket.authorized && (policy.store !== undefined || verifyPeer === undefined)) {
        const expired =
          authorizationError === "CERT_HAS_EXPIRED" || authorizationError === "CERT_NOT_YET_VALID";
        return refuse(
          expired ? "expired" : "untrusted",
          `certificate verification failed: ${authorizationError ?? "unknown reason"}`,
        );
      }
      const invalid = validityProblem(certificate, now);
      if (invalid !== undefined) return refuse("expired", invalid);
      const sent = resumed ? [] : [peerSentIntermediates(leaf)];
      const verdict = policy.check(leaf, [...sent, this.#remembered], now);
      if (!verdict.trusted) return refuse(verdict.rejection, verdict.reason);
      admitted = { certificateDer: certificate.raw, issuers: verdict.issuers };
      if (!resumed) this.#remember(verdict.issuers);
      for (const crl of verdict.staleCrls) this.#freshness.report(crl);
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
        return refuse(
          "verify-peer",
          `verifyPeer failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      if (verdict !== true) {
        return refuse("verify-peer", typeof verdict === "string" ? verdict : "refused by verifyPeer");
      }
    }
    return { accepted: true, identity, certificate: admitted };
  }

  /** Counts a refusal decided outside {@link admit} (an admission check that threw). */
  countRejection(rejection: CertificateRejection): void {
    this.#rejections[rejection]++;
  }

  #policyOf(material: TlsMaterial): TrustPolicy {
    return new TrustPolicy(parseCa(material.ca), parseCrl(material.crl), this.#staleCrl);
  }

  /** Keeps the intermediates of a verified chain, for the resumed handshakes of its devices. */
  #remember(issuers: readonly X509Certificate[]): void {
    const store = this.#policy.store;
    for (const ca of issuers) {
      if (store?.has(ca)) continue;
      const kept = this.#remembered.add(ca);
      if (kept || this.#rememberedFullLogged) continue;
      this.#rememberedFullLogged = true;
      this.#logger.warn(
        { limit: MAX_REMEMBERED_INTERMEDIATES },
        "too many distinct intermediate CAs to remember: resumed devices under further ones are refused until they reconnect with a full handshake; add the intermediates to tls.ca",
      );
    }
  }
}

/** The intermediates the peer sent after its certificate (full handshakes only). */
function peerSentIntermediates(leaf: X509Certificate): CertificatePool {
  const sent = new CertificatePool(MAX_SENT_INTERMEDIATES);
  let cert = leaf.issuerCertificate;
  // Node links the chain as the peer sent it; a self-issued certificate may point at itself.
  while (cert !== undefined && !sent.has(cert) && sent.add(cert)) cert = cert.issuerCertificate;
  return sent;
}

function parseCa(ca: TlsMaterial["ca"]): TrustStore | undefined {
  if (ca === undefined) return undefined;
  try {
    return TrustStore.fromPem(ca);
  } catch (error) {
    throw new InvalidOptionsError("tls.ca", (error as Error).message);
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
