/**
 * Errors of sends, requests and deliveries: no connection, full queues, timeouts, cancellation,
 * missing correlation keys.
 */
import { type ErrorContext, PaynetError } from "./base.js";

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
