/**
 * Inbound frame → (before login: the guard's checks) → registry lookup → decode → reply waiters /
 * deliveries → handler → reply. Every failure here is isolated to the one frame: it is logged,
 * reported as an `error` event, optionally told to the peer, and the session and server keep
 * serving; unknown Types and undecodable payloads go through the guard's rate limit (one log line
 * per connection per window, closed after too many).
 */
import { performance } from "node:perf_hooks";
import type { MessageDef } from "../codec.js";
import {
  CorrelationMissingError,
  DecodeError,
  formatType,
  HandlerError,
  InvalidOptionsError,
  LoginNotAuthorizedError,
  PaynetError,
  UnknownTypeError,
} from "../errors.js";
import type { Logger } from "../logger.js";
import { readMessage } from "../protobuf/reader.js";
import type { Registration, Registry } from "../registry.js";
import type { HandlerStats } from "../stats.js";
import type { LoginAuthority } from "./authorize.js";
import type { DeliveryEngine, UplinkIdempotency } from "./cluster.js";
import { type PeerGuard, sendErrorMessage } from "./guard.js";
import type { ServerSession } from "./session.js";
import type { ErrorMessageSpec, ServerContext } from "./types.js";

/** What the dispatcher needs from its server. */
export interface DispatchHost {
  readonly registry: Registry<ServerContext>;
  readonly deliveries: DeliveryEngine;
  /** Cluster-wide idempotency of correlated uplink requests (registrations with `idempotencyKey`). */
  readonly uplink: UplinkIdempotency | undefined;
  readonly handlerStats: HandlerStats;
  readonly logger: Logger;
  readonly errorMessage: ErrorMessageSpec<unknown> | undefined;
  readonly onUnknownType: "reply-error" | "ignore" | "close";
  readonly reportHandlerErrors: boolean;
  /** Decides the login steps (registrations with `loginStep`) before their handlers run. */
  readonly logins: LoginAuthority;
  /** Pre-login checks and the bad-frame rate limit. */
  readonly guard: PeerGuard;
  /** True once `stop()` began: no new handler runs. */
  isStopping(): boolean;
  /** Logs-independent error reporting (`error` event). */
  report(error: PaynetError, session: ServerSession | undefined): void;
  /** In-flight handler bookkeeping for graceful stop. */
  readonly inFlight: { handlerStarted(): void; handlerFinished(): void };
}

/** Dispatches the inbound frames of every session of one server. */
export class Dispatcher {
  readonly #host: DispatchHost;

  constructor(host: DispatchHost) {
    this.#host = host;
  }

  /** Handles one inbound frame of `session`, its payload `buffer[start, end)`. Never throws. */
  frame(session: ServerSession, type: number, buffer: Buffer, start: number, end: number): void {
    const host = this.#host;
    if (session.deviceId === undefined && !host.guard.admitBeforeLogin(session, type)) return;
    const registration = host.registry.get(type);
    const def = registration?.def ?? session.replyDef(type) ?? host.deliveries.replyDef(type);
    if (def === undefined) {
      this.#unknownType(session, type);
      return;
    }
    let message: unknown;
    try {
      const codec = def.codec;
      message =
        codec.read !== undefined
          ? readMessage(codec.read, buffer, start, end)
          : codec.decode(buffer.subarray(start, end));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const decodeError = new DecodeError(`cannot decode payload: ${reason}`, {
        peer: session.peer,
        frameType: type,
        messageName: def.name,
        cause: error,
      });
      host.guard.badFrame(session, decodeError, "answer");
      return;
    }
    if (session.offerReply(type, message)) return;
    const deviceId = session.deviceId;
    if (deviceId !== undefined && host.deliveries.offer(deviceId, type, message, session)) return;
    if (registration?.handler === undefined) {
      session.log.debug({ type: formatType(type), name: def.name }, "frame without handler ignored");
      return;
    }
    if (host.isStopping()) {
      session.log.debug({ type: formatType(type) }, "frame dropped: server stopping");
      return;
    }
    if (registration.loginStep === undefined) {
      this.#runHandler(session, type, message, registration);
      return;
    }
    host.logins.step(session, registration, message, () => {
      if (!host.isStopping()) this.#runHandler(session, type, message, registration);
    });
  }

