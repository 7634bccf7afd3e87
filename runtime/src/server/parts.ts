/**
 * The parts a {@link PaynetServer} is made of, wired together: TLS context, session directory,
 * delivery engine (the cluster's when there is one), pre-login guard, login authority and
 * bookkeeping, frame dispatcher, connection admission, shutdown, and the counters they share. The
 * server itself keeps only its lifecycle and public API; what the parts need of it is a
 * {@link PartsHost}.
 */
import { DeliveryManager } from "../delivery/pending.js";
import { InvalidOptionsError, type PaynetError, type QueueFullError } from "../errors.js";
import type { LogFields } from "../logger.js";
import { HandlerStats, TrafficStats } from "../stats.js";
import { ServerTlsContext } from "../tls/server-context.js";
import { Admission } from "./admission.js";
import { LoginAuthority, MemoryRegisteredDevices } from "./authorize.js";
import type { ClusterHost, DeliveryEngine, ServerCluster } from "./cluster.js";
import { MemorySessionDirectory, type SessionDirectory } from "./directory.js";
import { Dispatcher } from "./dispatch.js";
import { PeerGuard, sendErrorMessage } from "./guard.js";
import { Logins } from "./login.js";
import type { ResolvedServerOptions } from "./options.js";
import type { ServerCounters } from "./server-stats.js";
import { ServerSession } from "./session.js";
import type { SessionHost } from "./session-host.js";
import { Shutdown } from "./shutdown.js";
import type { ServerTlsOptions } from "./types.js";

/** What the parts need of their server. */
export interface PartsHost {
  // Methods, not getters: V8 keeps an object literal with an accessor in dictionary mode, so every
  // property read of it (the dispatcher reads its host per frame) would be a generic lookup.
  /** The server is stopping or stopped (handlers of late frames are not run). */
  isStopping(): boolean;
  /** New connections are admitted (listening, or draining with the listener still open). */
  isAccepting(): boolean;
  /** An `error` event (when listened to). */
  report(error: PaynetError, session: ServerSession | undefined): void;
  /** An `online` or `connection` event. */
  announce(event: "online" | "connection", session: ServerSession): void;
  log(level: "warn" | "error", fields: LogFields, message: string): void;
  /** A session ended, with why. */
  closed(session: ServerSession, reason: PaynetError): void;
  /** A session's outbound queue overflowed: its peer does not read. */
  queueFull(session: ServerSession, error: QueueFullError): void;
}

export interface ServerParts {
  readonly tls: ServerTlsContext;
  readonly cluster: ServerCluster | undefined;
  /** What the cluster plug-in may do with this server. */
  readonly clusterHost: ClusterHost;
  readonly directory: SessionDirectory;
  readonly deliveries: DeliveryEngine;
  readonly guard: PeerGuard;
  /** Decides every register and login step; counts its refusals. */
  readonly authority: LoginAuthority;
  readonly logins: Logins;
  readonly admission: Admission;
  readonly shutdown: Shutdown;
  readonly traffic: TrafficStats;
  readonly handlerStats: HandlerStats;
  /** Every connected session of this process. */
  readonly sessions: Set<ServerSession>;
  /** Outbound Type → message name, learnt from what was sent, for stats keys. */
  readonly sentNames: Map<number, string>;
  readonly counters: ServerCounters;
}

/** The online (logged-in, not closed) session of `deviceId` on this server, if any. */
export function onlineSession(directory: SessionDirectory, deviceId: string): ServerSession | undefined {
  const session = directory.lookup(deviceId);
  return session instanceof ServerSession && session.online ? session : undefined;
}

