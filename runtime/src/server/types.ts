import type { DeliveryOptions, MessageDef, RequestOptions, RequestSpec } from "../codec.js";
import type { DeliveryStats, PendingDeliveryStore } from "../delivery/types.js";
import type { PaynetError, PaynetErrorCode } from "../errors.js";
import type { FrameOptions } from "../frame/options.js";
import type { Logger } from "../logger.js";
import type { Registry } from "../registry.js";
import type { HandlerCounter } from "../stats.js";
import type { CertificateRejection, StaleCrlPolicy } from "../tls/trust-policy.js";
import type { AuthorizeLogin, RegisteredDevices } from "./authorize.js";
import type { ServerCluster } from "./cluster.js";
import type { SessionDirectory } from "./directory.js";
import type { DrainOptions, DrainPhase, DrainReport } from "./drain.js";

/** Identity of a verified peer certificate (mTLS). */
export interface PeerIdentity {
  /** Subject common name. */
  readonly commonName: string | undefined;
  /** Subject alternative names as Node prints them, e.g. `DNS:device-001`, `IP Address:127.0.0.1`. */
  readonly subjectAltNames: readonly string[];
  /** Serial number, upper-case hex without separators. */
  readonly serialNumber: string;
  /** SHA-256 fingerprint, `AA:BB:...`. */
  readonly fingerprint256: string;
  readonly validTo: Date;
}

/** What {@link VerifyPeer} learns about the connection besides the certificate identity. */
export interface VerifyPeerInfo {
  remoteAddress: string;
  /** The handshake resumed a TLS session (the certificate is the one of the original handshake). */
  resumed: boolean;
  /**
   * Whether the certificate chain verified against `tls.ca`. Always true when a CA bundle is
   * configured (unverified peers are refused before `verifyPeer`); false without one, where
   * `verifyPeer` alone decides (e.g. by pinned fingerprint).
   */
  authorized: boolean;
  /** OpenSSL's verification error when `authorized` is false (e.g. `SELF_SIGNED_CERT_IN_CHAIN`). */
  authorizationError: string | undefined;
}

/**
 * Decides, after the TLS handshake (full or resumed), whether a peer is let in: `true`, or the
 * refusal reason. Runs after the CA, validity and CRL checks.
 */
export type VerifyPeer = (
  identity: PeerIdentity | undefined,
  session: VerifyPeerInfo,
) => true | string | Promise<true | string>;

type PemInput = string | Buffer | ReadonlyArray<string | Buffer>;

/** TLS material and policy of a server. All PEM inputs accept contents (not file paths). */
export interface ServerTlsOptions {
  cert: PemInput;
  key: PemInput;
  /**
   * CA bundle(s) trusted for client certificates: at least one self-signed root, plus any
   * intermediates devices do not send themselves. With `requireClientCert`, give a CA bundle, a
   * `verifyPeer` callback or both: without a CA, the certificate is still required but only
   * `verifyPeer` (e.g. fingerprint pinning) decides, validity period and CRL still apply. Every
   * handshake, resumed ones included, is checked against the bundle in force at that moment.
   */
  ca?: PemInput;
  /**
   * CRL(s) in PEM, one per CA. A certificate is refused when it or any CA certificate of its chain
   * (an intermediate) is listed, on every connection, resumed ones included.
   */
  crl?: PemInput;
  /**
   * What a CRL past its `nextUpdate` means for the devices under its issuer. `warn` (default): log
   * it once and count it in `stats().tls.staleCrls`, devices are let in. `fail`: refuse them too
   * (`rejection: "stale-crl"`) until a fresh CRL is loaded; connected sessions stay.
   */
  staleCrl?: StaleCrlPolicy;
  /** Mutual TLS: require and verify a client certificate. Default false. */
  requireClientCert?: boolean;
  /** Extra decision after verification (pluggable CA / allow-lists). A string is the refusal reason. */
  verifyPeer?: VerifyPeer;
  /**
   * Lowest TLS version accepted. Default `TLSv1.3`; `TLSv1.2` is an opt-in for device TLS stacks
   * without 1.3 (e.g. mbedTLS 2.x). Certificate checks are the same under both.
   */
  minVersion?: "TLSv1.2" | "TLSv1.3";
  /**
   * 48-byte session ticket key. Default: random per server instance. Set it (and share it between
   * processes) so that tickets survive restarts, hot reloads and load balancing.
   */
  ticketKeys?: Buffer;
  /** Lifetime of session tickets in seconds. Default 86 400 (24 h) to outlast long 4G outages. */
  ticketLifetimeSec?: number;
}

