/**
 * The base of the runtime's typed errors: {@link PaynetError} with its stable {@link PaynetErrorCode}
 * and the context (peer, frame Type, message name) every message names.
 */

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

/** The message of anything thrown (an `Error`'s message, else its string form), for log fields. */
export function messageOf(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}
