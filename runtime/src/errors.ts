/**
 * Typed errors of the paynet runtime. Every failure the runtime reports is a {@link PaynetError}
 * with a stable {@link PaynetError.code}, so callers can branch on `err.code` instead of parsing
 * messages. Messages name the peer and, where there is one, the frame Type.
 */
import type { CertificateRejection } from "./tls/trust-policy.js";

/** Stable machine-readable error codes. Never renamed once released. */
export type PaynetErrorCode =
  | "FRAME_TOO_LARGE"
  | "PROTOCOL_ERROR"
  | "DECODE_ERROR"
  | "ENCODE_ERROR"
  | "BOUND_EXCEEDED"
  | "UNKNOWN_TYPE"
  | "HANDLER_ERROR"
  | "HANDSHAKE_FAILED"
  | "HANDSHAKE_TIMEOUT"
  | "PEER_CERTIFICATE_REJECTED"
  | "LOGIN_REFUSED"
  | "LOGIN_TIMEOUT"
  | "LOGIN_REQUIRED"
  | "RATE_LIMITED"
  | "TOO_MANY_BAD_FRAMES"
  | "HEARTBEAT_TIMEOUT"
  | "READ_TIMEOUT"
  | "CONNECT_TIMEOUT"
  | "CONNECTION_CLOSED"
  | "NOT_CONNECTED"
  | "QUEUE_FULL"
  | "PENDING_LIMIT"
  | "REQUEST_TIMEOUT"
  | "ABORTED"
  | "SESSION_REPLACED"
  | "SERVER_STOPPED"
  | "SERVER_DRAINING"
  | "MAX_CONNECTIONS"
  | "INVALID_OPTIONS"
  | "DUPLICATE_REGISTRATION"
  | "CORRELATION_MISSING"
  | "JOURNAL_LOCKED"
  | "JOURNAL_CORRUPT"
  | "JOURNAL_FAILED"
  | "CLUSTER_UNAVAILABLE";

/** Where an error happened: who the peer was and which frame was involved. */
export interface ErrorContext {
  /** `host:port` of the remote side, with the device id when known (`10.0.0.7:51234 dev-42`). */
  peer?: string;
  /** Wire Type byte of the frame involved. */
  frameType?: number;
  /** Fully-qualified protobuf message name involved (`paybox.CoinAck`). */
  messageName?: string;
  cause?: unknown;
}

/** Base class of every error the runtime raises or emits. */
export class PaynetError extends Error {
  readonly code: PaynetErrorCode;
  readonly peer: string | undefined;
  readonly frameType: number | undefined;
  readonly messageName: string | undefined;

  constructor(code: PaynetErrorCode, message: string, context: ErrorContext = {}) {
    super(withContext(message, context), context.cause === undefined ? undefined : { cause: context.cause });
    this.name = new.target.name;
    this.code = code;
    this.peer = context.peer;
    this.frameType = context.frameType;
    this.messageName = context.messageName;
  }
}

function withContext(message: string, context: ErrorContext): string {
  const where: string[] = [];
  if (context.peer !== undefined) where.push(`peer ${context.peer}`);
  if (context.frameType !== undefined) where.push(`frame type ${formatType(context.frameType)}`);
  if (context.messageName !== undefined) where.push(context.messageName);
  return where.length === 0 ? message : `${message} (${where.join(", ")})`;
}

/** Formats a Type byte the way the protocol docs write it: `0x04`. */
export function formatType(type: number): string {
  return `0x${type.toString(16).padStart(2, "0").toUpperCase()}`;
}

/**
 * A frame header announced more bytes than the limit allows; raised before any body is buffered.
 * `limit` names the option the limit comes from: `maxFrame`, or `preLogin.maxFrame` on a server
 * connection that has not logged in yet.
 */
export class FrameTooLargeError extends PaynetError {
  constructor(
    readonly length: number,
    readonly maxFrame: number,
    context: ErrorContext = {},
    readonly limit = "maxFrame",
  ) {
    super("FRAME_TOO_LARGE", `frame length ${length} exceeds ${limit} ${maxFrame}`, context);
  }
}

/** The byte stream violates the framing rules (e.g. Len 0). The connection is closed. */
export class ProtocolError extends PaynetError {
  constructor(message: string, context: ErrorContext = {}) {
    super("PROTOCOL_ERROR", message, context);
  }
}

/** A frame's payload is not a valid protobuf encoding of the message its Type names. */
export class DecodeError extends PaynetError {
  constructor(message: string, context: ErrorContext = {}) {
    super("DECODE_ERROR", message, context);
  }
}

/**
 * A message given to send (or a reply a handler returned) cannot be encoded by its codec, e.g. a
 * field of the wrong type. Nothing was sent; the caller's message is at fault, not the connection.
 */
