import type { MessageDef } from "../codec.js";
import type {
  CommandOutcome,
  GuardDecision,
  IdempotencyGuard,
  RecordedReply,
} from "../delivery/idempotency.js";
import {
  CorrelationMissingError,
  closeNoticeError,
  DecodeError,
  type ErrorContext,
  HandlerError,
  InvalidOptionsError,
  type PaynetError,
  UnknownTypeError,
} from "../errors.js";
import type { Logger } from "../logger.js";
import type { Registration, Registry } from "../registry.js";
import type { ErrorMessageSpec } from "../server/types.js";
import type { ClientLink } from "./link.js";
import type { ClientContext, InterruptedCommand } from "./types.js";

/** What the dispatcher needs from the client. */
export interface DispatchHost {
  readonly registry: Registry<ClientContext>;
  /** Reply messages of requests and the login flow that the registry may not name. */
  readonly replyDefs: ReadonlyMap<number, MessageDef<unknown>>;
  readonly errorMessage: ErrorMessageSpec<unknown> | undefined;
  readonly guard: IdempotencyGuard;
  readonly logger: Logger;
  /** Reports an error (the client's `error` event). */
  report(error: PaynetError): void;
  /** `client.send()`: current connection when online, else offline queue or `NotConnectedError`. */
  send<T>(def: MessageDef<T>, message: T): Promise<void>;
  /** Sends a reply to a message that arrived on `origin` (not idempotency-guarded). */
  sendReply(origin: ClientLink, def: MessageDef<unknown>, payload: Uint8Array): Promise<void>;
  /** Sends a recorded reply of a guarded command; held until re-login when there is no connection. */
  sendAck(origin: ClientLink, reply: RecordedReply): void;
  /** The client's `interrupted` event. */
  interrupted(info: InterruptedCommand): void;
}

/**
 * Inbound path of the client: registry lookup → decode → reply routing → handler. Nothing a peer
 * sends and nothing a handler does closes the connection: unknown Types, undecodable payloads and
 * handler failures are reported and, with an error message configured, told to the server.
 */
export class InboundDispatcher {
  readonly #host: DispatchHost;

  constructor(host: DispatchHost) {
    this.#host = host;
  }

  /** Handles one inbound frame of `link`. Never throws. */
  dispatch(link: ClientLink, type: number, payload: Buffer): void {
    const host = this.#host;
    const registration = host.registry.get(type);
    // The error message is understood even when no handler registered it: it may carry a close notice.
    const def =
      registration?.def ??
      host.replyDefs.get(type) ??
      (type === host.errorMessage?.def.type ? host.errorMessage.def : undefined);
    if (def === undefined) {
      const error = new UnknownTypeError({ peer: link.peer, frameType: type });
      host.logger.warn({ peer: link.peer, type }, "unknown message type");
      host.report(error);
      this.#tellServer(link, error);
      return;
    }
    let message: unknown;
    try {
      message = def.codec.decode(payload);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      const error = new DecodeError(`cannot decode payload: ${reason}`, {
        peer: link.peer,
        frameType: type,
        messageName: def.name,
        cause,
      });
      host.report(error);
      this.#tellServer(link, error);
      return;
    }
    const spec = host.errorMessage;
    if (spec?.noticeOf !== undefined && type === spec.def.type) this.#closeNotice(link, spec, message);
    if (link.router.offer(type, message)) return;
    if (registration?.handler === undefined) {
      host.logger.debug({ peer: link.peer, type, name: def.name }, "message without handler ignored");
      return;
    }
    void this.#run(link, registration, type, message);
  }