  #runHandler(
    session: ServerSession,
    type: number,
    message: unknown,
    registration: Registration<unknown, ServerContext>,
  ): void {
    const host = this.#host;
    if (
      host.uplink !== undefined &&
      registration.idempotencyKey !== undefined &&
      session.deviceId !== undefined
    ) {
      this.#runOnce(session, type, message, registration, host.uplink);
      return;
    }
    // A context holds nothing but who and what it is for, so the last one of a session is reused
    // while its frames keep coming for the same registration (no object per frame).
    let context = session.handlerContext as HandlerContext | undefined;
    if (context === undefined || context.registration !== registration) {
      context = new HandlerContext(session, type, registration, host.logins);
      session.handlerContext = context;
    }
    // NaN: this call is not timed (see HandlerCounter).
    const started = host.handlerStats.shouldTime(type) ? performance.now() : Number.NaN;
    host.inFlight.handlerStarted();
    session.handlerStarted();
    let result: unknown;
    try {
      result = registration.handler!(message, context);
    } catch (error) {
      this.#finish(session, type, registration, started, error, true);
      return;
    }
    if (isPromiseLike(result)) {
      host.handlerStats.markAsync(type);
      result.then(
        (value: unknown) => this.#succeed(session, type, registration, started, value),
        (error: unknown) => this.#finish(session, type, registration, started, error, true),
      );
    } else {
      this.#succeed(session, type, registration, started, result);
    }
  }

  /**
   * A correlated uplink request with cluster-wide idempotency: the handler runs only on the first
   * sighting of its key (namespaced by message and device) anywhere in the cluster; its reply is
   * recorded before it is sent, and duplicates are answered with the recorded reply. When the
   * record cannot be read (the cluster store is down) the handler does not run and the peer is told.
   */
  #runOnce(
    session: ServerSession,
    type: number,
    message: unknown,
    registration: Registration<unknown, ServerContext>,
    uplink: UplinkIdempotency,
  ): void {
    const host = this.#host;
    const context = { peer: session.peer, frameType: type, messageName: registration.def.name };
    let correlation: string;
    try {
      correlation = registration.idempotencyKey!(message);
    } catch (error) {
      this.#handlerFailed(session, type, registration, error);
      return;
    }
    if (correlation === "") {
      const error = new CorrelationMissingError(context);
      session.log.warn({}, error.message);
      host.report(error, session);
      sendErrorMessage(host.errorMessage, session, error, host.logger);
      return;
    }
    const key = `${session.deviceId}/${registration.def.name}/${correlation}`;
    const replyDef = registration.reply as MessageDef<unknown> | undefined;
    host.inFlight.handlerStarted();
    session.handlerStarted();
    const run = async () => {
      const decision = await uplink.claim(key);
      if (decision.kind === "running") {
        session.log.debug({ key }, "duplicate of a request still running in the cluster dropped");
        return;
      }
      if (decision.kind === "duplicate") {
        if (decision.reply !== undefined) session.sendFrame(decision.reply.type, decision.reply.payload);
        return;
      }
      let value: unknown;
      try {
        value = await registration.handler!(
          message,
          new HandlerContext(session, type, registration, host.logins),
        );
      } catch (error) {
        await uplink.finish(key, undefined, error instanceof Error ? error.message : String(error));
        throw error;
      }
      const reply =
        replyDef === undefined || value === undefined
          ? undefined
          : { type: replyDef.type, payload: replyDef.codec.encode(value) };
      try {
        await uplink.finish(key, reply);
      } finally {
        if (reply !== undefined && session.closedReason === undefined)
          session.sendFrame(reply.type, reply.payload);
      }
    };
    run()
      .catch((error: unknown) => {
        if (error instanceof PaynetError && error.code === "CLUSTER_UNAVAILABLE") {
          session.log.warn({ key }, error.message);
          host.report(error, session);
          sendErrorMessage(host.errorMessage, session, error, host.logger);
        } else {
          this.#handlerFailed(session, type, registration, error);
        }
      })
      .finally(() => {
        session.handlerFinished();
        host.inFlight.handlerFinished();
      });
  }

  /** The handler returned (or resolved to) `value`: send it as the reply, when there is one. */
  #succeed(
    session: ServerSession,
    type: number,
    registration: Registration<unknown, ServerContext>,
    started: number,
    value: unknown,
  ): void {
    const replyDef = registration.reply as MessageDef<unknown> | undefined;
    if (replyDef !== undefined && value !== undefined) {
      // Synchronous send (no promise per reply); a failure is only logged, as before.
      try {
        session.sendNow(replyDef, value);
        if (registration.loginStep !== undefined) this.#host.logins.replied(session, registration, value);
      } catch (error) {
        this.#replyFailed(session, replyDef, error);
      }
    }
    this.#finish(session, type, registration, started, undefined, false);
  }

  #finish(
    session: ServerSession,
    type: number,
    registration: Registration<unknown, ServerContext>,
    started: number,
    failure: unknown,
    hasFailed: boolean,
  ): void {
    const host = this.#host;
    host.handlerStats.record(
      type,
      Number.isNaN(started) ? undefined : performance.now() - started,
      hasFailed,
    );
    if (hasFailed) this.#handlerFailed(session, type, registration, failure);
    session.handlerFinished();
    host.inFlight.handlerFinished();
  }

  #handlerFailed(
    session: ServerSession,
    type: number,
    registration: Registration<unknown, ServerContext>,
    cause: unknown,
  ): void {
    // A login the policy refused inside the handler was logged, reported and answered already.
    if (cause instanceof LoginNotAuthorizedError) return;
    const error = new HandlerError({
      peer: session.peer,
      frameType: type,
      messageName: registration.def.name,
      cause,
    });
    session.log.error(
      { type: formatType(type), stack: cause instanceof Error ? cause.stack : undefined },
      error.message,
    );
    this.#host.report(error, session);
    if (this.#host.reportHandlerErrors) {
      sendErrorMessage(this.#host.errorMessage, session, error, this.#host.logger);
    }
  }

  #replyFailed(session: ServerSession, replyDef: MessageDef<unknown>, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    session.log.warn({ name: replyDef.name }, `reply not sent: ${reason}`);
  }

  #unknownType(session: ServerSession, type: number): void {
    const policy = this.#host.onUnknownType;
    this.#host.guard.badFrame(
      session,
      new UnknownTypeError({ peer: session.peer, frameType: type }),
      policy === "reply-error" ? "answer" : policy,
    );
  }
}

/**
 * The context handed to a handler: immutable, its methods on the prototype, reused for the frames of
 * one session and registration (see `#runHandler`).
 */
class HandlerContext implements ServerContext {
  readonly session: ServerSession;
  readonly type: number;
  readonly registration: Registration<unknown, ServerContext>;
  readonly #logins: LoginAuthority;

  constructor(
    session: ServerSession,
    type: number,
    registration: Registration<unknown, ServerContext>,
    logins: LoginAuthority,
  ) {
    this.session = session;
    this.type = type;
    this.registration = registration;
    this.#logins = logins;
  }

  reply(reply: unknown): Promise<void> {
    const registration = this.registration;
    const replyDef = registration.reply as MessageDef<unknown> | undefined;
    if (replyDef === undefined) {
      return Promise.reject(
        new InvalidOptionsError(
          `reply of ${registration.def.name}`,
          "the registration names no reply message",
        ),
      );
    }
    const sent = this.session.send(replyDef, reply);
    if (registration.loginStep !== undefined)
      void sent.then(() => this.#logins.replied(this.session, registration, reply), noop);
    return sent;
  }
}

function noop(): void {}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === "function";
}
