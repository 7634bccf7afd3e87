/**
 * What a server lets a connection do before it logs in, and how it answers bad frames, so that a
 * peer which never logs in, or floods garbage, costs little and is closed with a typed reason:
 *
 * - before login: inbound frames capped at `preLogin.maxFrame` (the decoder's limit, raised at
 *   login), only the login flow's Types (`beforeLogin` registrations), at most
 *   `preLogin.maxFramesPerSecond`, and a login deadline on the shared timer wheel;
 * - always: unknown Types and undecodable payloads are logged, reported and answered once per
 *   connection per `badFrames.windowMs` (the rest only counted), and the `badFrames.maxPerWindow`-th
 *   within one window closes the connection.
 *
 * Every close says why: an `error` event, one log line and, when the protocol has one, the error
 * message to the peer before the close.
 */
import {
  FrameTooLargeError,
  formatType,
  LoginDeadlineError,
  LoginRequiredError,
  type PaynetError,
  ProtocolError,
  RateLimitedError,
  TooManyBadFramesError,
} from "../errors.js";
import type { Logger } from "../logger.js";
import type { Registry } from "../registry.js";
import { sharedTimerWheel, type TimerWheel, type WheelTimer } from "../timers.js";
import type { ResolvedServerOptions } from "./options.js";
import type { ServerSession } from "./session.js";
import type { BadFrameStats, ErrorMessageSpec, PreLoginStats, ServerContext } from "./types.js";

/** The option named in `FrameTooLargeError` while a connection has not logged in. */
export const PRE_LOGIN_LIMIT = "preLogin.maxFrame";

/** What the guard needs from its server. */
export interface GuardHost {
  readonly options: ResolvedServerOptions;
  /** Logs-independent error reporting (`error` event). */
  report(error: PaynetError, session: ServerSession | undefined): void;
}

/**
 * Per-connection state of the guard: the login deadline and pre-login frame rate until login, the
 * bad-frame window once a bad frame came. Dropped at login when no bad frame ever came, so a
 * logged-in session carries none.
 */
export class ConnectionGuard {
  /** The login deadline, until login. */
  deadline: WheelTimer | undefined;
  /** Start (monotonic ms) of the current one-second pre-login rate window, and its frames. */
  rateWindowStart = 0;
  rateFrames = 0;
  /** Start (monotonic ms) of the current bad-frame window, its bad frames, and those only counted. */
  badWindowStart = 0;
  badFrames = 0;
  suppressed = 0;
}