/** What a server handler receives besides the message. */
export interface ServerContext {
  readonly session: Session;
  /** Wire Type of the inbound frame. */
  readonly type: number;
  /**
   * Sends a reply (the registration's `reply` message) now; for replies that arrive in several
   * steps. Rejects when the registration has no reply message.
   */
  reply(message: unknown): Promise<void>;
}

/** One device connection on the server. */
export interface Session {
  /** Unique per connection (`c1`, `c2`, ...). */
  readonly id: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Human-readable peer for logs/errors: `127.0.0.1:50123` or `127.0.0.1:50123 dev-SN1`. */
  readonly peer: string;
  /** Verified client certificate identity (mTLS), else `undefined`. */
  readonly identity: PeerIdentity | undefined;
  /** Whether the TLS handshake resumed a previous session. */
  readonly resumed: boolean;
  readonly connectedAt: Date;
  /** Epoch ms of the last inbound frame. */
  readonly lastFrameAt: number;
  /** Device id once logged in. */
  readonly deviceId: string | undefined;
  readonly online: boolean;
  /** Free-form per-session state for handlers. */
  readonly attributes: Map<string, unknown>;
  /**
   * Marks the session logged in as `deviceId`: registers it in the session directory (closing an
   * older session of the same device with reason `SESSION_REPLACED`, told to that device with the
   * error message first) and emits `online`. Logging in again with another id unbinds the old id
   * first (logged), so one session is never findable under two device ids. The same id again does
   * nothing. An id no login step of this session claimed is first put to the login policy
   * (`ServerOptions.authorizeLogin`): a refusal throws `LoginNotAuthorizedError` and closes the session.
   */
  login(deviceId: string): void;
  /** Queues one message to this peer. Rejects with `QueueFullError` / `NotConnectedError`. */
  send<T>(def: MessageDef<T>, message: T): Promise<void>;
  /** Sends a request and resolves with its (first final) reply. */
  request<Req, Rep>(spec: RequestSpec<Req, Rep>, message: Req, options?: RequestOptions<Rep>): Promise<Rep>;
  /** Sends a request and yields its replies until a final one. */
  stream<Req, Rep>(
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: RequestOptions<Rep>,
  ): AsyncIterable<Rep>;
  /** Closes the connection; `offline` is emitted with `reason`. */
  close(reason?: string): void;
}

/** Options of {@link PaynetServer}. Validated in the constructor with precise messages. */
export interface ServerOptions extends FrameOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (any free port; read it from `start()`'s result). */
  port?: number;
  tls: ServerTlsOptions;
  /** Inbound (uplink) messages and their handlers. */
  registry: Registry<ServerContext>;
  /**
   * The protocol's error message (role ERROR). When set, unknown Types and failing handlers are
   * reported to the peer with it.
   */
  errorMessage?: ErrorMessageSpec<unknown>;
  /** What to do with an unknown Type. Default `reply-error` (log + error message if any, keep the connection). */
  onUnknownType?: "reply-error" | "ignore" | "close";
  /** Tell the peer (with the error message) when its handler failed. Default true. */
  reportHandlerErrors?: boolean;
  /** Close a connection after this long without an inbound frame. Default 70 000 ms; 0 disables. */
  readTimeoutMs?: number;
  /** Default 10 000 ms. */
  handshakeTimeoutMs?: number;
  /** Default 100 000. */
  maxConnections?: number;
  /**
   * Listen backlog: connections the kernel queues until they are accepted. Default 4096 (Linux caps
   * it at `net.core.somaxconn`).
   */
  backlog?: number;
  /** Grace period of `stop()` for in-flight handlers. Default 5 000 ms. */
  stopGraceMs?: number;
  /**
   * Decides who may take each login-flow step (registrations with `loginStep`) and each
   * `session.login(deviceId)`: `true`, or `false` / a reason to refuse; sync or async. Default: the
   * certificate binding (`attempt.certificateBinding()`): under mTLS a certificate acts only for the
   * device its subject CN names (register only that serial, log in only as the id registered for
   * it); without client certificates everything is allowed. A refused step gets the step's refusal
   * reply (else the error message), one log line naming peer, claim and certificate, an `error`
   * event (`LOGIN_REFUSED`), and its connection is closed: it never goes online or replaces a session.
   */
  authorizeLogin?: AuthorizeLogin;
  /**
   * Serial → registered device id, for the certificate binding's login check. Default in-memory,
   * learnt from this server's register replies; give your device records to let devices log in
   * after a restart without registering again.
   */
  registeredDevices?: RegisteredDevices;
  /** Device id → session. Default in-memory. */
  directory?: SessionDirectory;
  /** Pending at-least-once deliveries. Default in-memory, bounded by `maxPendingDeliveries`. */
  deliveryStore?: PendingDeliveryStore;
  /** Default 10 000. */
  maxPendingDeliveries?: number;
  /**
   * The requests this server delivers at least once (generated facades pass theirs). A final reply
   * to a stored delivery this process did not start (an earlier run with a persistent store, another
   * process sharing it) is recognised by them and completes it; `deliver()` adds its spec as well.
   */
  // biome-ignore lint/suspicious/noExplicitAny: specs of every request and reply type
  deliverySpecs?: readonly RequestSpec<any, any>[];
  /**
   * Run as one node of a cluster (e.g. `redisCluster({ url })` from `@paynet/cluster`): presence,
   * pending deliveries and pushes are shared by every node, so a device may be on any of them. It
   * replaces `directory` and `deliveryStore` (give neither). Without it, everything stays in this
   * process.
   */
  cluster?: ServerCluster;
  logger?: Logger;
  /** Aborting stops the server (like `stop()`). */
  signal?: AbortSignal;
  /** What a connection may do before it logs in (`session.login()`); see {@link PreLoginOptions}. */
  preLogin?: PreLoginOptions;
  /** How frames of unknown Types and undecodable payloads are answered; see {@link BadFrameOptions}. */
  badFrames?: BadFrameOptions;
}

