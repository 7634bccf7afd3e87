/** Errors of the login flow and of what a peer may do before (and instead of) logging in. */
import { type ErrorContext, PaynetError } from "./base.js";

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