  async #run(
    link: ClientLink,
    registration: Registration<unknown, ClientContext, unknown>,
    type: number,
    message: unknown,
  ) {
    const host = this.#host;
    const context = { peer: link.peer, frameType: type, messageName: registration.def.name };
    let key: string | undefined;
    if (registration.idempotencyKey !== undefined) {
      let correlation: string;
      try {
        correlation = registration.idempotencyKey(message);
      } catch (cause) {
        host.report(new HandlerError({ ...context, cause }));
        return;
      }
      if (correlation === "") {
        // Without a correlation value it cannot be told apart from any other such command.
        const error = new CorrelationMissingError(context);
        host.logger.warn(context, error.message);
        host.report(error);
        this.#tellServer(link, error);
        return;
      }
      // Namespaced by message: Refund{A-1} is not a duplicate of Coin{A-1}.
      key = commandKey(registration.def.name, correlation);
      try {
        const decision = await host.guard.claim(key);
        if (decision.kind === "duplicate") {
          this.#answerDuplicate(link, registration, message, context, correlation, decision);
          return;
        }
        if (decision.kind === "interrupted") {
          await this.#answerInterrupted(link, registration, message, context, key, correlation);
          return;
        }
      } catch (cause) {
        // Without a reliable record the command must not run: it could run twice.
        host.report(new HandlerError({ ...context, cause }));
        return;
      }
    }
    const guardedKey = key;
    const replyDef = registration.reply;
    const encodeReply = (value: unknown): RecordedReply => {
      if (replyDef === undefined) {
        throw new InvalidOptionsError(
          `reply of ${registration.def.name}`,
          "the registration names no reply message",
        );
      }
      return { type: replyDef.type, payload: replyDef.codec.encode(value) };
    };
    const reply = async (value: unknown): Promise<void> => {
      const recorded = encodeReply(value);
      if (guardedKey === undefined) {
        return host.sendReply(link, replyDef as MessageDef<unknown>, recorded.payload);
      }
      await host.guard.record(guardedKey, recorded);
      host.sendAck(link, recorded);
    };
    const ctx: ClientContext = {
      type,
      send: (def, value) => host.send(def, value),
      reply,
    };
    let result: unknown;
    try {
      result = await (registration.handler as NonNullable<typeof registration.handler>)(message, ctx);
    } catch (cause) {
      const error = cause instanceof HandlerError ? cause : new HandlerError({ ...context, cause });
      host.logger.error({ ...context, key: guardedKey, error: error.message }, "handler failed");
      host.report(error);
      if (guardedKey === undefined) {
        this.#tellServer(link, error);
        return;
      }
      const failure = `handler failed: ${cause instanceof Error ? cause.message : String(cause)}`;
      const failureReply = this.#failureReply(registration, message, failure, context);
      const outcome = failureReply === undefined ? { failure } : { failure, reply: failureReply };
      if ((await this.#finish(guardedKey, outcome, context)) && failureReply !== undefined) {
        host.sendAck(link, failureReply);
      }
      this.#tellServer(link, error);
      return;
    }
    if (guardedKey === undefined) {
      if (result !== undefined && replyDef !== undefined) {
        await reply(result).catch((cause) => host.report(new HandlerError({ ...context, cause })));
      }
      return;
    }
    let final: RecordedReply | undefined;
    if (result !== undefined && replyDef !== undefined) {
      try {
        final = encodeReply(result);
      } catch (cause) {
        host.report(new HandlerError({ ...context, cause }));
      }
    }
    // The final reply and the end of the command in one write, so a crash cannot separate them.
    if (await this.#finish(guardedKey, final === undefined ? {} : { reply: final }, context)) {
      if (final !== undefined) host.sendAck(link, final);
    }
  }

  /** Records the end of a guarded command; false (reported) when the store failed. */
  async #finish(key: string, outcome: CommandOutcome, context: ErrorContext): Promise<boolean> {
    try {
      await this.#host.guard.finish(key, outcome);
      return true;
    } catch (cause) {
      this.#host.report(new HandlerError({ ...context, cause }));
      return false;
    }
  }

  /** The registration's failure reply to `message`, encoded; undefined without one (or when it throws). */
  #failureReply(
    registration: Registration<unknown, ClientContext, unknown>,
    message: unknown,
    reason: string,
    context: ErrorContext,
  ): RecordedReply | undefined {
    const build = registration.failureReply;
    const replyDef = registration.reply;
    if (build === undefined || replyDef === undefined) return undefined;
    try {
      return { type: replyDef.type, payload: replyDef.codec.encode(build(message, reason)) };
    } catch (cause) {
      this.#host.report(
        new HandlerError({ ...context, cause: new Error(`failureReply threw: ${String(cause)}`, { cause }) }),
      );
      return undefined;
    }
  }

  /**
   * A command claimed by an earlier process that never finished it: it may have moved money, so it
   * is not run again. It is settled as failed ("interrupted"), answered with the protocol's failure
   * reply (or the error message), and reported once through the `interrupted` event.
   */
  async #answerInterrupted(
    link: ClientLink,
    registration: Registration<unknown, ClientContext, unknown>,
    message: unknown,
    context: { peer: string; frameType: number; messageName: string },
    key: string,
    correlation: string,
  ): Promise<void> {
    const host = this.#host;
    const reply = this.#failureReply(registration, message, INTERRUPTED_REASON, context);
    await host.guard.markInterrupted(key, INTERRUPTED_REASON, reply);
    host.logger.warn(
      { ...context, key: correlation },
      "command interrupted by a restart during its execution: not executed again, answered as failed; reconcile manually",
    );
    host.interrupted({
      type: context.frameType,
      messageName: context.messageName,
      key: correlation,
      reason: INTERRUPTED_REASON,
    });
    if (reply !== undefined) host.sendAck(link, reply);
    else this.#tellServer(link, interruptedError(context, correlation));
  }

  /**
   * A guarded command seen before: never executed again. A recorded failure is answered with the
   * failure reply (or the error message, naming the key); recorded progress with the last reply.
   */
  #answerDuplicate(
    link: ClientLink,
    registration: Registration<unknown, ClientContext, unknown>,
    message: unknown,
    context: { peer: string; frameType: number; messageName: string },
    key: string,
    decision: Extract<GuardDecision, { kind: "duplicate" }>,
  ): void {
    const host = this.#host;
    if (decision.failed !== undefined) {
      const failureReply = this.#failureReply(registration, message, decision.failed, context);
      host.logger.warn(
        { ...context, key, failure: decision.failed },
        failureReply !== undefined
          ? "duplicate of a failed command answered with its failure reply; not executed again"
          : host.errorMessage === undefined
            ? "duplicate of a failed command not executed again; no errorMessage configured to tell the server"
            : "duplicate of a failed command answered with the error message; not executed again",
      );
      if (failureReply !== undefined) {
        host.sendAck(link, failureReply);
        return;
      }
      const error = new HandlerError({
        ...context,
        cause: new Error(
          `command ${key} failed on its first execution (${decision.failed}); not executed again`,
        ),
      });
      this.#tellServer(link, error);
      return;
    }
    if (decision.lastReply !== undefined) {
      host.logger.info(
        { ...context, key },
        decision.running
          ? "duplicate command answered from its record: latest reply, first execution still running"
          : "duplicate command answered from its record",
      );
      host.sendAck(link, decision.lastReply);
      return;
    }
    host.logger.info(
      { ...context, key },
      decision.running
        ? "duplicate command not executed again: first execution still running, no reply recorded yet"
        : "duplicate command not executed again: its execution recorded no reply",
    );
  }

  /** Notes a close notice the error message carries (the server draining), for the link's close reason. */
  #closeNotice(link: ClientLink, spec: ErrorMessageSpec<unknown>, message: unknown): void {
    let code: ReturnType<NonNullable<ErrorMessageSpec<unknown>["noticeOf"]>>;
    try {
      code = spec.noticeOf?.(message);
    } catch (cause) {
      this.#host.logger.warn({ peer: link.peer, error: String(cause) }, "errorMessage.noticeOf threw");
      return;
    }
    if (code === undefined) return;
    const reason = closeNoticeError(code, { peer: link.peer });
    this.#host.logger.info({ peer: link.peer, reason: code }, "server announced it closes the connection");
    link.noteCloseNotice(reason);
  }

  /** Sends the configured error message, if any, to the peer of `link`. Best effort. */
  #tellServer(link: ClientLink, error: PaynetError): void {
    const spec = this.#host.errorMessage;
    if (spec === undefined || link.isClosed) return;
    try {
      link.write(spec.def.type, spec.def.codec.encode(spec.build(error)));
    } catch (cause) {
      this.#host.logger.warn({ peer: link.peer, error: String(cause) }, "could not send error message");
    }
  }
}

/** Failure reason of a command interrupted by a crash, as the protocol's failure reply carries it. */
export const INTERRUPTED_REASON =
  "interrupted, reconcile manually: the device stopped while executing this command";

/**
 * Idempotency key of a command: message name and correlation value (`paybox.CoinCommand/A-1`). A
 * message name holds no `/` (proto full names are dotted identifiers), so the first `/` splits the
 * two and no pair of name and value shares its key with another. Stored in journals: keep the form.
 */
export function commandKey(messageName: string, correlation: string): string {
  return `${messageName}/${correlation}`;
}

function interruptedError(context: ErrorContext, correlation: string): HandlerError {
  return new HandlerError({
    ...context,
    cause: new Error(`command ${correlation}: ${INTERRUPTED_REASON}; not executed again`),
  });
}
