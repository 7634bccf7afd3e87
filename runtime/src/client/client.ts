/**
 * The device client: one TLS connection to the cloud service, kept up for as long as the client
 * runs. The connection lifecycle (connect, login, online, backoff) is the loop in
 * `connection-loop.ts`; this module keeps the public API and the paths of messages in and out: the
 * inbound dispatcher (with the idempotency guard of commands) and the outbound path (connection,
 * offline queue, held acks).
 */
import { EventEmitter } from "node:events";
import type { MessageDef, RequestOptions, RequestSpec } from "../codec.js";
import { IdempotencyGuard, MemoryIdempotencyStore } from "../delivery/idempotency.js";
import { failedIterable } from "../delivery/reply-queue.js";
import { ConnectionClosedError, encodeFailure, type NotConnectedError, type PaynetError } from "../errors.js";
import { emitSafely } from "../logger.js";
import { TrafficStats } from "../stats.js";
import { sharedTimerWheel } from "../timers.js";
import { OwnCertificateExpiry } from "./cert-expiry.js";
import { ConnectionLoop } from "./connection-loop.js";
import { InboundDispatcher } from "./dispatch.js";
import type { ClientLink } from "./link.js";
import { OfflineQueue } from "./offline-queue.js";
import { type ResolvedClientOptions, resolveClientOptions } from "./options.js";
import { asPaynetError, Outbound } from "./outbound.js";
import type { ClientEvents, ClientOptions, ClientStats } from "./types.js";

type ClientState = "idle" | "running" | "stopping";

/** `process.emitWarning` about the in-memory idempotency store went out (once per process). */
let warnedVolatileStore = false;

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
  readonly #traffic = new TrafficStats();
  readonly #connection: ConnectionLoop;
  readonly #guard: IdempotencyGuard;
  readonly #dispatcher: InboundDispatcher;
  readonly #outbound: Outbound;
  /** Reply messages of requests/login that may be missing from the registry, by Type. */
  readonly #replyDefs = new Map<number, MessageDef<unknown>>();
  /** Names of every Type this client has seen or sent, for stats keys. */
  readonly #names = new Map<number, string>();

  #state: ClientState = "idle";
  #loop: Promise<void> | undefined;
  #done: Promise<void> = Promise.resolve();
  #settleDone: { resolve: () => void; reject: (error: PaynetError) => void } | undefined;
  #fatal: PaynetError | undefined;
  #detachSignals: Array<() => void> = [];
  readonly #certificate: OwnCertificateExpiry;

  /**
   * Validates `options`; nothing connects before {@link start} or {@link run}.
   * @throws InvalidOptionsError naming the offending option.
   */
  constructor(options: ClientOptions) {
    super();
    this.#config = resolveClientOptions(options);
    this.#options = options;
    this.#guard = new IdempotencyGuard(options.idempotencyStore ?? this.#volatileStore(options));
    this.#certificate = new OwnCertificateExpiry(options.tls, this.#config.logger);
    const peer = this.#peerContext().peer;
    this.#connection = new ConnectionLoop({
      options,
      config: this.#config,
      wheel: sharedTimerWheel(),
      traffic: this.#traffic,
      isRunning: () => this.#state === "running",
      emit: (event, ...args) => {
        if (event === "online") this.#certificate.check();
        this.#emit(event, ...args);
      },
      report: (error) => this.#report(error),
      dispatch: (origin, type, payload) => this.#dispatcher.dispatch(origin, type, payload),
      wentOnline: (link) => this.#outbound.flush(link),
      noteName: (def) => this.#noteName(def),
    });
    this.#outbound = new Outbound(
      {
        onlineLink: () => this.#onlineLink(),
        replyLink: (origin) => this.#replyLink(origin),
        isStopping: () => this.#state === "stopping",
        peer,
        logger: this.#config.logger,
        report: (error) => this.#report(error),
        framing: { maxFrame: this.#config.maxFrame, lengthMode: options.lengthMode },
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
    return this.#connection.online;
  }

  /** Whether the last TLS handshake resumed a cached session. */
  get resumed(): boolean {
    return this.#connection.resumed;
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
    this.#certificate.check();
    this.#done = new Promise<void>((resolve, reject) => {
      this.#settleDone = { resolve, reject };
    });
    // wait() is optional: a fatal stop must not surface as an unhandled rejection.
    this.#done.catch(() => {});
    const signal = this.#options.signal;
    if (signal !== undefined) this.#watchSignal(signal);
    this.#loop = this.#connection
      .run()
      .then((fatal) => {
        this.#fatal = fatal;
      })
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
      this.#connection.halt(reason);
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
   * after the next login (rejects with `QueueFullError('offline')` when the queue is full, and with
   * `FrameTooLargeError` for a message over `maxFrame`: what resolved is kept until it is written).
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
    return link.request(spec, message, options).finalReply();
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
      return failedIterable(this.#notConnected(spec.request.name));
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
      ...this.#connection.stats(),
      framesIn: traffic.framesIn,
      framesOut: traffic.framesOut,
      offlineQueue: this.#outbound.queued,
    };
  }

  #finish(): void {
    this.#state = "idle";
    this.#connection.reset();
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
    const link = this.#connection.link;
    return this.#connection.online && link !== undefined && !link.isClosed ? link : undefined;
  }

  /** The connection a handler's reply goes out on: the current one once online, or the one it came in on. */
  #replyLink(origin: ClientLink): ClientLink | undefined {
    const link = this.#connection.link;
    if (link === undefined || link.isClosed) return undefined;
    return this.#connection.online || link === origin ? link : undefined;
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
    // The server of the current connection, else every server the client may connect to.
    const link = this.#connection?.link;
    if (link !== undefined) return { peer: link.peer };
    return { peer: this.#config.addresses.map(({ host, port }) => `${host}:${port}`).join(",") };
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
