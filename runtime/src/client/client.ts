/**
 * The device client: one TLS connection to the cloud service, kept up for as long as the client
 * runs. The lifecycle is one loop: connect (with the cached TLS ticket) → login flow → online
 * (heartbeat, flush of held acks and the offline queue) → connection lost → jittered backoff → again.
 */
import { EventEmitter } from "node:events";
import { performance } from "node:perf_hooks";
import type { MessageDef, RequestOptions, RequestSpec } from "../codec.js";
import { IdempotencyGuard, MemoryIdempotencyStore } from "../delivery/idempotency.js";
import {
  AbortedError,
  ConnectionClosedError,
  encodeFailure,
  HandlerError,
  HandshakeFailedError,
  LoginRefusedError,
  LoginTimeoutError,
  type NotConnectedError,
  PaynetError,
  RequestTimeoutError,
  SessionReplacedError,
} from "../errors.js";
import { emitSafely } from "../logger.js";
import { LatencyHistogram, TrafficStats } from "../stats.js";
import { sharedTimerWheel } from "../timers.js";
import { TicketCache } from "../tls/ticket-cache.js";
import { backoffDelay, reconnectSpreadDelay, replacedBackoffDelay } from "./backoff.js";
import { connectTls, type PendingConnect } from "./connect.js";
import { InboundDispatcher } from "./dispatch.js";
import { HeartbeatMonitor } from "./heartbeat.js";
import { ClientLink } from "./link.js";
import { type LoginStepName, runLoginFlow } from "./login.js";
import { OfflineQueue } from "./offline-queue.js";
import { type ResolvedClientOptions, resolveClientOptions } from "./options.js";
import { asPaynetError, Outbound } from "./outbound.js";
import type { ClientEvents, ClientOptions, ClientStats } from "./types.js";

export { TicketCache } from "../tls/ticket-cache.js";
export {
  type BackoffPolicy,
  backoffDelay,
  DEFAULT_BACKOFF,
  reconnectSpreadDelay,
  replacedBackoffDelay,
  resolveBackoffPolicy,
} from "./backoff.js";
export { DEFAULT_HEARTBEAT_INTERVAL_MS, defaultHeartbeatTimeout } from "./heartbeat.js";
export { DEFAULT_LOGIN_TIMEOUT_MS, loginStep } from "./login.js";
export { DEFAULT_OFFLINE_QUEUE } from "./offline-queue.js";
export { DEFAULT_CONNECT_TIMEOUT_MS } from "./options.js";

export { MAX_HELD_ACKS } from "./outbound.js";

type ClientState = "idle" | "running" | "stopping";

/** `process.emitWarning` about the in-memory idempotency store went out (once per process). */
let warnedVolatileStore = false;

/** How one connection attempt ended. */
interface AttemptOutcome {
  /** Login succeeded. */
  readonly wentOnline: boolean;
  /** The session stayed online for `stableAfterMs` (its drop restarts the backoff). */
  readonly stable?: boolean;
  readonly error: PaynetError | undefined;
  /** The client must stop (login refused with policy `stop`). */
  readonly fatal: boolean;
}

/**
 * Device-side client of a paynet server.
 *
 * ```ts
 * const client = new PaynetClient({ host, port, tls: { ca }, registry, login, heartbeat });
 * client.on("online", () => console.log("online"));
 * await client.run(AbortSignal.timeout(60_000));
 * ```
 *
 * Errors are emitted as `error` events. Unlike a plain EventEmitter, an `error` without listener does
 * not throw: it is written to the logger, because a device must keep running through network trouble.
 */
