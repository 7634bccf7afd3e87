import { isIP } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import {
  ConnectionClosedError,
  ConnectTimeoutError,
  HandshakeFailedError,
  type PaynetError,
} from "../errors.js";
import type { TimerWheel } from "../timers.js";
import { TicketCache } from "../tls/ticket-cache.js";
import type { ClientTlsOptions } from "./types.js";

/** Everything one TLS connect needs. */
export interface ConnectParams {
  readonly host: string;
  readonly port: number;
  readonly tls: ClientTlsOptions;
  /** Covers TCP connect and TLS handshake together. */
  readonly timeoutMs: number;
  readonly tickets: TicketCache;
  readonly wheel: TimerWheel;
}

/** A TLS connection that completed its handshake. */
export interface TlsConnected {
  readonly socket: TLSSocket;
  /** Whether the handshake resumed a cached session (no certificate exchange). */
  readonly resumed: boolean;
  /** The ticket cache key of this endpoint (see {@link TicketCache.keyOf}). */
  readonly ticketKey: string;
}

/** A connect in progress; `cancel()` destroys the socket and rejects `result` with `reason`. */
export interface PendingConnect {
  readonly result: Promise<TlsConnected>;
  cancel(reason: PaynetError): void;
}

/**
 * The SNI name sent for `host`: `servername` when set, else the host itself unless it is an IP
 * address (RFC 6066 forbids IP literals in SNI; the certificate is still checked against the IP).
 */
function serverNameFor(host: string, tls: ClientTlsOptions): string | undefined {
  if (tls.servername !== undefined) return tls.servername;
  return isIP(host) === 0 ? host : undefined;
}

/**
 * Opens a TLS connection, offering the cached ticket of this endpoint and caching every ticket the
 * server sends (TLS 1.3 sends them after the handshake; the latest wins).
 *
 * Rejects with `ConnectTimeoutError` when TCP + TLS take longer than `timeoutMs`,
 * `HandshakeFailedError` carrying the TLS library's reason when TCP connected but the handshake
 * failed (wrong CA, expired certificate, protocol version, ...), or `ConnectionClosedError` when TCP
 * itself failed (refused, unreachable).
 */
export function connectTls(params: ConnectParams): PendingConnect {
  const peer = `${params.host}:${params.port}`;
  const servername = serverNameFor(params.host, params.tls);
  const ticketKey = TicketCache.keyOf(params.host, params.port, servername);
  const session = params.tickets.get(ticketKey);
  const socket = tlsConnect({
    host: params.host,
    port: params.port,
    minVersion: params.tls.minVersion ?? "TLSv1.3",
    ...(params.tls.ca === undefined ? {} : { ca: params.tls.ca as string | Buffer | Array<string | Buffer> }),
    ...(params.tls.cert === undefined
      ? {}
      : { cert: params.tls.cert as string | Buffer | Array<string | Buffer> }),
    ...(params.tls.key === undefined
      ? {}
      : { key: params.tls.key as string | Buffer | Array<string | Buffer> }),
    ...(servername === undefined ? {} : { servername }),
    ...(session === undefined ? {} : { session }),
  });
  socket.on("session", (ticket: Buffer) => params.tickets.store(ticketKey, ticket));

  let settle: { resolve: (value: TlsConnected) => void; reject: (error: PaynetError) => void } | undefined;
  const result = new Promise<TlsConnected>((resolve, reject) => {
    settle = { resolve, reject };
  });
  let tcpUp = false;
  const timer = params.wheel.schedule(params.timeoutMs, () =>
    fail(new ConnectTimeoutError(params.timeoutMs, { peer })),
  );

  const cleanup = () => {
    timer.cancel();
    socket.off("connect", onTcp);
    socket.off("secureConnect", onSecure);
    socket.off("error", onError);
    socket.off("close", onClose);
  };
  const fail = (error: PaynetError) => {
    if (settle === undefined) return;
    const { reject } = settle;
    settle = undefined;
    cleanup();
    // Swallow late socket errors: the connection is abandoned and the reason already reported.
    socket.on("error", () => {});
    socket.destroy();
    if (error instanceof HandshakeFailedError) params.tickets.delete(ticketKey);
    reject(error);
  };
  const onTcp = () => {
    tcpUp = true;
  };
  const onSecure = () => {
    if (settle === undefined) return;
    const { resolve } = settle;
    settle = undefined;
    cleanup();
    resolve({ socket, resumed: socket.isSessionReused(), ticketKey });
  };
  const onError = (error: Error) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (tcpUp) fail(new HandshakeFailedError(error.message || code || "unknown", { peer, cause: error }));
    else fail(new ConnectionClosedError(`connect failed: ${code ?? error.message}`, { peer, cause: error }));
  };
  const onClose = () => {
    fail(
      tcpUp
        ? new HandshakeFailedError("connection closed by peer during handshake", { peer })
        : new ConnectionClosedError("connect failed: socket closed", { peer }),
    );
  };
  socket.once("connect", onTcp);
  socket.once("secureConnect", onSecure);
  socket.once("error", onError);
  socket.once("close", onClose);

  return { result, cancel: fail };
}