/**
 * Limits on connections that have not logged in yet, so that a peer which never logs in costs
 * little more than its TLS socket. Which Types are accepted before login is said per registration
 * (`beforeLogin`, set by the generated SDK for the login flow's Types); any other Type closes the
 * connection with `LOGIN_REQUIRED`.
 */
export interface PreLoginOptions {
  /**
   * Largest Len accepted before login; a larger frame closes the connection with
   * `FRAME_TOO_LARGE`. At most `maxFrame`, which applies from login on. Default 4 096.
   */
  maxFrame?: number;
  /**
   * A connection not logged in this long after its handshake is closed with `LOGIN_TIMEOUT`, even
   * if it keeps sending Pings. Default 15 000 ms; 0 disables.
   */
  deadlineMs?: number;
  /** More frames than this within one second before login close the connection with `RATE_LIMITED`. Default 10. */
  maxFramesPerSecond?: number;
}

/**
 * Frames of unknown Types (with `onUnknownType: "reply-error"`) and payloads that do not decode:
 * per connection, the first one of each window is logged, reported as an `error` event and answered
 * with the error message; the rest of the window only counts (`stats().badFrames`). The
 * `maxPerWindow`-th bad frame within one window closes the connection with `TOO_MANY_BAD_FRAMES`.
 */
export interface BadFrameOptions {
  /** Length of a window. Default 60 000 ms. */
  windowMs?: number;
  /** Bad frames within one window that close the connection. Default 10. */
  maxPerWindow?: number;
}

/** How to build the protocol's error message from a runtime error, and to read one back. */
export interface ErrorMessageSpec<E> {
  readonly def: MessageDef<E>;
  readonly build: (error: PaynetError) => E;
  /**
   * Device side: the close notice a received error message carries, e.g. `SERVER_DRAINING` for the
   * one a draining server sends before it closes the session (`build(new ServerDrainingError())`),
   * or `SESSION_REPLACED` when a newer login of the device took its session over (the client then
   * backs off). The client reports that connection's end with that typed reason. Generated SDKs
   * fill it from the message's `code` field.
   */
  // Method syntax: a spec of a concrete message type stays assignable to `ErrorMessageSpec<unknown>`.
  noticeOf?(message: E): PaynetErrorCode | undefined;
}

/** Events of {@link PaynetServer}. */
export interface ServerEvents {
  listening: [address: { host: string; port: number }];
  /** TLS handshake done and peer accepted. */
  connection: [session: Session];
  /** Session logged in (`session.login()`). */
  online: [session: Session];
  /** Session closed; `reason` is why (read timeout, replaced, peer closed, protocol error, ...). */
  offline: [session: Session, reason: PaynetError];
  /** A connection-level or handler error. The server keeps serving. */
  error: [error: PaynetError, session: Session | undefined];
  /** A phase of `drain()`: its start (grace period) and the listener closed (evicting). */
  draining: [info: DrainPhase];
}

/** TLS trust state and certificate refusals (part of {@link ServerStats}). */
export interface TlsStats {
  /** CRLs in force. */
  crls: number;
  /** CRLs in force that are past their `nextUpdate` now (0 when all are fresh). */
  staleCrls: number;
  /** Certificates listed as revoked by them. */
  revokedCertificates: number;
  /** `tls.staleCrl` in force. */
  staleCrlPolicy: StaleCrlPolicy;
  /** Peer certificates refused (at a handshake or after a reload), by reason. */
  rejections: Record<CertificateRejection, number>;
}