export function buildServerParts(
  options: ResolvedServerOptions,
  tlsOptions: ServerTlsOptions,
  host: PartsHost,
): ServerParts {
  const logger = options.logger;
  const report = (error: PaynetError, session: ServerSession | undefined) => host.report(error, session);
  const tls = new ServerTlsContext(tlsOptions, logger);
  const cluster = options.cluster;
  const directory = cluster?.directory ?? options.directory ?? new MemorySessionDirectory();
  const deliveries = cluster?.deliveries ?? deliveryManager(options, directory, report);
  const traffic = new TrafficStats();
  const handlerStats = new HandlerStats();
  const sessions = new Set<ServerSession>();
  const sentNames = new Map<number, string>();
  const counters: ServerCounters = {
    total: 0,
    rejected: 0,
    handshakesFull: 0,
    handshakesResumed: 0,
    handshakesFailed: 0,
    queueFull: 0,
  };
  const shutdown = new Shutdown(logger, options.errorMessage);
  const tell = (session: ServerSession, error: PaynetError) =>
    sendErrorMessage(options.errorMessage, session, error, logger);
  const guard = new PeerGuard({ options, report });
  const authority = new LoginAuthority({
    registry: options.registry,
    authorizeLogin: options.authorizeLogin,
    devices: options.registeredDevices ?? new MemoryRegisteredDevices(),
    report,
    tellPeer: tell,
  });
  const dispatcher = new Dispatcher({
    registry: options.registry,
    deliveries,
    uplink: cluster?.uplink,
    handlerStats,
    logger,
    errorMessage: options.errorMessage,
    onUnknownType: options.onUnknownType,
    reportHandlerErrors: options.reportHandlerErrors,
    logins: authority,
    guard,
    isStopping: () => host.isStopping(),
    report,
    inFlight: shutdown,
  });
  const logins = new Logins({
    directory,
    clustered: cluster !== undefined,
    deliveries,
    logger,
    announce: (session) => host.announce("online", session),
    tellPeer: tell,
  });
  const sessionHost: SessionHost = {
    logger,
    authorizeLogin: (session, deviceId) => authority.login(session, deviceId),
    login: (session, deviceId, previousId) => {
      guard.loggedIn(session);
      logins.login(session, deviceId, previousId);
    },
    loggedOut: (session) => guard.loggedOut(session),
    queueFull: (session, error) => host.queueFull(session, error),
    sent: (def) => sentNames.set(def.type, def.name),
    frame: (session, type, buffer, start, end) => dispatcher.frame(session, type, buffer, start, end),
    closed: (session, reason) => host.closed(session, reason),
  };
  const admission = new Admission({
    options,
    tls,
    counters,
    traffic,
    sessionHost,
    guard,
    sessions,
    isListening: () => host.isAccepting(),
    announce: (session) => host.announce("connection", session),
    report,
    log: (level, fields, message) => host.log(level, fields, message),
  });
  const clusterHost: ClusterHost = {
    logger,
    localSession: (deviceId) => onlineSession(directory, deviceId),
    sendFrame: (session, type, payload) => {
      if (!(session instanceof ServerSession))
        throw new InvalidOptionsError("session", "not a session of this server");
      session.sendFrame(type, payload);
    },
    closeSession: (session, reason) => {
      if (!(session instanceof ServerSession) || session.closedReason !== undefined) return;
      // Told first, as for a replacement on this node: the device learns why (SESSION_REPLACED:
      // back off rather than take the session back at once) before its connection closes.
      tell(session, reason);
      session.closeWith(reason);
    },
    report: (error, session) => report(error, session instanceof ServerSession ? session : undefined),
  };
  return {
    tls,
    cluster,
    clusterHost,
    directory,
    deliveries,
    guard,
    authority,
    logins,
    admission,
    shutdown,
    traffic,
    handlerStats,
    sessions,
    sentNames,
    counters,
  };
}

/** The in-process delivery engine, sending through this server's online sessions. */
function deliveryManager(
  options: ResolvedServerOptions,
  directory: SessionDirectory,
  report: (error: PaynetError, session: ServerSession | undefined) => void,
): DeliveryManager {
  return new DeliveryManager({
    transport: {
      sendFrame: (deviceId, type, payload) => {
        const session = onlineSession(directory, deviceId);
        if (session === undefined) return false;
        session.sendFrame(type, payload);
        return true;
      },
    },
    maxPending: options.maxPendingDeliveries,
    specs: options.deliverySpecs ?? [],
    logger: options.logger,
    ...(options.deliveryStore === undefined ? {} : { store: options.deliveryStore }),
    onError: (error, deviceId) => {
      const session = directory.lookup(deviceId);
      report(error, session instanceof ServerSession ? session : undefined);
    },
  });
}