export class EncodeError extends PaynetError {
  constructor(
    message: string,
    context: ErrorContext = {},
    code: "ENCODE_ERROR" | "BOUND_EXCEEDED" = "ENCODE_ERROR",
  ) {
    super(code, message, context);
  }
}

/**
 * A message given to send breaks a size bound of its proto (`(paynet.max_size)` on a string or
 * bytes value, `(paynet.max_count)` on a repeated or map field): the device it is for would refuse
 * it, so nothing was sent.
 */
export class BoundExceededError extends EncodeError {
  constructor(
    /** Full name of the message whose field is too large (`paybox.CoinCommand`). */
    readonly boundMessage: string,
    /** Proto name of the field (`order_id`). */
    readonly field: string,
    readonly bound: "max_size" | "max_count",
    readonly limit: number,
    /** Bytes (`max_size`) or elements (`max_count`) the value had. */
    readonly actual: number,
  ) {
    const unit = bound === "max_size" ? "bytes" : "elements";
    super(
      `cannot encode ${boundMessage}: ${field} has ${actual} ${unit}, more than its ${bound} of ${limit}`,
      { messageName: boundMessage },
      "BOUND_EXCEEDED",
    );
  }
}

/**
 * The `EncodeError` of a codec that threw on `messageName`: "cannot encode paybox.X: <reason>".
 * An `EncodeError` is passed through as it is.
 */
export function encodeFailure(messageName: string, cause: unknown, context: ErrorContext = {}): EncodeError {
  if (cause instanceof EncodeError) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new EncodeError(`cannot encode ${messageName}: ${reason}`, { ...context, messageName, cause });
}

/** The peer sent a Type no message is registered for on this side. */
export class UnknownTypeError extends PaynetError {
  constructor(context: ErrorContext = {}) {
    super("UNKNOWN_TYPE", "no message registered for this type", context);
  }
}

/** A user handler threw or rejected. The session keeps serving. */
export class HandlerError extends PaynetError {
  constructor(context: ErrorContext = {}) {
    const reason = context.cause instanceof Error ? context.cause.message : String(context.cause);
    super("HANDLER_ERROR", `handler failed: ${reason}`, context);
  }
}

/** The TLS handshake failed; `reason` is the TLS library's reason (e.g. `unknown ca`). */
export class HandshakeFailedError extends PaynetError {
  constructor(
    readonly reason: string,
    context: ErrorContext = {},
  ) {
    super("HANDSHAKE_FAILED", `TLS handshake failed: ${reason}`, context);
  }
}

/** The TLS handshake did not complete in time. */
export class HandshakeTimeoutError extends PaynetError {
  constructor(timeoutMs: number, context: ErrorContext = {}) {
    super("HANDSHAKE_TIMEOUT", `TLS handshake not completed within ${timeoutMs} ms`, context);
  }
}

/**
 * The peer's certificate was refused after the handshake, or a connected session's certificate no
 * longer passes after a TLS reload (CA dropped, certificate or CA revoked, rejected by `verifyPeer`,
 * ...). `rejection` says which check failed; `reason` says how, in words.
 */
export class PeerCertificateRejectedError extends PaynetError {
  constructor(
    readonly rejection: CertificateRejection,
    readonly reason: string,
    context: ErrorContext = {},
  ) {
    super("PEER_CERTIFICATE_REJECTED", `peer certificate rejected: ${reason}`, context);
  }
}

/** The server answered the login (or register) request with a refusal. */
export class LoginRefusedError extends PaynetError {
  constructor(
    /** The code the server answered with (e.g. the `ResultCode` enum value). */
    readonly resultCode: number | string,
    readonly step: "register" | "login",
    detail?: string,
    context: ErrorContext = {},
  ) {
    super(
      "LOGIN_REFUSED",
      `${step} refused by server with code ${resultCode}${detail ? `: ${detail}` : ""}`,
      context,
    );
  }
}

/**
 * Server side: the server refused a register or login step (the certificate does not name the
 * claimed device, or `authorizeLogin` said no). The session never went online; the device got the
 * protocol's refusal reply and the connection was closed. Code `LOGIN_REFUSED`, like the device's
 * {@link LoginRefusedError} for the same refusal.
 */
export class LoginNotAuthorizedError extends PaynetError {
  constructor(
    readonly step: "register" | "login",
    /** The device id (login) or serial (register) the peer claimed, when the step names one. */
    readonly claimed: string | undefined,
    /** Why it was refused (the policy's words). */
    readonly reason: string,
    /** The peer certificate, `CN=… sha256=…`, or `undefined` without a client certificate. */
    readonly certificate: string | undefined,
    context: ErrorContext = {},
  ) {
    const what = claimed === undefined ? step : `${step} as ${JSON.stringify(claimed)}`;
    const cert = certificate === undefined ? "no client certificate" : `certificate ${certificate}`;
    super("LOGIN_REFUSED", `${what} refused: ${reason} [${cert}]`, context);
  }
}