export class PaynetClient extends EventEmitter<ClientEvents> {
  readonly #options: ClientOptions;
  readonly #config: ResolvedClientOptions;
  readonly #wheel = sharedTimerWheel();
  readonly #tickets = new TicketCache();
  readonly #traffic = new TrafficStats();
  readonly #guard: IdempotencyGuard;
  readonly #dispatcher: InboundDispatcher;
  readonly #outbound: Outbound;
  /** Reply messages of requests/login that may be missing from the registry, by Type. */
  readonly #replyDefs = new Map<number, MessageDef<unknown>>();
  /** Names of every Type this client has seen or sent, for stats keys. */
  readonly #names = new Map<number, string>();
  readonly #counters = { connects: 0, reconnects: 0, handshakes: { full: 0, resumed: 0, failed: 0 } };
  /** Heartbeat round trips (heartbeat sent → its reply received), when the reply Type is known. */
  readonly #heartbeatRtt = new LatencyHistogram();
  readonly #heartbeatReplyType: number;
  #heartbeatsSent = 0;
  /** `performance.now()` of the heartbeat still waiting for its reply. */
  #heartbeatSentAt: number | undefined;
  #lastRttMs: number | undefined;

  #state: ClientState = "idle";
  #loop: Promise<void> | undefined;
  #done: Promise<void> = Promise.resolve();
  #settleDone: { resolve: () => void; reject: (error: PaynetError) => void } | undefined;
  #fatal: PaynetError | undefined;
  #link: ClientLink | undefined;
  #online = false;
  #resumed = false;
  #connecting: PendingConnect | undefined;
  #pause: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  #heartbeat: HeartbeatMonitor | undefined;
  #detachSignals: Array<() => void> = [];

