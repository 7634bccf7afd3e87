/**
 * Errors of the server's life and setup: stopping, draining, an unreachable cluster, close
 * notices, invalid options, duplicate registrations.
 */

import { type ErrorContext, formatType, PaynetError, type PaynetErrorCode } from "./base.js";
import { SessionReplacedError } from "./login.js";

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