/** No reply to the register or login request within the login timeout. */
export class LoginTimeoutError extends PaynetError {
  constructor(step: "register" | "login", timeoutMs: number, context: ErrorContext = {}) {
    super("LOGIN_TIMEOUT", `no ${step} reply within ${timeoutMs} ms`, context);
  }
}

/**
 * Server side: the connection did not log in within `preLogin.deadlineMs` (whatever else it sent,
 * Pings included) and was closed.
 */
export class LoginDeadlineError extends PaynetError {
  constructor(
    readonly deadlineMs: number,
    context: ErrorContext = {},
  ) {
    super("LOGIN_TIMEOUT", `not logged in within ${deadlineMs} ms`, context);
  }
}

/**
 * Server side: a frame of a Type that is not part of the login flow arrived before login; the
 * connection was closed.
 */
export class LoginRequiredError extends PaynetError {
  constructor(context: ErrorContext = {}) {
    super("LOGIN_REQUIRED", "frame type not accepted before login", context);
  }
}

/** Server side: a connection sent frames faster than its limit (`what` names it); it was closed. */
export class RateLimitedError extends PaynetError {
  constructor(
    readonly what: string,
    context: ErrorContext = {},
  ) {
    super("RATE_LIMITED", `rate limit exceeded: ${what}`, context);
  }
}

/**
 * Server side: a connection sent `count` frames of unknown Types or with undecodable payloads within
 * `windowMs`; it was closed.
 */
export class TooManyBadFramesError extends PaynetError {
  constructor(
    readonly count: number,
    readonly windowMs: number,
    context: ErrorContext = {},
  ) {
    super(
      "TOO_MANY_BAD_FRAMES",
      `${count} frames of unknown types or with undecodable payloads within ${windowMs} ms`,
      context,
    );
  }
}

/** Nothing at all was received from the peer for the heartbeat timeout. */
export class HeartbeatTimeoutError extends PaynetError {
  constructor(timeoutMs: number, context: ErrorContext = {}) {
    super("HEARTBEAT_TIMEOUT", `nothing received for ${timeoutMs} ms`, context);
  }
}

/** No complete inbound frame within the read timeout (server side). */
export class ReadTimeoutError extends PaynetError {
  constructor(timeoutMs: number, context: ErrorContext = {}) {
    super("READ_TIMEOUT", `no frame received within ${timeoutMs} ms`, context);
  }
}

/** The TCP connect + TLS handshake did not finish within the connect timeout. */
export class ConnectTimeoutError extends PaynetError {
  constructor(timeoutMs: number, context: ErrorContext = {}) {
    super("CONNECT_TIMEOUT", `connect not completed within ${timeoutMs} ms`, context);
  }
}

/** The connection closed; `reason` says why. */
export class ConnectionClosedError extends PaynetError {
  constructor(
    readonly reason: string,
    context: ErrorContext = {},
  ) {
    super("CONNECTION_CLOSED", `connection closed: ${reason}`, context);
  }
}

/** Sending needs a logged-in connection and there is none (and no offline queue accepted it). */
export class NotConnectedError extends PaynetError {
  constructor(message = "not connected", context: ErrorContext = {}) {
    super("NOT_CONNECTED", message, context);
  }
}

/**
 * A bounded queue is full: `outbound` (socket backed up), `offline` (client offline queue) or
 * `replies` (replies of a streamed request nobody reads); the message was not accepted.
 */
export class QueueFullError extends PaynetError {
  constructor(
    readonly queue: "outbound" | "offline" | "replies",
    readonly limit: string,
    context: ErrorContext = {},
  ) {
    super("QUEUE_FULL", `${queue} queue full (${limit})`, context);
  }
}

/** The pending-delivery set is at its bound; the request was not accepted. */
export class PendingLimitError extends PaynetError {
  constructor(limit: number, context: ErrorContext = {}) {
    super("PENDING_LIMIT", `pending request limit ${limit} reached`, context);
  }
}

/** No (final) reply arrived before the request's timeout or deadline. */
export class RequestTimeoutError extends PaynetError {
  constructor(timeoutMs: number, context: ErrorContext = {}) {
    super("REQUEST_TIMEOUT", `no final reply within ${timeoutMs} ms`, context);
  }
}

/** The operation was cancelled through its AbortSignal. */
export class AbortedError extends PaynetError {
  constructor(context: ErrorContext = {}) {
    super("ABORTED", "operation aborted", context);
  }
}

