/** `PaynetServer.stats()`: one snapshot of every counter the server's parts keep. */
import type { PaynetErrorCode } from "../errors.js";
import type { Registry } from "../registry.js";
import type { HandlerStats, TrafficStats } from "../stats.js";
import type { ServerTlsContext } from "../tls/server-context.js";
import type { Admission, AdmissionCounters } from "./admission.js";
import type { LoginAuthority } from "./authorize.js";
import type { DeliveryEngine } from "./cluster.js";
import type { PeerGuard } from "./guard.js";
import type { ServerSession } from "./session.js";
import type { ServerContext, ServerStats } from "./types.js";

/** The server's connection counters: admission's, and the sessions closed for a full queue. */
export interface ServerCounters extends AdmissionCounters {
  queueFull: number;
}

/** Where the numbers of a {@link ServerStats} come from. */
export interface StatsSources {
  readonly registry: Registry<ServerContext>;
  /** Outbound Type → message name, for the Types no registration names. */
  readonly sentNames: ReadonlyMap<number, string>;
  readonly traffic: TrafficStats;
  readonly handlerStats: HandlerStats;
  readonly sessions: ReadonlySet<ServerSession>;
  readonly counters: ServerCounters;
  readonly admission: Admission;
  readonly deliveries: DeliveryEngine;
  /** Closed sessions by the code of their offline reason. */
  readonly disconnects: ReadonlyMap<PaynetErrorCode, number>;
  readonly draining: boolean;
  readonly guard: PeerGuard;
  readonly authority: LoginAuthority;
  readonly tls: ServerTlsContext;
}

export function serverStats(sources: StatsSources): ServerStats {
  const nameOf = (type: number) => sources.registry.get(type)?.def.name ?? sources.sentNames.get(type);
  const traffic = sources.traffic.snapshot(nameOf);
  let frames = 0;
  let bytes = 0;
  let online = 0;
  for (const session of sources.sessions) {
    frames += session.queuedFrames;
    bytes += session.queuedBytes;
    if (session.online) online++;
  }
  const c = sources.counters;
  return {
    connections: {
      current: sources.sessions.size,
      online,
      handshaking: sources.admission.handshaking,
      total: c.total,
      rejected: c.rejected,
    },
    handshakes: { full: c.handshakesFull, resumed: c.handshakesResumed, failed: c.handshakesFailed },
    framesIn: traffic.framesIn,
    framesOut: traffic.framesOut,
    handlers: sources.handlerStats.snapshot(nameOf),
    outboundQueue: { frames, bytes, fullErrors: c.queueFull },
    delivery: sources.deliveries.stats(),
    disconnects: Object.fromEntries(sources.disconnects),
    draining: sources.draining,
    ...sources.guard.stats(),
    loginRefusals: sources.authority.stats(),
    tls: sources.tls.stats(),
  };
}
