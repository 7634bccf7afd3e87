/**
 * {@link PaynetServer}: accepts device connections over TLS 1.3 (optionally mutual), turns each into
 * a {@link Session}, dispatches inbound frames to the registry's handlers and offers cloud → device
 * requests, including at-least-once deliveries that survive reconnects. The parts it is made of are
 * wired in `parts.ts`; this module keeps the lifecycle (start, stop, drain) and the public API.
 */
import { EventEmitter } from "node:events";
import { createServer, type Server as TlsServer } from "node:tls";
import type { DeliveryOptions, MessageDef, RequestOptions, RequestSpec } from "../codec.js";
import { failedIterable } from "../delivery/reply-queue.js";
import {
  AbortedError,
  InvalidOptionsError,
  type PaynetError,
  type PaynetErrorCode,
  type QueueFullError,
  ServerStoppedError,
} from "../errors.js";
import { emitSafely, type LogFields, logSafely } from "../logger.js";
import { nonNegativeInteger } from "../option-checks.js";
import { type DrainOptions, type DrainReport, resolveDrainOptions, runDrain } from "./drain.js";
import { type ResolvedServerOptions, resolveServerOptions } from "./options.js";
import { buildServerParts, type ServerParts } from "./parts.js";
import { DevicePushes } from "./push.js";
import { serverStats } from "./server-stats.js";
import type { ServerSession } from "./session.js";
import { closeDistrustedSessions } from "./trust-recheck.js";
import type {
  ServerApi,
  ServerEvents,
  ServerOptions,
  ServerStats,
  ServerTlsOptions,
  Session,
} from "./types.js";

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
  readonly #parts: ServerParts;
  readonly #pushes: DevicePushes;
  /** Closed sessions by the code of their offline reason. */
  readonly #disconnects = new Map<PaynetErrorCode, number>();
  /** New connections are admitted (listening, or draining with the listener still open). */
  #accepting = false;
  #server: TlsServer | undefined;
  #state: State = "idle";
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
    this.#parts = buildServerParts(this.#options, options.tls, {
      isStopping: () => this.#state === "stopping" || this.#state === "stopped",
      isAccepting: () => this.#accepting,
      report: (error, session) => this.#report(error, session),
      announce: (event, session) => this.#emit(event, session),
      log: (level, fields, message) => this.#log(level, fields, message),
      closed: (session, reason) => this.#closed(session, reason),
      queueFull: (session, error) => this.#queueFull(session, error),
    });
    this.#pushes = new DevicePushes(this.#parts.directory, this.#parts.cluster);
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
    this.#parts.guard.learnLoginFlow(this.#options.registry, this.#options.logger);
    if (this.#parts.cluster !== undefined) {
      try {
        await this.#parts.cluster.start(this.#parts.clusterHost);
      } catch (error) {
        this.#state = "stopped";
        this.#parts.tls.close();
        this.#detachSignal?.();
        this.#resolveStopped();
        throw error;
      }
    }
    const server = createServer(this.#parts.tls.serverOptions(this.#options.handshakeTimeoutMs));
    server.maxConnections = this.#options.maxConnections;
    this.#server = server;
    this.#parts.admission.attach(server);
    const { host, port } = this.#options;
    this.#listening = new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => {
        this.#state = "stopped";
        this.#detachSignal?.();
        void this.#parts.cluster?.stop().catch(() => {});
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
    this.#parts.tls.warnOwnExpiry();
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
    try {
      nonNegativeInteger("graceMs", graceMs);
    } catch (error) {
      return Promise.reject(error);
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
      this.#parts.tls.close();
      this.#detachSignal?.();
      this.#resolveStopped();
      return;
    }
    this.#state = "stopping";
    const closed = this.#closeListener();
    this.#options.logger.info(
      {
        inFlightHandlers: this.#parts.shutdown.inFlight,
        sessions: this.#parts.sessions.size,
        graceMs,
      },
      "stopping",
    );
    await this.#parts.shutdown.handlersIdle(graceMs);
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
    this.#parts.deliveries.failAll(reason);
    const sessionsClosed = [...this.#parts.sessions].map((session) =>
      this.#parts.shutdown.closeSession(session, reason),
    );
    await Promise.all(sessionsClosed);
    this.#parts.admission.destroySockets();
    await listenerClosed;
    await this.#leaveCluster();
    this.#parts.tls.close();
    this.#state = "stopped";
    this.#detachSignal?.();
    this.#options.logger.info({}, "stopped");
    this.#resolveStopped();
  }

  /** Leaves the cluster once every session is closed (their presence released); failures are logged. */
  async #leaveCluster(): Promise<void> {
    try {
      await this.#parts.cluster?.stop();
    } catch (error) {
      this.#log(
        "warn",
        { error: error instanceof Error ? error.message : String(error) },
        "cluster stop failed",
      );
    }
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
        sessions: this.#parts.sessions,
        closeListener: () => {
          // Node calls back once every accepted socket is gone: awaited at the very end.
          listenerClosed = this.#closeListener();
        },
        evict: (session, reason) => this.#parts.shutdown.evict(session, reason),
        announce: (info) => this.#emit("draining", info),
        handlersIdle: (ms) => this.#parts.shutdown.handlersIdle(ms),
        destroyRemaining: (reason) => this.#parts.shutdown.destroyWaitingEvictions(reason),
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
    const { tls, sessions } = this.#parts;
    if (!tls.reload(this.#server, update)) return;
    closeDistrustedSessions(sessions, {
      tls,
      log: (level, fields, message) => this.#log(level, fields, message),
      report: (error, session) => this.#report(error, session),
    });
  }

  /** The online session of `deviceId`, if any. */
  session(deviceId: string): Session | undefined {
    return this.#parts.directory.lookup(deviceId);
  }

  /** Every connected session of this process (logged in or not). */
  sessions(): IterableIterator<Session> {
    return this.#parts.sessions.values();
  }

  /**
   * Sends one message to an online device (on any node of a cluster). Rejects with
   * `NotConnectedError` / `QueueFullError` (and `ClusterUnavailableError` in a cluster).
   */
  send<T>(deviceId: string, def: MessageDef<T>, message: T): Promise<void> {
    return this.#pushes.send(deviceId, def, message);
  }

  /** Request → first final reply, to an online device. */
  request<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: RequestOptions<Rep>,
  ): Promise<Rep> {
    return this.#pushes.request(deviceId, spec, message, options);
  }

  /** Request → every reply until a final one, to an online device. */
  stream<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: RequestOptions<Rep>,
  ): AsyncIterable<Rep> {
    return this.#pushes.stream(deviceId, spec, message, options);
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
      return failedIterable(new ServerStoppedError({ peer: `device ${deviceId}` }));
    }
    this.#parts.sentNames.set(spec.request.type, spec.request.name);
    return this.#parts.deliveries.deliver(deviceId, spec, message, options);
  }

  /** A snapshot of every counter (connections, handshakes, traffic, handlers, queues, deliveries). */
  stats(): ServerStats {
    return serverStats({
      ...this.#parts,
      registry: this.#options.registry,
      disconnects: this.#disconnects,
      draining: this.#state === "draining",
    });
  }

  // ---- sessions ---------------------------------------------------------------------------

  #closed(session: ServerSession, reason: PaynetError): void {
    if (!session.markClosed(reason)) return;
    // Bookkeeping first: nothing a listener does may leave the session half-removed or stop() waiting.
    this.#parts.sessions.delete(session);
    this.#disconnects.set(reason.code, (this.#disconnects.get(reason.code) ?? 0) + 1);
    this.#parts.guard.closed(session, reason);
    const deviceId = session.deviceId;
    if (deviceId !== undefined) void this.#parts.logins.unbind(deviceId, session);
    this.#parts.shutdown.sessionClosed(session);
    session.log.info({ reason: reason.code }, "offline");
    this.#emit("offline", session, reason);
  }

  #queueFull(session: ServerSession, error: QueueFullError): void {
    this.#parts.counters.queueFull++;
    session.log.warn({}, `${error.message}; closing the session`);
    // A peer that lets the bounded queue fill up does not read: close rather than leave it hanging.
    session.destroyWith(error);
  }

  #report(error: PaynetError, session: ServerSession | undefined): void {
    if (this.listenerCount("error") > 0) this.#emit("error", error, session);
  }

  /** Emits without letting a throwing listener escape; see {@link emitSafely}. */
  #emit<K extends keyof ServerEvents>(event: K, ...args: ServerEvents[K]): void {
    const emit = this.emit as (event: K, ...args: ServerEvents[K]) => boolean;
    emitSafely(() => emit.call(this, event, ...args), this.#options.logger, event, "server");
  }

  #log(level: "warn" | "error", fields: LogFields, message: string): void {
    logSafely(this.#options.logger, level, fields, message);
  }
}
