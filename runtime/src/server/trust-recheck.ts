/**
 * After a CA or CRL reload: sessions admitted under trust that is gone (their CA dropped, their
 * certificate or a CA of its chain revoked) are closed at once, with `PeerCertificateRejectedError`
 * as offline reason, an `error` event and a log line naming peer and certificate.
 */
import { type PaynetError, PeerCertificateRejectedError } from "../errors.js";
import type { LogFields } from "../logger.js";
import type { ServerTlsContext } from "../tls/server-context.js";
import { certificateFields } from "./admission.js";
import type { ServerSession } from "./session.js";

export interface RecheckHost {
  readonly tls: ServerTlsContext;
  log(level: "warn", fields: LogFields, message: string): void;
  report(error: PaynetError, session: ServerSession): void;
}

export function closeDistrustedSessions(sessions: Iterable<ServerSession>, host: RecheckHost): void {
  const now = Date.now();
  for (const session of [...sessions]) {
    const certificate = session.certificate;
    if (certificate === undefined || session.closedReason !== undefined) continue;
    let refusal: ReturnType<ServerTlsContext["recheck"]>;
    try {
      refusal = host.tls.recheck(certificate, now);
    } catch (error) {
      host.log(
        "warn",
        { peer: session.peer, error: error instanceof Error ? error.message : String(error) },
        "certificate check of a connected session failed",
      );
      continue;
    }
    if (refusal === undefined) continue;
    const error = new PeerCertificateRejectedError(refusal.rejection, refusal.reason, { peer: session.peer });
    host.log(
      "warn",
      {
        conn: session.id,
        peer: session.peer,
        ...certificateFields(session.identity),
        rejection: refusal.rejection,
      },
      `${error.message}; closing the session`,
    );
    host.report(error, session);
    session.destroyWith(error);
  }
}
