/**
 * Errors of the connection itself: TLS handshake and peer certificate, timeouts, the connection
 * closing, the connection limit.
 */
import type { CertificateRejection } from "../tls/trust-policy.js";
import { type ErrorContext, PaynetError } from "./base.js";

/** The TLS handshake failed; `reason` is the TLS library's reason (e.g. `unknown ca`). */
export class HandshakeFailedError extends PaynetError {
  constructor(
    readonly reason: string,
    context: ErrorContext = {},
  ) {
    super("HANDSHAKE_FAILED", `TLS handshake failed: ${reason}`, context);
  }
}

/** The TLS handshake did not complete in time. */
export class HandshakeTimeoutError extends PaynetError {
  constructor(timeoutMs: number, context: ErrorContext = {}) {
    super("HANDSHAKE_TIMEOUT", `TLS handshake not completed within ${timeoutMs} ms`, context);
  }
}

/**
 * The peer's certificate was refused after the handshake, or a connected session's certificate no
 * longer passes after a TLS reload (CA dropped, certificate or CA revoked, rejected by `verifyPeer`,
 * ...). `rejection` says which check failed; `reason` says how, in words.
 */
export class PeerCertificateRejectedError extends PaynetError {
  constructor(
    readonly rejection: CertificateRejection,
    readonly reason: string,
    context: ErrorContext = {},
  ) {
    super("PEER_CERTIFICATE_REJECTED", `peer certificate rejected: ${reason}`, context);
  }
}

/** Nothing at all was received from the peer for the heartbeat timeout. */
export class HeartbeatTimeoutError extends PaynetError {
  constructor(timeoutMs: number, context: ErrorContext = {}) {
    super("HEARTBEAT_TIMEOUT", `nothing received for ${timeoutMs} ms`, context);
  }
}

/** No complete inbound frame within the read timeout (server side). */
export class ReadTimeoutError extends PaynetError {
  constructor(timeoutMs: number, context: ErrorContext = {}) {
    super("READ_TIMEOUT", `no frame received within ${timeoutMs} ms`, context);
  }
}

/** The TCP connect + TLS handshake did not finish within the connect timeout. */
export class ConnectTimeoutError extends PaynetError {
  constructor(timeoutMs: number, context: ErrorContext = {}) {
    super("CONNECT_TIMEOUT", `connect not completed within ${timeoutMs} ms`, context);
  }
}

/** The connection closed; `reason` says why. */
export class ConnectionClosedError extends PaynetError {
  constructor(
    readonly reason: string,
    context: ErrorContext = {},
  ) {
    super("CONNECTION_CLOSED", `connection closed: ${reason}`, context);
  }
}

/** The server is at `maxConnections`; the new connection was refused. */
export class MaxConnectionsError extends PaynetError {
  constructor(limit: number, context: ErrorContext = {}) {
    super("MAX_CONNECTIONS", `connection limit ${limit} reached`, context);
  }
}
