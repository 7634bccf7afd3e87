/**
 * {@link PaynetServer}: accepts device connections over TLS 1.3 (optionally mutual), turns each into
 * a {@link Session}, dispatches inbound frames to the registry's handlers and offers cloud → device
 * requests, including at-least-once deliveries that survive reconnects.
 */
import { EventEmitter } from "node:events";
import { createServer, type Server as TlsServer } from "node:tls";
import type { DeliveryOptions, MessageDef, RequestOptions, RequestSpec } from "../codec.js";
import { DeliveryManager } from "../delivery/pending.js";
import {
  AbortedError,
  InvalidOptionsError,
  NotConnectedError,
  type PaynetError,
  type PaynetErrorCode,
  PeerCertificateRejectedError,
  type QueueFullError,
  type ServerDrainingError,
  ServerStoppedError,
} from "../errors.js";
import type { LogFields } from "../logger.js";
import { HandlerStats, TrafficStats } from "../stats.js";
import { ServerTlsContext } from "../tls/server-context.js";
import { Admission, certificateFields } from "./admission.js";
import { LoginAuthority, MemoryRegisteredDevices } from "./authorize.js";
import type { ClusterHost, DeliveryEngine, ServerCluster } from "./cluster.js";
import { MemorySessionDirectory, type SessionDirectory } from "./directory.js";
import { Dispatcher } from "./dispatch.js";
import { type DrainOptions, type DrainReport, resolveDrainOptions, runDrain } from "./drain.js";
import { PeerGuard, sendErrorMessage } from "./guard.js";
import { Logins } from "./login.js";
import { type ResolvedServerOptions, resolveServerOptions } from "./options.js";
import { ServerSession, type SessionHost } from "./session.js";
import type {
  ServerApi,
  ServerEvents,
  ServerOptions,
  ServerStats,
  ServerTlsOptions,
  Session,
} from "./types.js";

export { DEFAULT_TICKET_LIFETIME_SEC } from "../tls/server-context.js";
export {
  DEFAULT_EVICT_PER_SECOND,
  type DrainOptions,
  type DrainPhase,
  type DrainReport,
} from "./drain.js";
export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_READ_TIMEOUT_MS,
  DEFAULT_STOP_GRACE_MS,
} from "./options.js";

/** How long `stop()` lets sessions flush their last frames before destroying them. */
const STOP_FLUSH_MS = 1_000;

/** `draining`: lame duck (see `drain()`); handlers run as usual, sessions are being closed. */
type State = "idle" | "starting" | "listening" | "draining" | "stopping" | "stopped";

/**
 * The paynet server. Construct with {@link ServerOptions} (validated at once), `start()`, and use
 * the events, `session(deviceId)`, `send`/`request`/`stream`/`deliver` and `stats()`.
 *
 * `error` events are emitted only while someone listens (they are always logged), so an unlistened
 * connection problem never crashes the process.
 */