/**
 * The session was closed because the same device logged in on another connection. On the server,
 * the offline reason of the older session; on the device, the offline reason once the server said
 * so (its error message) before closing. `deviceId` is unknown to a device client.
 */
export class SessionReplacedError extends PaynetError {
  constructor(deviceId: string | undefined, context: ErrorContext = {}) {
    super(
      "SESSION_REPLACED",
      deviceId === undefined
        ? "session replaced: this device logged in on a newer connection"
        : `device ${deviceId} logged in on a newer connection`,
      context,
    );
  }
}

/**
 * The cluster's shared state (Redis) cannot be reached or answered in time: the operation that needed
 * it (a `deliver()`, a login, a push to a device on another node) failed at once instead of waiting.
 * Live sessions carry on; the cluster recovers by itself once its store is back.
 */
export class ClusterUnavailableError extends PaynetError {
  constructor(message: string, context: ErrorContext = {}) {
    super("CLUSTER_UNAVAILABLE", message, context);
  }
}

/** The server is stopping or stopped. */
export class ServerStoppedError extends PaynetError {
  constructor(context: ErrorContext = {}) {
    super("SERVER_STOPPED", "server stopped", context);
  }
}

/**
 * The server is draining (lame duck, e.g. on SIGTERM before a deploy) and closed this session: the
 * device should reconnect, which a load balancer sends to another node, where its TLS session ticket
 * still resumes when the nodes share their ticket keys. The server tells the device with the
 * protocol's error message before closing (see `ErrorMessageSpec.noticeOf`).
 */
export class ServerDrainingError extends PaynetError {
  constructor(context: ErrorContext = {}) {
    super("SERVER_DRAINING", "server draining: reconnect to another node", context);
  }
}

/**
 * The typed reason of a close notice the server sent before closing (see
 * `ErrorMessageSpec.noticeOf`): `ServerDrainingError` for `SERVER_DRAINING`, `SessionReplacedError`
 * for `SESSION_REPLACED` (a newer login of the device took its session over), else a `PaynetError`
 * carrying the announced code.
 */
export function closeNoticeError(code: PaynetErrorCode, context: ErrorContext = {}): PaynetError {
  if (code === "SERVER_DRAINING") return new ServerDrainingError(context);
  if (code === "SESSION_REPLACED") return new SessionReplacedError(undefined, context);
  return new PaynetError(code, `closed by the server (${code})`, context);
}

/** The server is at `maxConnections`; the new connection was refused. */
export class MaxConnectionsError extends PaynetError {
  constructor(limit: number, context: ErrorContext = {}) {
    super("MAX_CONNECTIONS", `connection limit ${limit} reached`, context);
  }
}

/** Options failed validation; the message names the option and the accepted values. */
export class InvalidOptionsError extends PaynetError {
  constructor(option: string, problem: string) {
    super("INVALID_OPTIONS", `invalid option ${option}: ${problem}`);
  }
}

/** Two registrations for the same Type (or name) on one side. Raised at startup. */
export class DuplicateRegistrationError extends PaynetError {
  constructor(type: number, existing: string, added: string) {
    super(
      "DUPLICATE_REGISTRATION",
      `type ${formatType(type)} is already registered to ${existing}; cannot register ${added}`,
    );
  }
}

/**
 * A command or delivery that must be deduplicated by its correlation value has none (`""`, or the
 * field's default such as `0`): it is refused instead of being treated as a duplicate of every other
 * command without one.
 */
export class CorrelationMissingError extends PaynetError {
  constructor(context: ErrorContext = {}) {
    super(
      "CORRELATION_MISSING",
      "correlation value is empty: the command is refused, not deduplicated",
      context,
    );
  }
}

/** Another process (or another store in this one) holds the journal's lock file. */
export class JournalLockedError extends PaynetError {
  constructor(
    readonly file: string,
    readonly holder: number | undefined,
  ) {
    super(
      "JOURNAL_LOCKED",
      `journal ${file} is locked by ${holder === undefined ? "another owner" : `process ${holder}`}: two processes cannot share one journal`,
    );
  }
}

/**
 * A journal holds bytes that are not a record where a record must be, before its end: not a torn
 * last write (that one is cut off and reported), so the store refuses to guess which commands ran.
 */
export class JournalCorruptError extends PaynetError {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly problem: string,
  ) {
    super("JOURNAL_CORRUPT", `journal ${file} is corrupt at offset ${offset}: ${problem}`);
  }
}

/**
 * Writing or syncing the journal failed. The journal then refuses every further write: what is on
 * disk is unknown, and a command must not run without its record.
 */
export class JournalFailedError extends PaynetError {
  constructor(
    readonly file: string,
    operation: string,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super("JOURNAL_FAILED", `journal ${file}: ${operation} failed: ${reason}`, { cause });
  }
}