/** Guards every connection of one server. */
export class PeerGuard {
  readonly #host: GuardHost;
  readonly #wheel: TimerWheel;
  /** Per Type: 1 when accepted before login (filled at start from the registry). */
  readonly #beforeLogin = new Uint8Array(256);
  readonly #preLogin: PreLoginStats = {
    loginTimeouts: 0,
    refusedTypes: 0,
    rateLimited: 0,
    oversizeFrames: 0,
  };
  readonly #badFrames: BadFrameStats = { unknownType: 0, undecodable: 0, suppressed: 0, closed: 0 };

  constructor(host: GuardHost, wheel: TimerWheel = sharedTimerWheel()) {
    this.#host = host;
    this.#wheel = wheel;
  }

  /**
   * Reads which Types the registry accepts before login (call at start, once registrations are
   * made). When none is marked `beforeLogin`, every registered Type is, and a warning says so.
   */
  learnLoginFlow(registry: Registry<ServerContext>, logger: Logger): void {
    this.#beforeLogin.fill(0);
    let marked = 0;
    for (const type of registry.types()) {
      if (registry.get(type)?.beforeLogin === true) {
        this.#beforeLogin[type] = 1;
        marked++;
      }
    }
    if (marked > 0 || registry.types().length === 0) return;
    for (const type of registry.types()) this.#beforeLogin[type] = 1;
    logger.warn(
      { types: registry.types().map(formatType) },
      "no registration is marked beforeLogin: every registered type is accepted before login",
    );
  }

  /** Copies of the counters, for `stats()`. */
  stats(): { preLogin: PreLoginStats; badFrames: BadFrameStats } {
    return { preLogin: { ...this.#preLogin }, badFrames: { ...this.#badFrames } };
  }

  /** A connection was admitted: it is not logged in, so its login deadline starts now. */
  opened(session: ServerSession): void {
    const guard = new ConnectionGuard();
    session.guard = guard;
    this.#armDeadline(session, guard);
  }

  /** `session` logged in: no deadline any more, frames up to `maxFrame`. */
  loggedIn(session: ServerSession): void {
    const guard = session.guard;
    if (guard !== undefined) {
      guard.deadline?.cancel();
      guard.deadline = undefined;
      if (guard.badFrames === 0) session.guard = undefined;
    }
    session.limitInbound(this.#host.options.maxFrame, "maxFrame");
  }

  /** `session` was logged out again (its directory bind failed): the pre-login rules apply anew. */
  loggedOut(session: ServerSession): void {
    if (session.closedReason !== undefined) return;
    session.guard ??= new ConnectionGuard();
    this.#armDeadline(session, session.guard);
    const { maxFrame } = this.#host.options.preLogin;
    if (maxFrame < this.#host.options.maxFrame) session.limitInbound(maxFrame, PRE_LOGIN_LIMIT);
  }

  /** `session` closed: its deadline is dropped, and a pre-login oversize frame is counted and told. */
  closed(session: ServerSession, reason: PaynetError): void {
    session.guard?.deadline?.cancel();
    if (reason instanceof FrameTooLargeError && reason.limit === PRE_LOGIN_LIMIT) {
      this.#preLogin.oversizeFrames++;
      session.log.warn({}, reason.message);
      this.#host.report(reason, session);
    }
  }

  /**
   * Checks one frame of a session that has not logged in: true when it may be dispatched. A Type
   * outside the login flow, or one frame too many this second, closes the session (false).
   */
  admitBeforeLogin(session: ServerSession, type: number): boolean {
    if (this.#beforeLogin[type] !== 1) {
      this.#preLogin.refusedTypes++;
      this.#closeWith(session, new LoginRequiredError({ peer: session.peer, frameType: type }));
      return false;
    }
    session.guard ??= new ConnectionGuard();
    const guard = session.guard;
    const now = session.lastByteMonotonic;
    if (now - guard.rateWindowStart >= 1_000) {
      guard.rateWindowStart = now;
      guard.rateFrames = 0;
    }
    const limit = this.#host.options.preLogin.maxFramesPerSecond;
    if (++guard.rateFrames > limit) {
      this.#preLogin.rateLimited++;
      const error = new RateLimitedError(`more than ${limit} frames per second before login`, {
        peer: session.peer,
        frameType: type,
      });
      this.#closeWith(session, error);
      return false;
    }
    return true;
  }

  /**
   * One frame of an unknown Type or with an undecodable payload, handled by `policy`:
   * - `answer`: the first of a window is logged, reported and told to the peer, the rest of the
   *   window only counts, and the `badFrames.maxPerWindow`-th of a window closes the session;
   * - `ignore`: the first of a window is logged at debug level only; never reported, told or closed;
   * - `close` (`onUnknownType: "close"`, unknown Types only): the session is closed at once with a
   *   `ProtocolError`.
   */
  badFrame(session: ServerSession, error: PaynetError, policy: "answer" | "ignore" | "close"): void {
    if (error.code === "UNKNOWN_TYPE") this.#badFrames.unknownType++;
    else this.#badFrames.undecodable++;
    if (policy === "close") {
      const closing = new ProtocolError("unknown message type", {
        peer: session.peer,
        ...(error.frameType === undefined ? {} : { frameType: error.frameType }),
      });
      this.#closeWith(session, closing);
      return;
    }
    const answer = policy === "answer";
    session.guard ??= new ConnectionGuard();
    const guard = session.guard;
    const { windowMs, maxPerWindow } = this.#host.options.badFrames;
    const now = session.lastByteMonotonic;
    let suppressedBefore = 0;
    if (guard.badFrames === 0 || now - guard.badWindowStart >= windowMs) {
      suppressedBefore = guard.suppressed;
      guard.badWindowStart = now;
      guard.badFrames = 0;
      guard.suppressed = 0;
    }
    guard.badFrames++;
    if (answer && guard.badFrames >= maxPerWindow) {
      this.#badFrames.closed++;
      const closing = new TooManyBadFramesError(guard.badFrames, windowMs, { peer: session.peer });
      this.#closeWith(session, closing, { last: error.message });
      return;
    }
    if (guard.badFrames > 1) {
      guard.suppressed++;
      this.#badFrames.suppressed++;
      return;
    }
    const fields: Record<string, unknown> =
      error.frameType === undefined ? {} : { type: formatType(error.frameType) };
    if (suppressedBefore > 0) fields.suppressedInLastWindow = suppressedBefore;
    if (!answer) {
      session.log.debug(fields, error.message);
      return;
    }
    session.log.warn(fields, error.message);
    this.#host.report(error, session);
    sendErrorMessage(this.#host.options.errorMessage, session, error, this.#host.options.logger);
  }

  #armDeadline(session: ServerSession, guard: ConnectionGuard): void {
    const deadlineMs = this.#host.options.preLogin.deadlineMs;
    if (deadlineMs === 0) return;
    guard.deadline?.cancel();
    guard.deadline = this.#wheel.schedule(deadlineMs, () => {
      if (session.deviceId !== undefined || session.closedReason !== undefined) return;
      this.#preLogin.loginTimeouts++;
      this.#closeWith(session, new LoginDeadlineError(deadlineMs, { peer: session.peer }));
    });
  }

  /** Logs, reports and tells the peer why, then closes the session (queued frames are flushed). */
  #closeWith(session: ServerSession, error: PaynetError, fields: Record<string, unknown> = {}): void {
    session.log.warn(fields, `closing the connection: ${error.message}`);
    this.#host.report(error, session);
    sendErrorMessage(this.#host.options.errorMessage, session, error, this.#host.options.logger);
    session.closeWith(error);
  }
}

/** Sends the protocol's error message for `error`, when one is configured. Failures are only logged. */
export function sendErrorMessage(
  spec: ErrorMessageSpec<unknown> | undefined,
  session: ServerSession,
  error: PaynetError,
  logger: Logger,
): void {
  if (spec === undefined) return;
  let message: unknown;
  try {
    message = spec.build(error);
  } catch (buildError) {
    logger.error({ error: String(buildError) }, "errorMessage.build failed");
    return;
  }
  try {
    session.sendNow(spec.def, message);
  } catch (sendError) {
    const reason = sendError instanceof Error ? sendError.message : String(sendError);
    session.log.warn({ name: spec.def.name }, `reply not sent: ${reason}`);
  }
}
