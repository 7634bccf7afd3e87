/**
 * The server's end of life, shared by `stop()` and `drain()`: the handlers still running (stop
 * waits for them, up to a grace period) and the sessions being closed (gracefully, then destroyed
 * when their last frames do not flush in time), including those a drain evicts one by one once
 * their own handlers are idle.
 */
import type { PaynetError, ServerDrainingError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ServerSession } from "./session.js";
import type { ErrorMessageSpec } from "./types.js";

/** How long a stopping server lets a session flush its last frames before destroying it. */
const STOP_FLUSH_MS = 1_000;

export class Shutdown {
  readonly #logger: Logger;
  readonly #errorMessage: ErrorMessageSpec<unknown> | undefined;
  #inFlight = 0;
  #onHandlersIdle: (() => void) | undefined;
  /** Sessions being closed by stop() or drain(), and what to call once each has. */
  readonly #whenSessionClosed = new Map<ServerSession, () => void>();
  /** Sessions a drain closes once their handlers are idle, not closing yet. */
  readonly #evictionsWaiting = new Set<ServerSession>();

  constructor(logger: Logger, errorMessage: ErrorMessageSpec<unknown> | undefined) {
    this.#logger = logger;
    this.#errorMessage = errorMessage;
  }

  /** Handlers running now, on every session. */
  get inFlight(): number {
    return this.#inFlight;
  }

  handlerStarted(): void {
    this.#inFlight++;
  }

  handlerFinished(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) this.#onHandlersIdle?.();
  }

  /** Resolves when no handler runs any more, or after `graceMs`, with the number still running. */
  handlersIdle(graceMs: number): Promise<number> {
    if (this.#inFlight === 0) return Promise.resolve(0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#logger.warn({ inFlight: this.#inFlight }, "stop grace period over; handlers still running");
        done();
      }, graceMs);
      const done = () => {
        clearTimeout(timer);
        this.#onHandlersIdle = undefined;
        resolve(this.#inFlight);
      };
      this.#onHandlersIdle = done;
    });
  }

  /** Closes one session gracefully; destroys it if its frames are not flushed in time. */
  closeSession(session: ServerSession, reason: PaynetError): Promise<void> {
    if (session.closedReason !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => session.destroyWith(reason), STOP_FLUSH_MS);
      this.#whenSessionClosed.set(session, () => {
        clearTimeout(timer);
        resolve();
      });
      session.closeWith(reason);
    });
  }

  /** Tells one session the server drains, then closes it gracefully once its handlers are idle. */
  evict(session: ServerSession, reason: ServerDrainingError): Promise<void> {
    this.#evictionsWaiting.add(session);
    return new Promise((resolve) => {
      session.whenIdle(() => {
        if (!this.#evictionsWaiting.delete(session)) return;
        this.#sendNotice(session, reason);
        this.closeSession(session, reason).then(resolve);
      });
      this.#whenSessionClosed.set(session, resolve);
    });
  }

  /** The end of a drain: sessions still waiting for their handlers are destroyed. */
  destroyWaitingEvictions(reason: PaynetError): void {
    for (const session of this.#evictionsWaiting) session.destroyWith(reason);
    this.#evictionsWaiting.clear();
  }

  /** `session` has closed (for whatever reason): whoever waits for it may go on. */
  sessionClosed(session: ServerSession): void {
    this.#evictionsWaiting.delete(session);
    const resolve = this.#whenSessionClosed.get(session);
    this.#whenSessionClosed.delete(session);
    resolve?.();
  }

  /** Sends the protocol's error message built from `reason` (a close notice), if there is one. */
  #sendNotice(session: ServerSession, reason: PaynetError): void {
    const spec = this.#errorMessage;
    if (spec === undefined || session.closedReason !== undefined) return;
    try {
      session.sendFrame(spec.def.type, spec.def.codec.encode(spec.build(reason)));
    } catch (error) {
      session.log.debug(
        { error: error instanceof Error ? error.message : String(error) },
        "close notice not sent",
      );
    }
  }
}