  /**
   * Validates `options`; nothing connects before {@link start} or {@link run}.
   * @throws InvalidOptionsError naming the offending option.
   */
  constructor(options: ClientOptions) {
    super();
    this.#config = resolveClientOptions(options);
    this.#options = options;
    this.#guard = new IdempotencyGuard(options.idempotencyStore ?? this.#volatileStore(options));
    // -1 never matches a Type byte: no reply configured, no round trip measured.
    this.#heartbeatReplyType = options.heartbeat?.reply?.type ?? -1;
    const peer = this.#peerContext().peer;
    const client = this;
    this.#outbound = new Outbound(
      {
        onlineLink: () => this.#onlineLink(),
        replyLink: (origin) => this.#replyLink(origin),
        get stopping() {
          return client.#state === "stopping";
        },
        peer,
        logger: this.#config.logger,
        report: (error) => this.#report(error),
      },
      this.#config.offlineQueue && new OfflineQueue(this.#config.offlineQueue, peer),
    );
    for (const step of [options.login?.register, options.login?.login]) {
      if (step !== undefined) this.#noteReplyDef(step.spec.reply);
    }
    this.#dispatcher = new InboundDispatcher({
      registry: options.registry,
      replyDefs: this.#replyDefs,
      errorMessage: options.errorMessage,
      guard: this.#guard,
      logger: this.#config.logger,
      report: (error) => this.#report(error),
      send: (def, message) => this.send(def, message),
      sendReply: (origin, def, payload) => {
        this.#noteName(def);
        return this.#outbound.sendReply(origin, def, payload);
      },
      sendAck: (origin, reply) => this.#outbound.sendAck(origin, reply),
      interrupted: (info) => this.#emit("interrupted", info),
    });
  }

  /**
   * The default in-memory store, with a warning (once per process, and in the logger) when guarded
   * commands are registered: it forgets on restart, so a command redelivered after one runs again.
   */
  #volatileStore(options: ClientOptions): MemoryIdempotencyStore {
    const guarded = options.registry
      .types()
      .map((type) => options.registry.get(type))
      .filter(
        (registration) => registration?.idempotencyKey !== undefined && registration.handler !== undefined,
      )
      .map((registration) => registration!.def.name);
    if (guarded.length > 0) {
      const message = `commands ${guarded.join(", ")} are deduplicated in memory only: after a restart a redelivered command runs again; pass idempotencyStore (FileIdempotencyStore) to remember across restarts`;
      this.#config.logger.warn({ commands: guarded }, message);
      if (!warnedVolatileStore) {
        warnedVolatileStore = true;
        process.emitWarning(message, { code: "PAYNET_VOLATILE_IDEMPOTENCY" });
      }
    }
    return new MemoryIdempotencyStore();
  }

  /** True between a successful login and the loss of that connection. */
  get online(): boolean {
    return this.#online;
  }

  /** Whether the last TLS handshake resumed a cached session. */
  get resumed(): boolean {
    return this.#resumed;
  }

  /**
   * Starts connecting in the background and returns at once. Progress is reported by events
   * (`connecting`, `connected`, `online`, ...). Calling it while running does nothing; after a stop it
   * starts again.
   */
  start(): void {
    if (this.#state !== "idle") return;
    this.#state = "running";
    this.#fatal = undefined;
    this.#done = new Promise<void>((resolve, reject) => {
      this.#settleDone = { resolve, reject };
    });
    // wait() is optional: a fatal stop must not surface as an unhandled rejection.
    this.#done.catch(() => {});
    const signal = this.#options.signal;
    if (signal !== undefined) this.#watchSignal(signal);
    this.#loop = this.#runLoop()
      .catch((error) => this.#report(asPaynetError(error)))
      .finally(() => this.#finish());
  }

  /**
   * Stops the client: cancels a connect or backoff in progress, fails outstanding requests with
   * `AbortedError`, flushes what is already queued on the connection and closes it. Resolves when
   * closed. Messages still in the offline queue are dropped with an `error` event.
   */
  async stop(): Promise<void> {
    if (this.#state === "running") {
      this.#state = "stopping";
      const reason = new ConnectionClosedError("client stopped", this.#peerContext());
      this.#pause?.wake();
      this.#connecting?.cancel(new AbortedError(this.#peerContext()));
      this.#heartbeat?.stop();
      const link = this.#link;
      if (link !== undefined) {
        link.router.failAll(new AbortedError({ peer: link.peer }));
        link.close(reason);
      }
    }
    await this.#loop;
  }

  /**
   * Resolves once the client has stopped (by {@link stop}, the `signal` or `[Symbol.asyncDispose]`);
   * rejects with the cause when it stopped on its own: a login refused with policy `stop`, or
   * `reconnect.maxAttempts` used up (the last connection error). Resolves at once when not running.
   */
  wait(): Promise<void> {
    return this.#done;
  }

  /** {@link start} then {@link wait}; aborting `signal` stops the client. */
  async run(signal?: AbortSignal): Promise<void> {
    this.start();
    if (signal !== undefined) this.#watchSignal(signal);
    return this.wait();
  }

  /** Stops the client (`await using client = new PaynetClient(...)`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /**
   * Sends one message. Online: written to the connection (resolves once queued there). Offline:
   * rejects with `NotConnectedError`, or with an offline queue configured, is queued and sent right
   * after the next login (rejects with `QueueFullError('offline')` when the queue is full).
   */
  send<T>(def: MessageDef<T>, message: T): Promise<void> {
    let payload: Uint8Array;
    try {
      payload = def.codec.encode(message);
    } catch (error) {
      return Promise.reject(encodeFailure(def.name, error, this.#peerContext()));
    }
    this.#noteName(def);
    return this.#outbound.send(def as MessageDef<unknown>, payload);
  }

  /**
   * Sends a request and resolves with its (first final) reply. Needs the client online: rejects with
   * `NotConnectedError` otherwise, and with the close reason if the connection drops first.
   */
  request<Req, Rep>(spec: RequestSpec<Req, Rep>, message: Req, options?: RequestOptions<Rep>): Promise<Rep> {
    const link = this.#onlineLink();
    if (link === undefined) return Promise.reject(this.#notConnected(spec.request.name));
    this.#noteRequest(spec);
    return link.request(spec, message, options).result;
  }

  /**
   * Sends a request and yields its replies until a final one (see `RequestOptions.isFinal`). Needs
   * the client online; iterating throws `NotConnectedError` otherwise.
   */
  stream<Req, Rep>(
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: RequestOptions<Rep>,
  ): AsyncIterable<Rep> {
    const link = this.#onlineLink();
    if (link === undefined) {
      const error = this.#notConnected(spec.request.name);
      return {
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }),
      };
    }
    this.#noteRequest(spec);
    return link.request(spec, message, options).stream();
  }

  /** Counters since construction (connects, handshakes, traffic per Type, offline queue depth). */
  stats(): ClientStats {
    const traffic = this.#traffic.snapshot(
      (type) => this.#names.get(type) ?? this.#options.registry.get(type)?.def.name,
    );
    return {
      connects: this.#counters.connects,
      reconnects: this.#counters.reconnects,
      handshakes: { ...this.#counters.handshakes },
      framesIn: traffic.framesIn,
      framesOut: traffic.framesOut,
      offlineQueue: this.#outbound.queued,
      heartbeat: {
        sent: this.#heartbeatsSent,
        lastRttMs: this.#lastRttMs,
        rtt: this.#heartbeatRtt.snapshot(),
      },
    };
  }

  // ---- lifecycle loop ----

  async #runLoop(): Promise<void> {
    // Let the caller attach listeners after start() before the first event.
    await Promise.resolve();
    const policy = this.#config.backoff;
    let attempt = 0;
    let failures = 0;
    /** The previous attempt was a stable session: the next delay is spread, not exponential. */
    let dropped = false;
    let replaced = false;
    let lastError: PaynetError | undefined;
    while (this.#state === "running") {
      attempt++;
      if (attempt > policy.maxAttempts) {
        this.#fatal =
          lastError ??
          new ConnectionClosedError(`gave up after ${policy.maxAttempts} attempts`, this.#peerContext());
        return;
      }
      if (failures > 0) {
        const random = this.#config.random;
        const delayMs = dropped
          ? reconnectSpreadDelay(policy, random)
          : replaced
            ? replacedBackoffDelay(failures, policy, random)
            : backoffDelay(failures, policy, random);
        this.#counters.reconnects++;
        this.#emit("reconnecting", { attempt, delayMs });
        await this.#sleep(delayMs);
        if (this.#state !== "running") return;
      }
      this.#emit("connecting", { attempt });
      const outcome = await this.#attempt();
      lastError = outcome.error;
      if (outcome.fatal) {
        this.#fatal = outcome.error;
        return;
      }
      // maxAttempts counts attempts that never got online; the backoff restarts only after a
      // stable session, so sessions that keep ending right after login back off like failures.
      if (outcome.wentOnline) attempt = 0;
      replaced = outcome.error instanceof SessionReplacedError;
      dropped = outcome.stable === true && !replaced;
      failures = dropped ? 1 : failures + 1;
    }
  }

  /** One connection: connect, log in, serve until it ends. */
  async #attempt(): Promise<AttemptOutcome> {
    const link = await this.#connect();
    if (link instanceof PaynetError) return { wentOnline: false, error: link, fatal: false };
    if (link === undefined) return { wentOnline: false, error: undefined, fatal: false };

    const login = this.#options.login;
    if (login !== undefined) {
      try {
        await runLoginFlow(
          login,
          (spec, message, timeoutMs, step) => this.#loginRequest(link, spec, message, timeoutMs, step),
          link.peer,
        );
      } catch (error) {
        const reason = asPaynetError(error);
        link.destroy(reason);
        await link.closed;
        this.#link = undefined;
        if (this.#state !== "running") return { wentOnline: false, error: reason, fatal: false };
        if (reason instanceof LoginRefusedError) {
          this.#emit("loginRefused", reason);
          this.#report(reason);
          const verdict = this.#decideOnRefusal(login.onRefused, reason);
          return { wentOnline: false, error: reason, fatal: verdict === "stop" };
        }
        this.#report(reason);
        return { wentOnline: false, error: reason, fatal: false };
      }
    }
    if (link.isClosed || this.#state !== "running") {
      const reason = await link.closed;
      this.#link = undefined;
      return { wentOnline: false, error: reason, fatal: false };
    }

    this.#goOnline(link);
    const onlineAt = performance.now();
    const reason = await link.closed;
    const stable = performance.now() - onlineAt >= this.#config.backoff.stableAfterMs;
    this.#online = false;
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
    this.#link = undefined;
    this.#emit("offline", reason);
    return { wentOnline: true, stable, error: reason, fatal: false };
  }

  /** TCP + TLS; returns the new link, the error (already reported), or `undefined` when stopped. */
  async #connect(): Promise<ClientLink | PaynetError | undefined> {
    const { host, port, tls } = this.#options;
    const pending = connectTls({
      host,
      port,
      tls,
      timeoutMs: this.#config.connectTimeoutMs,
      tickets: this.#tickets,
      wheel: this.#wheel,
    });
    this.#connecting = pending;
    let connected: Awaited<PendingConnect["result"]>;
    try {
      connected = await pending.result;
    } catch (error) {
      const reason = asPaynetError(error);
      if (this.#state !== "running") return undefined;
      if (reason instanceof HandshakeFailedError) this.#counters.handshakes.failed++;
      this.#report(reason);
      return reason;
    } finally {
      this.#connecting = undefined;
    }
    if (this.#state !== "running") {
      connected.socket.destroy();
      return undefined;
    }
    this.#counters.connects++;
    this.#counters.handshakes[connected.resumed ? "resumed" : "full"]++;
    this.#resumed = connected.resumed;
    const link = new ClientLink(
      connected.socket,
      connected.resumed,
      {
        peer: `${host}:${port}`,
        wheel: this.#wheel,
        stats: this.#traffic,
        maxFrame: this.#config.maxFrame,
        ...(this.#options.lengthMode === undefined ? {} : { lengthMode: this.#options.lengthMode }),
        ...(this.#options.outboundQueue === undefined ? {} : { outboundQueue: this.#options.outboundQueue }),
      },
      (origin, type, payload) => {
        if (type === this.#heartbeatReplyType) this.#heartbeatAnswered();
        this.#dispatcher.dispatch(origin, type, payload);
      },
    );
    this.#link = link;
    if (connected.resumed) this.#dropTicketIfRefused(link, connected.ticketKey);
    this.#emit("connected", { resumed: connected.resumed });
    return link;
  }

  /**
   * A server refuses a resumed session whose certificate no longer passes its trust (CA dropped,
   * revoked) by closing it before any frame. Offering the same ticket again would only be refused
   * again; without it the next connect does a full handshake and fails (or passes) on its own terms.
   */
  #dropTicketIfRefused(link: ClientLink, ticketKey: string): void {
    void link.closed.then(() => {
      if (link.receivedFrame) return;
      this.#tickets.delete(ticketKey);
      this.#config.logger.debug(
        { peer: link.peer },
        "resumed connection ended before the first frame: TLS ticket dropped, the next connect does a full handshake",
      );
    });
  }

  async #loginRequest(
    link: ClientLink,
    spec: RequestSpec<unknown, unknown>,
    message: unknown,
    timeoutMs: number,
    step: LoginStepName,
  ): Promise<unknown> {
    this.#noteName(spec.request);
    try {
      return await link.request(spec, message, { timeoutMs }).result;
    } catch (error) {
      if (error instanceof RequestTimeoutError)
        throw new LoginTimeoutError(step, timeoutMs, { peer: link.peer });
      throw error;
    }
  }

  #decideOnRefusal(onRefused: ((error: PaynetError) => "retry" | "stop") | undefined, error: PaynetError) {
    try {
      return onRefused?.(error) ?? "retry";
    } catch (cause) {
      this.#report(new HandlerError({ peer: error.peer ?? "", cause }));
      return "retry";
    }
  }

  #goOnline(link: ClientLink): void {
    this.#online = true;
    this.#heartbeatSentAt = undefined;
    const heartbeat = this.#options.heartbeat;
    const timings = this.#config.heartbeat;
    if (heartbeat !== undefined && timings !== undefined) {
      this.#noteName(heartbeat.def);
      this.#heartbeat = new HeartbeatMonitor(this.#wheel, timings, {
        sendHeartbeat: () => {
          link.write(heartbeat.def.type, heartbeat.def.codec.encode(heartbeat.build()));
          this.#heartbeatsSent++;
          // One round trip at a time: a heartbeat sent while one is unanswered does not restart it.
          this.#heartbeatSentAt ??= performance.now();
        },
        // Monotonic: a wall-clock jump (NTP after a 4G attach) must not fake or hide a dead peer.
        lastReceivedAt: () => link.connection.lastByteMonotonic,
        now: () => performance.now(),
        onDead: (error) => link.destroy(error),
        onError: (error) => this.#report(asPaynetError(error, link.peer)),
        peer: link.peer,
      });
      this.#heartbeat.start();
    }
    this.#outbound.flush(link);
    this.#emit("online", { resumed: link.resumed });
  }

  #heartbeatAnswered(): void {
    const sentAt = this.#heartbeatSentAt;
    if (sentAt === undefined) return;
    this.#heartbeatSentAt = undefined;
    const rttMs = performance.now() - sentAt;
    this.#lastRttMs = rttMs;
    this.#heartbeatRtt.observe(rttMs);
  }

  /** Waits `ms` on a real (ref'd) timer: a device in backoff must not let the process exit. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#pause = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#pause = { timer, wake };
    });
  }

  #finish(): void {
    this.#state = "idle";
    this.#online = false;
    this.#link = undefined;
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
    for (const detach of this.#detachSignals) detach();
    this.#detachSignals = [];
    this.#outbound.clear();
    const settle = this.#settleDone;
    this.#settleDone = undefined;
    if (this.#fatal !== undefined) settle?.reject(this.#fatal);
    else settle?.resolve();
  }

  #watchSignal(signal: AbortSignal): void {
    if (signal.aborted) {
      void this.stop();
      return;
    }
    const onAbort = () => void this.stop();
    signal.addEventListener("abort", onAbort, { once: true });
    this.#detachSignals.push(() => signal.removeEventListener("abort", onAbort));
  }

  // ---- outbound ----

  #onlineLink(): ClientLink | undefined {
    const link = this.#link;
    return this.#online && link !== undefined && !link.isClosed ? link : undefined;
  }

  /** The connection a handler's reply goes out on: the current one once online, or the one it came in on. */
  #replyLink(origin: ClientLink): ClientLink | undefined {
    const link = this.#link;
    if (link === undefined || link.isClosed) return undefined;
    return this.#online || link === origin ? link : undefined;
  }

  // ---- helpers ----

  #noteRequest<Req, Rep>(spec: RequestSpec<Req, Rep>): void {
    this.#noteName(spec.request as MessageDef<unknown>);
    this.#noteReplyDef(spec.reply as MessageDef<unknown>);
  }

  #noteReplyDef(def: MessageDef<unknown>): void {
    this.#noteName(def);
    if (!this.#replyDefs.has(def.type)) this.#replyDefs.set(def.type, def);
  }

  #noteName(def: MessageDef<unknown>): void {
    if (!this.#names.has(def.type)) this.#names.set(def.type, def.name);
  }

  #notConnected(messageName: string): NotConnectedError {
    return this.#outbound.notConnected(messageName);
  }

  #peerContext(): { peer: string } {
    return { peer: `${this.#options.host}:${this.#options.port}` };
  }

  #report(error: PaynetError): void {
    if (this.listenerCount("error") > 0) this.#emit("error", error);
    else this.#config.logger.error({ code: error.code }, error.message);
  }

  /** Emits without letting a throwing listener break the connection loop; see {@link emitSafely}. */
  #emit<K extends keyof ClientEvents>(event: K, ...args: ClientEvents[K]): void {
    const emit = this.emit as (event: K, ...args: ClientEvents[K]) => boolean;
    emitSafely(() => emit.call(this, event, ...args), this.#config.logger, event, "client");
  }
}
