/**
 * Connection admission: from TCP accept through the TLS handshake and the peer check to an open
 * {@link ServerSession}. Refusals (connection limit, failed or timed-out handshake, rejected peer
 * certificate) are counted, logged and reported; they never reach a session.
 */
import type { Socket } from "node:net";
import type { TLSSocket, Server as TlsServer } from "node:tls";
import { FrameConnection } from "../connection.js";
import {
  HandlerError,
  HandshakeFailedError,
  HandshakeTimeoutError,
  MaxConnectionsError,
  PaynetError,
  PeerCertificateRejectedError,
} from "../errors.js";
import type { LogFields } from "../logger.js";
import type { TrafficStats } from "../stats.js";
import type { PeerVerdict, ServerTlsContext } from "../tls/server-context.js";
import { type PeerGuard, PRE_LOGIN_LIMIT } from "./guard.js";
import type { ResolvedServerOptions } from "./options.js";
import { ServerSession } from "./session.js";
import type { SessionHost } from "./session-host.js";
import type { PeerIdentity } from "./types.js";

/** The server's connection counters that admission keeps up to date. */
export interface AdmissionCounters {
  total: number;
  rejected: number;
  handshakesFull: number;
  handshakesResumed: number;
  handshakesFailed: number;
}

/** What admission needs from its server. */
export interface AdmissionHost {
  readonly options: ResolvedServerOptions;
  readonly tls: ServerTlsContext;
  readonly counters: AdmissionCounters;
  readonly traffic: TrafficStats;
  /** Given to every admitted session (login, queue overflow, outbound names). */
  readonly sessionHost: SessionHost;
  /** Starts the pre-login rules of every admitted session. */
  readonly guard: PeerGuard;
  /** The server's live sessions; an admitted one is added. */
  readonly sessions: Set<ServerSession>;
  /** True while the server accepts sessions (not before `start()` finished, not once stopping). */
  isListening(): boolean;
  /** Emits `connection` for a newly admitted session. */
  announce(session: ServerSession): void;
  /** Logs-independent error reporting (`error` event). */
  report(error: PaynetError, session: ServerSession | undefined): void;
  /** Logs without letting a throwing user logger break the caller. */
  log(level: "warn" | "error", fields: LogFields, message: string): void;
}

/** Admits the connections of one server, from TCP accept to an attached session. */
export class Admission {
  readonly #host: AdmissionHost;
  /** Raw sockets from TCP accept to the end of their handshake, so stop() can end half-open ones. */
  readonly #sockets = new Set<Socket>();
  /** Address of each TCP connection until its handshake ends (see `#onTcpConnection`). */
  readonly #tcpPeers = new WeakMap<Socket, RemoteAddress>();
  /** One `'close'` listener shared by every raw socket (`this` is the socket): no closure per connection. */
  readonly #forgetSocket: (this: Socket) => void;
  #nextSessionId = 1;

