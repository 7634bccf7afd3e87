import type { Session } from "./types.js";

/**
 * Device id → online session. The in-memory default serves one process; a shared implementation
 * (e.g. Redis) can route across processes. Methods may be sync or async.
 */
export interface SessionDirectory {
  /** Binds `deviceId` to `session` and returns the session it replaced, if any. */
  bind(deviceId: string, session: Session): Session | undefined | Promise<Session | undefined>;
  /** Removes the binding only if it still points at `session`. */
  unbind(deviceId: string, session: Session): void | Promise<void>;
  lookup(deviceId: string): Session | undefined;
  size(): number;
}

/** In-process directory. */
export class MemorySessionDirectory implements SessionDirectory {
  readonly #byDevice = new Map<string, Session>();

  bind(deviceId: string, session: Session): Session | undefined {
    const previous = this.#byDevice.get(deviceId);
    this.#byDevice.set(deviceId, session);
    return previous === session ? undefined : previous;
  }

  unbind(deviceId: string, session: Session): void {
    if (this.#byDevice.get(deviceId) === session) this.#byDevice.delete(deviceId);
  }

  lookup(deviceId: string): Session | undefined {
    return this.#byDevice.get(deviceId);
  }

  size(): number {
    return this.#byDevice.size;
  }
}
