/**
 * Errors of frames and payloads: oversize or malformed frames, undecodable or unencodable
 * messages, unknown Types, failing handlers.
 */
import { type ErrorContext, PaynetError } from "./base.js";

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
