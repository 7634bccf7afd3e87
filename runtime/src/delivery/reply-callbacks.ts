/**
 * The user code a delivery runs on an inbound reply (`replyKey`, `isFinal`, `onReply`), isolated:
 * a throw is logged and reported as a `HandlerError` through `onError`, never thrown into the
 * frame path, and the session is never closed for it.
 */
import { HandlerError, messageOf, type PaynetError } from "../errors.js";
import type { Logger } from "../logger.js";

export class ReplyCallbacks {
  readonly #logger: Logger;
  readonly #onError: ((error: PaynetError, deviceId: string) => void) | undefined;

  constructor(logger: Logger, onError: ((error: PaynetError, deviceId: string) => void) | undefined) {
    this.#logger = logger;
    this.#onError = onError;
  }

  /** The correlation key of a reply; `undefined` when `replyKey` threw. */
  key(deviceId: string, replyKey: (reply: unknown) => string, message: unknown): string | undefined {
    try {
      return replyKey(message);
    } catch (cause) {
      this.#failed(deviceId, "replyKey", cause);
      return undefined;
    }
  }

  /** Whether a reply is final; a reply that cannot be judged counts as final (as for `request()`). */
  isFinal(deviceId: string, isFinal: (reply: unknown) => boolean, message: unknown, name: string): boolean {
    try {
      return isFinal(message);
    } catch (cause) {
      this.#failed(deviceId, "isFinal", cause, name);
      // Like request(): a reply that cannot be judged ends the delivery rather than leaving it hanging.
      return true;
    }
  }

  onReply(deviceId: string, onReply: (reply: unknown) => void, message: unknown, name: string): void {
    try {
      onReply(message);
    } catch (cause) {
      this.#failed(deviceId, "onReply", cause, name);
    }
  }

  #failed(deviceId: string, what: string, cause: unknown, messageName?: string): void {
    const error = new HandlerError({
      peer: `device ${deviceId}`,
      ...(messageName === undefined ? {} : { messageName }),
      cause: new Error(`${what} threw: ${messageOf(cause)}`, { cause }),
    });
    this.#logger.error({ deviceId }, error.message);
    try {
      this.#onError?.(error, deviceId);
    } catch (reportError) {
      this.#logger.error({ error: messageOf(reportError) }, "delivery onError threw");
    }
  }
}