  constructor(host: AdmissionHost) {
    this.#host = host;
    const sockets = this.#sockets;
    this.#forgetSocket = function (this: Socket) {
      sockets.delete(this);
    };
  }

  /** Handles the connection events of `server` from now on. */
  attach(server: TlsServer): void {
    server.on("connection", (socket: Socket) => this.#onTcpConnection(socket));
    server.on("drop", (data) => this.#onDrop(data));
    server.on("tlsClientError", (error, socket) => this.#onHandshakeError(error, socket));
    server.on("secureConnection", (socket) => this.#onSecureConnection(socket));
  }

  /** TCP connections accepted whose TLS handshake (and peer check) is not over yet. */
  get handshaking(): number {
    return this.#sockets.size;
  }

  /** Destroys every socket still open, half-open handshakes included. */
  destroySockets(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  #onTcpConnection(socket: Socket): void {
    // Remember the address now: a peer that resets during the handshake leaves a destroyed socket
    // whose address getters return undefined by the time `tlsClientError` fires.
    // Read once, here: each socket caches its peer address in an object of its own on first read
    // (~110 bytes per connection), so the TLS socket's getters are never used and this one's cache
    // is dropped once the handshake is over.
    this.#tcpPeers.set(socket, { address: socket.remoteAddress ?? "?", port: socket.remotePort ?? 0 });
    this.#sockets.add(socket);
    socket.on("close", this.#forgetSocket);
  }

  #onDrop(data: { remoteAddress?: string; remotePort?: number } | undefined): void {
    const host = this.#host;
    host.counters.rejected++;
    const error = new MaxConnectionsError(host.options.maxConnections, {
      peer: peerOf(data?.remoteAddress, data?.remotePort),
    });
    host.options.logger.warn({}, error.message);
    host.report(error, undefined);
  }

  #onHandshakeError(error: Error & { code?: string; reason?: string }, socket: TLSSocket): void {
    const host = this.#host;
    host.counters.handshakesFailed++;
    const remote = this.#remoteOf(socket);
    const peer = peerOf(remote.address, remote.port);
    const failure =
      error.code === "ERR_TLS_HANDSHAKE_TIMEOUT" || /handshake timeout/i.test(error.message)
        ? new HandshakeTimeoutError(host.options.handshakeTimeoutMs, { peer, cause: error })
        : new HandshakeFailedError(error.reason ?? error.code ?? error.message, { peer, cause: error });
    host.options.logger.warn({}, failure.message);
    host.report(failure, undefined);
    socket.destroy();
  }

  /**
   * Admission of one handshaken socket. Runs detached from the `secureConnection` event, so any
   * failure in it (a throwing admission check, a bug) is caught here: the socket is destroyed and
   * the failure logged and reported, never an unhandled rejection.
   */
  #onSecureConnection(socket: TLSSocket): void {
    const remote = this.#remoteOf(socket);
    // The handshake is over: the TCP-level address was kept for handshake failures only.
    const tcp = tcpOf(socket);
    if (tcp !== undefined) {
      this.#tcpPeers.delete(tcp);
      forgetCachedPeername(tcp);
      // From here on the socket is the session's (or destroyed by `#admit`): stop() closes it there.
      this.#sockets.delete(tcp);
      tcp.off("close", this.#forgetSocket);
    }
    const peer = peerOf(remote.address, remote.port);
    this.#admit(socket, remote, peer).catch((error: unknown) => {
      socket.destroy();
      const failure = error instanceof PaynetError ? error : new HandlerError({ peer, cause: error });
      this.#host.log("error", { peer, error: failure.message }, "connection admission failed");
      this.#host.report(failure, undefined);
    });
  }

  /** The remote address of a TLS socket, as its TCP socket had it on arrival. */
  #remoteOf(socket: TLSSocket): RemoteAddress {
    const tcp = tcpOf(socket);
    const known = tcp === undefined ? undefined : this.#tcpPeers.get(tcp);
    return known ?? { address: socket.remoteAddress ?? "?", port: socket.remotePort ?? 0 };
  }

  async #admit(socket: TLSSocket, remote: RemoteAddress, peer: string): Promise<void> {
    const host = this.#host;
    const resumed = socket.isSessionReused();
    if (resumed) host.counters.handshakesResumed++;
    else host.counters.handshakesFull++;
    // The peer may go away while admission runs; that must not become an unhandled 'error'.
    const ignore = () => {};
    socket.on("error", ignore);
    let verdict: PeerVerdict;
    try {
      verdict = await host.tls.admit(socket, peer, host.options.handshakeTimeoutMs);
    } catch (error) {
      // E.g. a certificate our DER reader cannot parse for the revocation check: refuse, never crash.
      const reason = `admission check failed: ${error instanceof Error ? error.message : String(error)}`;
      host.tls.countRejection("check-failed");
      verdict = { accepted: false, identity: undefined, rejection: "check-failed", reason };
    } finally {
      socket.off("error", ignore);
    }
    if (!verdict.accepted) {
      host.counters.rejected++;
      const error = new PeerCertificateRejectedError(verdict.rejection, verdict.reason, { peer });
      host.options.logger.warn(
        { ...certificateFields(verdict.identity), rejection: verdict.rejection, resumed },
        error.message,
      );
      socket.destroy();
      host.report(error, undefined);
      return;
    }
    if (!host.isListening() || socket.destroyed) {
      socket.destroy();
      return;
    }
    this.#open(socket, remote, verdict, resumed);
  }

  #open(
    socket: TLSSocket,
    remote: RemoteAddress,
    verdict: PeerVerdict & { accepted: true },
    resumed: boolean,
  ): void {
    const host = this.#host;
    const { identity, certificate } = verdict;
    const session = new ServerSession(
      {
        id: `c${this.#nextSessionId++}`,
        remoteAddress: remote.address,
        remotePort: remote.port,
        identity,
        resumed,
        ...(certificate === undefined ? {} : { certificate }),
      },
      host.sessionHost,
    );
    const { maxFrame, lengthMode, outboundQueue, readTimeoutMs, preLogin } = host.options;
    const connectionOptions = {
      peer: session.peer,
      readTimeoutMs,
      stats: host.traffic,
      maxFrame,
      ...(preLogin.maxFrame < maxFrame
        ? { inboundLimit: { maxFrame: preLogin.maxFrame, option: PRE_LOGIN_LIMIT } }
        : {}),
      ...(lengthMode === undefined ? {} : { lengthMode }),
      ...(outboundQueue === undefined ? {} : { outboundQueue }),
    };
    const connection = new FrameConnection(socket, connectionOptions, session);
    session.attach(connection);
    host.guard.opened(session);
    host.sessions.add(session);
    host.counters.total++;
    session.log.info({ resumed, commonName: identity?.commonName }, "connection");
    host.announce(session);
  }
}

/** A connection's remote address and port. */
interface RemoteAddress {
  address: string;
  port: number;
}

/** The TCP socket a server-side TLS socket wraps (`_parent`, not typed by @types/node). */
function tcpOf(socket: TLSSocket): Socket | undefined {
  return (socket as TLSSocket & { _parent?: Socket })._parent;
}

/**
 * Drops the peer address a `net.Socket` cached when `remoteAddress` was read (`_peername`, an
 * internal of Node's net module; nothing happens where it does not exist). Reading the getter again
 * fetches it anew.
 */
function forgetCachedPeername(socket: Socket): void {
  const cached = socket as Socket & { _peername?: unknown };
  if (cached._peername !== undefined) cached._peername = undefined;
}

/** Log fields naming a peer certificate: who it says it is and which certificate exactly. */
export function certificateFields(identity: PeerIdentity | undefined): LogFields {
  if (identity === undefined) return {};
  return {
    commonName: identity.commonName,
    serialNumber: identity.serialNumber,
    fingerprint256: identity.fingerprint256,
  };
}

function peerOf(address: string | undefined, port: number | undefined): string {
  return `${address ?? "?"}:${port ?? "?"}`;
}
