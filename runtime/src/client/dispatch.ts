import type { MessageDef } from "../codec.js";
import type { GuardDecision, IdempotencyGuard, RecordedReply } from "../delivery/idempotency.js";
import {
  DecodeError,
  HandlerError,
  InvalidOptionsError,
  type PaynetError,
  UnknownTypeError,
} from "../errors.js";
import type { Logger } from "../logger.js";
import type { Registration, Registry } from "../registry.js";
import type { ErrorMessageSpec } from "../server/types.js";
import type { ClientLink } from "./link.js";
import type { ClientContext } from "./types.js";

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
    const errorSpec = host.errorMessage;
    const def =
      registration?.def ??
      host.replyDefs.get(type) ??
      (type === errorSpec?.def.type ? errorSpec.def : undefined);
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
    if (type === errorSpec?.def.type) this.#noteServerError(link, errorSpec, message);
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
      try {
        key = registration.idempotencyKey(message);
        const decision = await host.guard.claim(key);
        if (!decision.execute) {
          this.#answerDuplicate(link, context, key, decision);
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
    const reply = async (value: unknown): Promise<void> => {
      if (replyDef === undefined) {
        throw new InvalidOptionsError(
          `reply of ${registration.def.name}`,
          "the registration names no reply message",
        );
      }
      const payload = replyDef.codec.encode(value);
      if (guardedKey === undefined) return host.sendReply(link, replyDef as MessageDef<unknown>, payload);
      const recorded = { type: replyDef.type, payload };
      await host.guard.record(guardedKey, recorded);
      host.sendAck(link, recorded);
    };
    const ctx: ClientContext = {
      type,
      send: (def, value) => host.send(def, value),
      reply,
    };
    let failure: string | undefined;
    try {
      const result = await (registration.handler as NonNullable<typeof registration.handler>)(message, ctx);
      if (result !== undefined && replyDef !== undefined) await reply(result);
    } catch (cause) {
      const error = cause instanceof HandlerError ? cause : new HandlerError({ ...context, cause });
      failure = cause instanceof Error ? cause.message : String(cause);
      host.logger.error({ ...context, key: guardedKey, error: error.message }, "handler failed");
      host.report(error);
      this.#tellServer(link, error);
    } finally {
      if (guardedKey !== undefined) {
        await host.guard
          .finish(guardedKey, failure)
          .catch((cause) => host.report(new HandlerError({ ...context, cause })));
      }
    }
  }

  /**
   * A guarded command seen before: never executed again. A recorded failure is answered with the
   * error message (naming the key); recorded progress with the last reply; otherwise nothing.
   */
  #answerDuplicate(
    link: ClientLink,
    context: { peer: string; frameType: number; messageName: string },
    key: string,
    decision: Extract<GuardDecision, { execute: false }>,
  ): void {
    const host = this.#host;
    if (decision.failed !== undefined) {
      const error = new HandlerError({
        ...context,
        cause: new Error(
          `command ${key} failed on its first execution (${decision.failed}); not executed again`,
        ),
      });
      host.logger.warn(
        { ...context, key, failure: decision.failed },
        host.errorMessage === undefined
          ? "duplicate of a failed command not executed again; no errorMessage configured to tell the server"
          : "duplicate of a failed command answered with the error message; not executed again",
      );
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

  /** An error message from the server: one saying the session was replaced marks the link so. */
  #noteServerError(link: ClientLink, spec: ErrorMessageSpec<unknown>, message: unknown): void {
    let code: string | undefined;
    try {
      code = spec.codeOf?.(message);
    } catch (cause) {
      this.#host.logger.warn({ peer: link.peer, error: String(cause) }, "errorMessage.codeOf failed");
      return;
    }
    if (code === "SESSION_REPLACED") link.markReplaced();
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