export class PaynetServer extends EventEmitter<ServerEvents> implements ServerApi {
  readonly #options: ResolvedServerOptions;
  readonly #tls: ServerTlsContext;
  readonly #directory: SessionDirectory;
  readonly #deliveries: DeliveryEngine;
  readonly #cluster: ServerCluster | undefined;
  readonly #dispatcher: Dispatcher;
  readonly #admission: Admission;
  readonly #logins: Logins;
  readonly #guard: PeerGuard;
  readonly #traffic = new TrafficStats();
  readonly #handlerStats = new HandlerStats();
  readonly #sessions = new Set<ServerSession>();
  /** Outbound Type → message name, learnt from what was sent, for stats keys. */
  readonly #sentNames = new Map<number, string>();
  /** Sessions being closed by stop() or drain(), and what to call once each has. */
  readonly #whenSessionClosed = new Map<ServerSession, () => void>();
  /** Sessions a drain closes once their handlers are idle, not closing yet. */
  readonly #evictionsWaiting = new Set<ServerSession>();
  /** Closed sessions by the code of their offline reason. */
  readonly #disconnects = new Map<PaynetErrorCode, number>();
  /** New connections are admitted (listening, or draining with the listener still open). */
  #accepting = false;
  readonly #counters = {
    total: 0,
    rejected: 0,
    handshakesFull: 0,
    handshakesResumed: 0,
    handshakesFailed: 0,
    queueFull: 0,
  };
  #server: TlsServer | undefined;
  #state: State = "idle";
  #inFlight = 0;
  #onHandlersIdle: (() => void) | undefined;
  #stopPromise: Promise<void> | undefined;
  /** Settles when `listen()` has (or failed); `stop()` during `start()` waits for it. */
  #listening: Promise<void> | undefined;
  #detachSignal: (() => void) | undefined;
  readonly #stopped: Promise<void>;
  #resolveStopped!: () => void;

  /** Validates `options`; throws `InvalidOptionsError` naming the first bad option. */
  constructor(options: ServerOptions) {
    super();
    this.#options = resolveServerOptions(options);
    const logger = this.#options.logger;
    this.#tls = new ServerTlsContext(options.tls, logger);
    this.#cluster = this.#options.cluster;
    this.#directory = this.#cluster?.directory ?? this.#options.directory ?? new MemorySessionDirectory();
    const deliveryOptions = {
      transport: {
        sendFrame: (deviceId: string, type: number, payload: Uint8Array) =>
          this.#sendToDevice(deviceId, type, payload),
      },
      maxPending: this.#options.maxPendingDeliveries,
      specs: this.#options.deliverySpecs ?? [],
      logger,
      onError: (error: PaynetError, deviceId: string) => {
        const session = this.#directory.lookup(deviceId);
        this.#report(error, session instanceof ServerSession ? session : undefined);
      },
    };
    this.#deliveries =
      this.#cluster?.deliveries ??
      new DeliveryManager(
        this.#options.deliveryStore === undefined
          ? deliveryOptions
          : { ...deliveryOptions, store: this.#options.deliveryStore },
      );
    const server = this;
    const tell = (session: ServerSession, error: PaynetError) =>
      sendErrorMessage(this.#options.errorMessage, session, error, logger);
    this.#guard = new PeerGuard({
      options: this.#options,
      report: (error, session) => this.#report(error, session),
    });
    const authority = new LoginAuthority({
      registry: this.#options.registry,
      authorizeLogin: this.#options.authorizeLogin,
      devices: this.#options.registeredDevices ?? new MemoryRegisteredDevices(),
      report: (error, session) => this.#report(error, session),
      tellPeer: tell,
    });
    this.#dispatcher = new Dispatcher({
      registry: this.#options.registry,
      deliveries: this.#deliveries,
      uplink: this.#cluster?.uplink,
      handlerStats: this.#handlerStats,
      logger,
      errorMessage: this.#options.errorMessage,
      onUnknownType: this.#options.onUnknownType,
      reportHandlerErrors: this.#options.reportHandlerErrors,
      logins: authority,
      guard: this.#guard,
      get stopping() {
        return server.#state === "stopping" || server.#state === "stopped";
      },
      report: (error, session) => this.#report(error, session),
      handlerStarted: () => this.#inFlight++,
      handlerFinished: () => {
        this.#inFlight--;
        if (this.#inFlight === 0) this.#onHandlersIdle?.();
      },
    });
    this.#logins = new Logins({
      directory: this.#directory,
      clustered: this.#cluster !== undefined,
      deliveries: this.#deliveries,
      logger,
      announce: (session) => this.#emit("online", session),
      tellPeer: tell,
    });
    const sessionHost: SessionHost = {
      logger,
      authorizeLogin: (session, deviceId) => authority.login(session, deviceId),
      login: (session, deviceId, previousId) => {
        this.#guard.loggedIn(session);
        this.#logins.login(session, deviceId, previousId);
      },
      loggedOut: (session) => this.#guard.loggedOut(session),
      queueFull: (session, error) => this.#queueFull(session, error),
      sent: (def) => this.#sentNames.set(def.type, def.name),
      frame: (session, type, buffer, start, end) => this.#dispatcher.frame(session, type, buffer, start, end),
      closed: (session, reason) => this.#closed(session, reason),
    };
    this.#admission = new Admission({
      options: this.#options,
      tls: this.#tls,
      counters: this.#counters,
      traffic: this.#traffic,
      sessionHost,
      guard: this.#guard,
      sessions: this.#sessions,
      get listening() {
        return server.#accepting;
      },
      announce: (session) => this.#emit("connection", session),
      report: (error, session) => this.#report(error, session),
      log: (level, fields, message) => this.#log(level, fields, message),
    });
    this.#stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve;
    });
    const signal = this.#options.signal;
    if (signal !== undefined) {
      const onAbort = () => void this.stop();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#detachSignal = () => signal.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Starts listening; resolves with the bound address (the real port when `port` was 0). Logs a
   * warning when the server certificate expires within 30 days.
   */
  async start(): Promise<{ host: string; port: number }> {
    if (this.#state !== "idle") throw new InvalidOptionsError("start", `server already ${this.#state}`);
    if (this.#options.signal?.aborted) throw new AbortedError();
    this.#state = "starting";
    this.#guard.learnLoginFlow(this.#options.registry, this.#options.logger);
    if (this.#cluster !== undefined) {
      try {
        await this.#cluster.start(this.#clusterHost());
      } catch (error) {
        this.#state = "stopped";
        this.#tls.close();
        this.#detachSignal?.();
        this.#resolveStopped();
        throw error;
      }
    }
    const server = createServer(this.#tls.serverOptions(this.#options.handshakeTimeoutMs));
    server.maxConnections = this.#options.maxConnections;
    this.#server = server;
    this.#admission.attach(server);
    const { host, port } = this.#options;
    this.#listening = new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => {
        this.#state = "stopped";
        this.#detachSignal?.();
        void this.#cluster?.stop().catch(() => {});
        this.#resolveStopped();
        reject(error);
      };
      server.once("error", onError);
      server.listen({ port, host, backlog: this.#options.backlog }, () => {
        server.off("error", onError);
        resolve();
      });
    });
    await this.#listening;
    server.on("error", (error) =>
      this.#options.logger.error({ error: error.message }, "server socket error"),
    );
    // stop() was called while listen() ran: it closes the server once listening, so say so.
    if (this.#stopPromise !== undefined) throw new ServerStoppedError();
    this.#state = "listening";
    this.#accepting = true;
    const address = server.address();
    const bound = { host, port: typeof address === "object" && address !== null ? address.port : port };
    this.#options.logger.info(bound, "listening");
    this.#tls.warnOwnExpiry();
    this.#emit("listening", bound);
    return bound;
  }

  /**
   * Graceful stop: stops accepting, lets in-flight handlers finish for up to `graceMs` (default
   * `stopGraceMs`), then closes every session (offline reason `ServerStoppedError`) and fails
   * pending deliveries with it. Safe to call more than once.
   */
  stop(options: { graceMs?: number } = {}): Promise<void> {
    const graceMs = options.graceMs ?? this.#options.stopGraceMs;
    if (!Number.isInteger(graceMs) || graceMs < 0) {
      return Promise.reject(
        new InvalidOptionsError("graceMs", `expected a non-negative integer, got ${graceMs}`),
      );
    }
    this.#stopPromise ??= this.#stop(graceMs);
    return this.#stopPromise;
  }

  async #stop(graceMs: number): Promise<void> {
    if (this.#state === "starting") await this.#listening?.catch(() => {});
    // A drain in progress ends the server itself; stop() waits for it.
    if (this.#state === "draining") return this.#stopped;
    if (this.#state === "idle" || this.#state === "stopped") {
      this.#state = "stopped";
      this.#tls.close();
      this.#detachSignal?.();
      this.#resolveStopped();
      return;
    }
    this.#state = "stopping";
    const closed = this.#closeListener();
    this.#options.logger.info(
      {
        inFlightHandlers: this.#inFlight,
        sessions: this.#sessions.size,
        graceMs,
      },
      "stopping",
    );
    await this.#handlersIdle(graceMs);
    await this.#finishStop(closed);
  }

  /** Stops accepting at once; resolves once the listening socket and every connection are closed. */
  #closeListener(): Promise<void> {
    this.#accepting = false;
    const server = this.#server;
    return new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  }

  /**
   * The common end of stop() and drain(): sessions closed, local delivery waiters failed (their
   * records stay in the store), server stopped.
   */
  async #finishStop(listenerClosed: Promise<void>): Promise<void> {
    this.#state = "stopping";
    const reason = new ServerStoppedError();
    // Local waiters end; the records stay in their store (another node, or the next run, delivers them).
    this.#deliveries.failAll(reason);
    const sessionsClosed = [...this.#sessions].map((session) => this.#closeForStop(session, reason));
    await Promise.all(sessionsClosed);
    this.#admission.destroySockets();
    await listenerClosed;
    await this.#leaveCluster();
    this.#tls.close();
    this.#state = "stopped";
    this.#detachSignal?.();
    this.#options.logger.info({}, "stopped");
    this.#resolveStopped();
  }

  /** Leaves the cluster once every session is closed (their presence released); failures are logged. */
  async #leaveCluster(): Promise<void> {
    try {
      await this.#cluster?.stop();
    } catch (error) {
      this.#log(
        "warn",
        { error: error instanceof Error ? error.message : String(error) },
        "cluster stop failed",
      );
    }
  }

  /** What the cluster plug-in may do with this server. */
  #clusterHost(): ClusterHost {
    return {
      logger: this.#options.logger,
      localSession: (deviceId) => this.#online(deviceId),
      sendFrame: (session, type, payload) => {
        if (!(session instanceof ServerSession))
          throw new InvalidOptionsError("session", "not a session of this server");
        session.sendFrame(type, payload);
      },
      closeSession: (session, reason) => {
        if (session instanceof ServerSession) session.closeWith(reason);
      },
      report: (error, session) => this.#report(error, session instanceof ServerSession ? session : undefined),
    };
  }

  /** Resolves when no handler runs any more, or after `graceMs`, with the number still running. */
  #handlersIdle(graceMs: number): Promise<number> {
    if (this.#inFlight === 0) return Promise.resolve(0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#options.logger.warn(
          {
            inFlight: this.#inFlight,
          },
          "stop grace period over; handlers still running",
        );
        done();
      }, graceMs);
      const done = () => {
        clearTimeout(timer);
        this.#onHandlersIdle = undefined;
        resolve(this.#inFlight);
      };
      this.#onHandlersIdle = done;
    });
  }

  /** Closes one session gracefully; destroys it if its frames are not flushed in time. */
  #closeForStop(session: ServerSession, reason: PaynetError): Promise<void> {
    if (session.closedReason !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => session.destroyWith(reason), STOP_FLUSH_MS);
      this.#whenSessionClosed.set(session, () => {
        clearTimeout(timer);
        resolve();
      });
      session.closeWith(reason);
    });
  }

  /**
   * Lame-duck stop: `/readyz`-style readiness should fail from now on (`draining` is true). The
   * listener stays open for `graceMs`, then closes; the sessions are closed at most
   * `evictPerSecond` per second, each first sent the protocol's error message built from a
   * `ServerDrainingError` (generated device clients report it as offline reason
   * `SERVER_DRAINING` and reconnect, to another node behind a load balancer), and only once its
   * running handlers are done. Session tickets stay valid (the ticket keys are not touched), so
   * devices resume on nodes sharing the keys. Handlers still running then get `handlerGraceMs`.
   * Pending deliveries stay in their store for the node the device reconnects to; their waiters
   * here end with `ServerStoppedError`. Resolves with the drain's figures once stopped.
   * @throws InvalidOptionsError for bad options; rejects when the server is not listening.
   */
  async drain(options: DrainOptions = {}): Promise<DrainReport> {
    const resolved = resolveDrainOptions(options, this.#options.stopGraceMs);
    if (this.#state !== "listening") {
      throw new InvalidOptionsError("drain", `server is ${this.#state}, not listening`);
    }
    this.#state = "draining";
    let listenerClosed: Promise<void> = Promise.resolve();
    const report = await runDrain(
      {
        logger: this.#options.logger,
        sessions: this.#sessions,
        closeListener: () => {
          // Node calls back once every accepted socket is gone: awaited at the very end.
          listenerClosed = this.#closeListener();
        },
        evict: (session, reason) => this.#evict(session, reason),
        announce: (info) => this.#emit("draining", info),
        handlersIdle: (ms) => this.#handlersIdle(ms),
        destroyRemaining: (reason) => {
          for (const session of this.#evictionsWaiting) session.destroyWith(reason);
          this.#evictionsWaiting.clear();
        },
      },
      resolved,
    );
    await this.#finishStop(listenerClosed);
    return report;
  }

  /** Whether a drain is under way (readiness checks should fail). */
  get draining(): boolean {
    return this.#state === "draining";
  }

  /** Tells one session the server drains, then closes it gracefully once its handlers are idle. */
  #evict(session: ServerSession, reason: ServerDrainingError): Promise<void> {
    this.#evictionsWaiting.add(session);
    return new Promise((resolve) => {
      session.whenIdle(() => {
        if (!this.#evictionsWaiting.delete(session)) return;
        this.#sendNotice(session, reason);
        this.#closeForStop(session, reason).then(resolve);
      });
      this.#whenSessionClosed.set(session, resolve);
    });
  }

  /** Sends the protocol's error message built from `reason` (a close notice), if there is one. */
  #sendNotice(session: ServerSession, reason: PaynetError): void {
    const spec = this.#options.errorMessage;
    if (spec === undefined || session.closedReason !== undefined) return;
    try {
      session.sendFrame(spec.def.type, spec.def.codec.encode(spec.build(reason)));
    } catch (error) {
      session.log.debug(
        { error: error instanceof Error ? error.message : String(error) },
        "close notice not sent",
      );
    }
  }

  /** Resolves once the server has stopped (by `stop()`, the abort signal or a failed start). */
  wait(): Promise<void> {
    return this.#stopped;
  }

  /** `await using server = new PaynetServer(...)` stops it at scope exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /**
   * Replaces certificate, key, CA and/or CRL without restart. Validated first (on error the old
   * material stays and `InvalidOptionsError` is thrown); session tickets stay valid. From the next
   * handshake on, resumed ones included, peers are checked against the new trust; when `ca` or
   * `crl` changed, connected sessions whose chain no longer verifies or is now revoked are closed.
   */
  reloadTls(update: Partial<Pick<ServerTlsOptions, "cert" | "key" | "ca" | "crl">>): void {
    if (this.#tls.reload(this.#server, update)) this.#closeDistrustedSessions();
  }

  /**
   * After a CA or CRL reload: sessions admitted under trust that is gone (their CA dropped, their
   * certificate or a CA of its chain revoked) are closed at once, with `PeerCertificateRejectedError`
   * as offline reason, an `error` event and a log line naming peer and certificate.
   */
  #closeDistrustedSessions(): void {
    const now = Date.now();
    for (const session of [...this.#sessions]) {
      const certificate = session.certificate;
      if (certificate === undefined || session.closedReason !== undefined) continue;
      let refusal: ReturnType<ServerTlsContext["recheck"]>;
      try {
        refusal = this.#tls.recheck(certificate, now);
      } catch (error) {
        this.#log(
          "warn",
          { peer: session.peer, error: error instanceof Error ? error.message : String(error) },
          "certificate check of a connected session failed",
        );
        continue;
      }
      if (refusal === undefined) continue;
      const error = new PeerCertificateRejectedError(refusal.rejection, refusal.reason, {
        peer: session.peer,
      });
      this.#log(
        "warn",
        {
          conn: session.id,
          peer: session.peer,
          ...certificateFields(session.identity),
          rejection: refusal.rejection,
        },
        `${error.message}; closing the session`,
      );
      this.#report(error, session);
      session.destroyWith(error);
    }
  }

  /** The online session of `deviceId`, if any. */
  session(deviceId: string): Session | undefined {
    return this.#directory.lookup(deviceId);
  }

  /** Every connected session of this process (logged in or not). */
  sessions(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  /**
   * Sends one message to an online device (on any node of a cluster). Rejects with
   * `NotConnectedError` / `QueueFullError` (and `ClusterUnavailableError` in a cluster).
   */
  send<T>(deviceId: string, def: MessageDef<T>, message: T): Promise<void> {
    const session = this.#online(deviceId);
    if (session !== undefined) return session.send(def, message);
    if (this.#cluster !== undefined) return this.#cluster.send(deviceId, def, message);
    return Promise.reject(this.#notOnline(deviceId));
  }

  /** Request → first final reply, to an online device. */
  request<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: RequestOptions<Rep>,
  ): Promise<Rep> {
    const session = this.#online(deviceId);
    if (session !== undefined) return session.request(spec, message, options);
    if (this.#cluster !== undefined) return this.#cluster.request(deviceId, spec, message, options);
    return Promise.reject(this.#notOnline(deviceId));
  }

  /** Request → every reply until a final one, to an online device. */
  stream<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: RequestOptions<Rep>,
  ): AsyncIterable<Rep> {
    const session = this.#online(deviceId);
    if (session !== undefined) return session.stream(spec, message, options);
    if (this.#cluster !== undefined) return this.#cluster.stream(deviceId, spec, message, options);
    const error = this.#notOnline(deviceId);
    return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }) };
  }

  /**
   * At-least-once delivery: sent now if the device is online, else at its next login; re-sent
   * (same payload and key) after every re-login until a final reply, the deadline
   * (`RequestTimeoutError`), an abort (`AbortedError`) or the server stopping. Yields every reply.
   * Throws `InvalidOptionsError` when `spec` lacks `requestKey`/`replyKey`; a full pending set ends
   * the iterable with `PendingLimitError`.
   */
  deliver<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: DeliveryOptions<Rep>,
  ): AsyncIterable<Rep> {
    if (this.#state === "stopping" || this.#state === "stopped") {
      const error = new ServerStoppedError({ peer: `device ${deviceId}` });
      return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }) };
    }
    this.#sentNames.set(spec.request.type, spec.request.name);
    return this.#deliveries.deliver(deviceId, spec, message, options);
  }

  /** A snapshot of every counter (connections, handshakes, traffic, handlers, queues, deliveries). */
  stats(): ServerStats {
    const nameOf = (type: number) => this.#options.registry.get(type)?.def.name ?? this.#sentNames.get(type);
    const traffic = this.#traffic.snapshot(nameOf);
    let frames = 0;
    let bytes = 0;
    let online = 0;
    for (const session of this.#sessions) {
      frames += session.queuedFrames;
      bytes += session.queuedBytes;
      if (session.online) online++;
    }
    const c = this.#counters;
    return {
      connections: {
        current: this.#sessions.size,
        online,
        handshaking: this.#admission.handshaking,
        total: c.total,
        rejected: c.rejected,
      },
      handshakes: { full: c.handshakesFull, resumed: c.handshakesResumed, failed: c.handshakesFailed },
      framesIn: traffic.framesIn,
      framesOut: traffic.framesOut,
      handlers: this.#handlerStats.snapshot(nameOf),
      outboundQueue: { frames, bytes, fullErrors: c.queueFull },
      delivery: this.#deliveries.stats(),
      disconnects: Object.fromEntries(this.#disconnects),
      draining: this.#state === "draining",
      ...this.#guard.stats(),
      tls: this.#tls.stats(),
    };
  }

  // ---- sessions ---------------------------------------------------------------------------

  #closed(session: ServerSession, reason: PaynetError): void {
    if (!session.markClosed(reason)) return;
    // Bookkeeping first: nothing a listener does may leave the session half-removed or stop() waiting.
    this.#sessions.delete(session);
    this.#evictionsWaiting.delete(session);
    this.#disconnects.set(reason.code, (this.#disconnects.get(reason.code) ?? 0) + 1);
    this.#guard.closed(session, reason);
    const deviceId = session.deviceId;
    if (deviceId !== undefined) void this.#logins.unbind(deviceId, session);
    const resolve = this.#whenSessionClosed.get(session);
    this.#whenSessionClosed.delete(session);
    resolve?.();
    session.log.info({ reason: reason.code }, "offline");
    this.#emit("offline", session, reason);
  }

  #queueFull(session: ServerSession, error: QueueFullError): void {
    this.#counters.queueFull++;
    session.log.warn({}, `${error.message}; closing the session`);
    // A peer that lets the bounded queue fill up does not read: close rather than leave it hanging.
    session.destroyWith(error);
  }

  #online(deviceId: string): ServerSession | undefined {
    const session = this.#directory.lookup(deviceId);
    return session instanceof ServerSession && session.online ? session : undefined;
  }

  #notOnline(deviceId: string): NotConnectedError {
    return new NotConnectedError(`device ${deviceId} is not online`, { peer: `device ${deviceId}` });
  }

  #sendToDevice(deviceId: string, type: number, payload: Uint8Array): boolean {
    const session = this.#online(deviceId);
    if (session === undefined) return false;
    session.sendFrame(type, payload);
    return true;
  }

  #report(error: PaynetError, session: ServerSession | undefined): void {
    if (this.listenerCount("error") > 0) this.#emit("error", error, session);
  }

  /**
   * Emits without letting a throwing listener escape into a socket event, a timer or the stop
   * sequence: the throw is logged and the server carries on.
   */
  #emit<K extends keyof ServerEvents>(event: K, ...args: ServerEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: ServerEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.#log(
        "error",
        {
          event,
          error: error instanceof Error ? error.message : String(error),
          stack: error instanceof Error ? error.stack : undefined,
        },
        "server event listener threw",
      );
    }
  }

  /** Logs without letting a throwing user logger break the caller. */
  #log(level: "warn" | "error", fields: LogFields, message: string): void {
    try {
      this.#options.logger[level](fields, message);
    } catch {
      // Nothing sensible is left to do with a logger that throws.
    }
  }
}
