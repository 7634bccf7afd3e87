/**
 * The contract between a {@link ServerSession} and its server: the facts a session is opened with
 * and what it asks of the server (login bookkeeping, dispatch of its frames, its end).
 */
import type { MessageDef } from "../codec.js";
import type { PaynetError, QueueFullError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { AdmittedCertificate } from "../tls/server-context.js";
import type { ServerSession } from "./session.js";
import type { PeerIdentity } from "./types.js";

/** What a session needs from its server. */
export interface SessionHost {
  /** The server's logger; each session logs through a child of it (see {@link ServerSession.log}). */
  readonly logger: Logger;
  /**
   * Whether the session may log in as `deviceId`, which no login step of it approved (the login
   * policy): true, or the refusal, already answered with the session closed by the host (an
   * asynchronous decision resolves to false then).
   */
  authorizeLogin(session: ServerSession, deviceId: string): true | PaynetError | Promise<boolean>;
  /**
   * The session logged in as `deviceId` (directory, `online` event, redeliveries). `previous` is
   * the device id it was logged in as before, when a second login changed it (to be unbound).
   */
  login(session: ServerSession, deviceId: string, previous: string | undefined): void;
  /** The session forgot its device id (its directory bind failed): it is not logged in any more. */
  loggedOut(session: ServerSession): void;
  /** The session's outbound queue overflowed; counted, and the session is closed. */
  queueFull(session: ServerSession, error: QueueFullError): void;
  /** Remembers the name of an outbound Type for stats. */
  sent(def: MessageDef<unknown>): void;
  /** One inbound frame of the session, its payload `buffer[start, end)` (dispatch). */
  frame(session: ServerSession, type: number, buffer: Buffer, start: number, end: number): void;
  /** The session's connection ended. */
  closed(session: ServerSession, reason: PaynetError): void;
}

/** Connection facts fixed at handshake time. */
export interface SessionInit {
  readonly id: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly identity: PeerIdentity | undefined;
  /** The peer certificate and its verified chain (mTLS), kept to re-check them after a TLS reload. */
  readonly certificate?: AdmittedCertificate;
  readonly resumed: boolean;
}