/** Counters readable without any runtime change (for metrics exporters). */
export interface ServerStats {
  /**
   * `current` sessions (TLS up), of which `online` logged in; `handshaking` TCP connections whose
   * TLS handshake is not over; `total` sessions admitted and `rejected` connections refused so far.
   */
  connections: { current: number; online: number; handshaking: number; total: number; rejected: number };
  handshakes: { full: number; resumed: number; failed: number };
  framesIn: Record<string, { frames: number; bytes: number }>;
  framesOut: Record<string, { frames: number; bytes: number }>;
  handlers: Record<string, HandlerCounter>;
  outboundQueue: { frames: number; bytes: number; fullErrors: number };
  delivery: DeliveryStats;
  /** Closed sessions by the code of their offline reason (`READ_TIMEOUT`, `CONNECTION_CLOSED`, ...). */
  disconnects: Partial<Record<PaynetErrorCode, number>>;
  /** A drain is under way (see `drain()`): readiness checks should fail. */
  draining: boolean;
  tls: TlsStats;
  /** Connections closed before login, by reason (see {@link PreLoginOptions}). */
  preLogin: PreLoginStats;
  /** Unknown Types and undecodable payloads (see {@link BadFrameOptions}). */
  badFrames: BadFrameStats;
  /** Register and login steps the login policy refused (`LOGIN_REFUSED`), by step. */
  loginRefusals: LoginRefusalStats;
}

/**
 * Counters of {@link ServerStats.loginRefusals}: steps refused by `authorizeLogin` or the
 * certificate binding. Each refusal also closes its connection (`disconnects.LOGIN_REFUSED`).
 */
export interface LoginRefusalStats {
  /** Register steps refused (e.g. a serial other than the certificate's). */
  register: number;
  /** Login steps and `session.login()` calls refused (e.g. another device's id). */
  login: number;
}

/** Counters of {@link ServerStats.preLogin}: connections closed before login, by reason. */
export interface PreLoginStats {
  /** Not logged in within `preLogin.deadlineMs` (`LOGIN_TIMEOUT`). */
  loginTimeouts: number;
  /** Sent a Type that is not accepted before login (`LOGIN_REQUIRED`). */
  refusedTypes: number;
  /** Sent more than `preLogin.maxFramesPerSecond` (`RATE_LIMITED`). */
  rateLimited: number;
  /** Announced a frame larger than `preLogin.maxFrame` (`FRAME_TOO_LARGE`). */
  oversizeFrames: number;
}

/** Counters of {@link ServerStats.badFrames}. */
export interface BadFrameStats {
  /** Frames of a Type nothing is registered for. */
  unknownType: number;
  /** Frames whose payload did not decode as their Type's message. */
  undecodable: number;
  /** Bad frames that were only counted: not logged, reported or answered (rate limit). */
  suppressed: number;
  /** Connections closed with `TOO_MANY_BAD_FRAMES`. */
  closed: number;
}

/** Public surface of the server class (implemented by `PaynetServer`). */
export interface ServerApi {
  start(): Promise<{ host: string; port: number }>;
  stop(options?: { graceMs?: number }): Promise<void>;
  /** Lame-duck stop: grace period, listener closed, sessions closed at a bounded rate (see `PaynetServer.drain`). */
  drain(options?: DrainOptions): Promise<DrainReport>;
  /** Whether a drain is under way. */
  readonly draining: boolean;
  wait(): Promise<void>;
  /**
   * Replace certificate/key/CA/CRL without restart; existing tickets stay valid, and connected
   * sessions whose chain no longer passes are closed.
   */
  reloadTls(update: Partial<Pick<ServerTlsOptions, "cert" | "key" | "ca" | "crl">>): void;
  session(deviceId: string): Session | undefined;
  sessions(): IterableIterator<Session>;
  send<T>(deviceId: string, def: MessageDef<T>, message: T): Promise<void>;
  request<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: RequestOptions<Rep>,
  ): Promise<Rep>;
  stream<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: RequestOptions<Rep>,
  ): AsyncIterable<Rep>;
  /**
   * At-least-once: sends now if the device is online, else when it logs in; re-sends after every
   * re-login until a final reply or the deadline. Requires `spec.requestKey` and `spec.replyKey`.
   */
  deliver<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: DeliveryOptions<Rep>,
  ): AsyncIterable<Rep>;
  stats(): ServerStats;
}
