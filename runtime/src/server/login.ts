/**
 * Login bookkeeping: binds a logged-in session to its device id in the {@link SessionDirectory},
 * replaces the device's previous session, announces it online and resends its pending deliveries.
 * A failing directory logs the session out (bind) or is logged (unbind); it never breaks the server.
 */
import { PaynetError, SessionReplacedError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { DeliveryEngine } from "./cluster.js";
import type { SessionDirectory } from "./directory.js";
import { ServerSession } from "./session.js";
import type { Session } from "./types.js";

/** What login handling needs from its server. */
export interface LoginHost {
  readonly directory: SessionDirectory;
  /**
   * The directory is a cluster's presence: a failed bind (the claim of the device cluster-wide)
   * closes the session with the error, so the device logs in again later, rather than leaving it
   * connected and logged out.
   */
  readonly clustered?: boolean;
  readonly deliveries: DeliveryEngine;
  readonly logger: Logger;
  /** Emits `online` for a session bound to its device id. */
  announce(session: ServerSession): void;
  /** Sends the protocol's error message to the peer (best effort). */
  tellPeer(session: ServerSession, error: PaynetError): void;
}

/** Binds and unbinds the device ids of one server's sessions. */
export class Logins {
  readonly #host: LoginHost;

  constructor(host: LoginHost) {
    this.#host = host;
  }

  /**
   * `session` logged in as `deviceId`; `previousId` is the device id it was logged in as before,
   * when a second login changed it (unbound here).
   */
  login(session: ServerSession, deviceId: string, previousId: string | undefined): void {
    const host = this.#host;
    if (previousId !== undefined) {
      session.log.info(
        { previous: previousId },
        "session logged in again with another device id; old id unbound",
      );
      void this.unbind(previousId, session);
    }
    const replaceAndAnnounce = (previous: Session | undefined) => {
      if (session.closedReason !== undefined) {
        void this.unbind(deviceId, session);
        return;
      }
      if (previous !== undefined && previous !== session) {
        const replaced = new SessionReplacedError(deviceId, { peer: previous.peer });
        session.log.info({ replacedPeer: previous.peer }, replaced.message);
        if (previous instanceof ServerSession) {
          // Told first, so the device knows to back off rather than take the session back at once.
          host.tellPeer(previous, replaced);
          previous.closeWith(replaced);
        } else previous.close(replaced.message);
      }
      session.log.info({}, "online");
      host.announce(session);
      // After the login handler's own reply, so the device sees its login answer first.
      const resend = host.deliveries.resendAfterLogin(deviceId, session);
      session.whenIdle(() => void resend());
    };
    let bound: Session | undefined | Promise<Session | undefined>;
    try {
      bound = host.directory.bind(deviceId, session);
    } catch (error) {
      this.#directoryFailed(session, error);
      return;
    }
    if (bound instanceof Promise)
      bound.then(replaceAndAnnounce, (error: unknown) => this.#directoryFailed(session, error));
    else replaceAndAnnounce(bound);
  }

  /** Removes the binding of `deviceId` to `session`; a failing directory is logged, never thrown. */
  async unbind(deviceId: string, session: ServerSession): Promise<void> {
    try {
      await this.#host.directory.unbind(deviceId, session);
    } catch (error) {
      this.#host.logger.error({ deviceId, error: String(error) }, "session directory unbind failed");
    }
  }

  #directoryFailed(session: ServerSession, error: unknown): void {
    session.log.error({ error: String(error) }, "session directory bind failed");
    if (this.#host.clustered && error instanceof PaynetError) {
      // Told why (e.g. CLUSTER_UNAVAILABLE), so the device backs off and logs in again later.
      this.#host.tellPeer(session, error);
      session.closeWith(error);
      return;
    }
    session.logout();
  }
}
