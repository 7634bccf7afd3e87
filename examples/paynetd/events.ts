/**
 * What paynetd logs about its connections: one line per event with a stable `event` name
 * (`connection`, `online`, `offline` with the reason's code, `tls_refused`, `login_refused`,
 * `disconnecting`) and the device, peer and session as fields, so log pipelines can count and join
 * them.
 */
import {
  LoginNotAuthorizedError,
  type PaynetError,
  type PaynetErrorCode,
  type Session,
} from "@paynet/runtime";
import type { PayboxServer } from "../sdk/index.js";
import type { Log } from "../shared/log.js";

/** Error codes of a TLS connection refused before any session: paynetd prints one line for each. */
const TLS_REFUSALS = new Set<PaynetErrorCode>([
  "HANDSHAKE_FAILED",
  "PEER_CERTIFICATE_REJECTED",
  "HANDSHAKE_TIMEOUT",
]);

/**
 * Runtime lines paynetd prints its own line for: a refused TLS connection and a refused register or
 * login (the `error` handler), and the server certificate's expiry (the certificate watch, which
 * also covers the CA).
 */
export function shownByPaynetd(message: string): boolean {
  return (
    /^(TLS handshake failed|TLS handshake not completed|peer certificate rejected|server certificate expires soon)\b/.test(
      message,
    ) || /^(register|login)( as ".*")? refused: /.test(message)
  );
}

/**
 * Logs the connection events of `server`; `onOnline` runs for every login (after the runtime's
 * post-login redelivery pass). Other errors are logged only with `verbose`.
 */
export function logConnectionEvents(
  server: PayboxServer,
  log: Log,
  options: { readonly verbose: boolean; readonly onOnline: (session: Session) => void },
): void {
  server.on("connection", (session) => {
    const commonName = session.identity?.commonName;
    const cert = session.identity === undefined ? "" : `, device certificate CN=${commonName ?? "?"}`;
    log.info(
      { event: "connection", conn: session.id, peer: session.peer, resumed: session.resumed, commonName },
      `connection from ${session.peer} (${session.resumed ? "resumed TLS session" : "full TLS handshake"}${cert})`,
    );
  });
  // Sessions that logged in: only they go "offline"; the others were never online.
  const wentOnline = new WeakSet<Session>();
  server.on("online", (session) => {
    wentOnline.add(session);
    log.info(
      { event: "online", conn: session.id, deviceId: session.deviceId, peer: session.peer },
      `online ${session.deviceId} (${session.peer})`,
    );
    setImmediate(() => options.onOnline(session));
  });
  server.on("offline", (session, reason) => {
    const fields = { event: "offline", conn: session.id, peer: session.peer, reason: reason.code };
    if (wentOnline.has(session)) {
      log.info(
        { ...fields, deviceId: session.deviceId },
        `offline ${session.deviceId ?? session.peer}: ${describe(reason)}`,
      );
    } else {
      log.info(
        { ...fields, loggedIn: false },
        `disconnected ${session.peer} (never logged in): ${describe(reason)}`,
      );
    }
  });
  server.on("error", (error, session) => {
    if (error.code === "PEER_CERTIFICATE_REJECTED" && session !== undefined) {
      // A connected device whose certificate no longer passes after a reload (revoked, or its CA
      // dropped from ca.crt): the runtime closes its session.
      log.warn(
        {
          event: "disconnecting",
          conn: session.id,
          deviceId: session.deviceId,
          peer: session.peer,
          reason: error.code,
        },
        `disconnecting ${session.deviceId ?? session.peer}: ${describeRefusal(error)}`,
      );
    } else if (error instanceof LoginNotAuthorizedError) {
      // The one line about a refused register/login: peer, claim and certificate (CN, fingerprint).
      log.warn(
        {
          event: "login_refused",
          conn: session?.id,
          peer: knownPeer(error.peer),
          step: error.step,
          claimed: error.claimed,
          certificate: error.certificate,
        },
        error.message,
      );
    } else if (TLS_REFUSALS.has(error.code)) {
      // The one line about a refused TLS connection (the runtime's own warning is not printed).
      const peer = knownPeer(error.peer);
      log.warn(
        { event: "tls_refused", peer, reason: error.code },
        `TLS refused ${peer ?? "(peer address unknown)"}: ${describeRefusal(error)}`,
      );
    } else if (options.verbose) {
      log.error(
        { event: "error", peer: session?.peer, reason: error.code },
        `${session?.peer ?? "server"}: ${describe(error)}`,
      );
    }
  });
}

/** `code reason`: the TLS library's reason without the message's repeated context. */
function describeRefusal(error: PaynetError): string {
  const reason = "reason" in error && typeof error.reason === "string" ? error.reason : error.message;
  return `${error.code} ${reason}`;
}

/** The peer address, unless the runtime could not tell it (`?:?` for a socket reset early). */
function knownPeer(peer: string | undefined): string | undefined {
  return peer === undefined || peer.startsWith("?") ? undefined : peer;
}

/** `CODE message` of a runtime error. */
export function describe(error: PaynetError): string {
  return `${error.code} ${error.message}`;
}
