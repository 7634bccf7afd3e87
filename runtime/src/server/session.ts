/**
 * One device connection on the server: a {@link FrameConnection} plus who the peer is, its login
 * state, its per-session attributes and the waiters of requests sent to it.
 */
import type { MessageDef, RequestOptions, RequestSpec } from "../codec.js";
import type { FrameConnection, FrameConnectionHandlers } from "../connection.js";
import { ReplyRouter } from "../delivery/replies.js";
import { failedIterable } from "../delivery/reply-queue.js";
import {
  ConnectionClosedError,
  InvalidOptionsError,
  NotConnectedError,
  type PaynetError,
  QueueFullError,
} from "../errors.js";
import { childLogger, type Logger } from "../logger.js";
import type { AdmittedCertificate } from "../tls/server-context.js";
import type { ConnectionGuard } from "./guard.js";
import type { SessionHost, SessionInit } from "./session-host.js";
import type { PeerIdentity, Session } from "./types.js";

/**
 * The server's {@link Session} implementation. It is also its connection's handler object
 * (`onFrameAt`/`onClose`), so a session costs no closures of its own.
 */
export class ServerSession implements Session, FrameConnectionHandlers {
  readonly id: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly identity: PeerIdentity | undefined;
  readonly resumed: boolean;
  /** The peer certificate and its verified chain (mTLS), for the checks after a TLS reload. */
  readonly certificate: AdmittedCertificate | undefined;
  // Per-session state that most sessions never use (attributes, request waiters, reply Types,
  // deferred work) is created on first use: an idle device session should cost little more heap
  // than its TLS socket (the connection-scale benchmark holds 100k of them).
  readonly #connectedAtMs = Date.now();
  #connectedAt: Date | undefined;
  #attributes: Map<string, unknown> | undefined;
  #replies: ReplyRouter | undefined;
  readonly #host: SessionHost;
  #connection: FrameConnection | undefined;
  #deviceId: string | undefined;
  #closedReason: PaynetError | undefined;
  /** Reply Type → definition, for replies whose Type has no registration of its own. */
  #replyDefs: Map<number, MessageDef<unknown>> | undefined;
  /** The definition last reported to `host.sent` (skips a Map write per reply of the same Type). */
  #lastSent: MessageDef<unknown> | undefined;
  /** Handlers of this session still running; work deferred until none is (see `whenIdle`). */
  #running = 0;
  #idleCallbacks: Array<() => void> | undefined;
  #log: Logger | undefined;
  /** @internal The server's guard state of this connection (login deadline, rate and bad-frame windows). */
  guard: ConnectionGuard | undefined;
  /** @internal The device id a login step of this session claimed and the login policy allowed. */
  approvedDeviceId: string | undefined;
  /** @internal The serial a register step of this session claimed and the login policy allowed. */
  checkedSerial: string | undefined;
  /** @internal The dispatcher's handler context of this session's last frame, reused while it fits. */
  handlerContext: unknown;

  constructor(init: SessionInit, host: SessionHost) {
    this.id = init.id;
    this.remoteAddress = init.remoteAddress;
    this.remotePort = init.remotePort;
    this.identity = init.identity;
    this.resumed = init.resumed;
    this.certificate = init.certificate;
    this.#host = host;
  }

  /** When the connection was admitted. */
  get connectedAt(): Date {
    this.#connectedAt ??= new Date(this.#connectedAtMs);
    return this.#connectedAt;
  }

  /** Free-form per-session values (see {@link Session.attributes}); created on first access. */
  get attributes(): Map<string, unknown> {
    this.#attributes ??= new Map();
    return this.#attributes;
  }

  /** Waiters of `request()` / `stream()` replies; created on first access. */
  get replies(): ReplyRouter {
    this.#replies ??= new ReplyRouter({ peer: () => this.peer });
    return this.#replies;
  }

  /** Offers an inbound message to this session's request waiters; false when none takes it. */
  offerReply(type: number, message: unknown): boolean {
    return this.#replies !== undefined && this.#replies.size > 0 && this.#replies.offer(type, message);
  }

  /** @internal An inbound frame of this session's connection. */
  onFrameAt(type: number, buffer: Buffer, start: number, end: number): void {
    this.#host.frame(this, type, buffer, start, end);
  }

  /** @internal This session's connection ended. */
  onClose(reason: PaynetError): void {
    this.#host.closed(this, reason);
  }

  /**
   * The server's logger bound to this session: `conn` (session id), `peer` (`host:port`) and, once
   * logged in, `deviceId`. Made on first use (most idle sessions never log) and anew at login.
   */
  get log(): Logger {
    this.#log ??= childLogger(
      this.#host.logger,
      this.#deviceId === undefined
        ? { conn: this.id, peer: `${this.remoteAddress}:${this.remotePort}` }
        : { conn: this.id, peer: `${this.remoteAddress}:${this.remotePort}`, deviceId: this.#deviceId },
    );
    return this.#log;
  }

  /** Attaches the connection (done once, right after construction). */
  attach(connection: FrameConnection): void {
    this.#connection = connection;
  }

  /** `host:port`, with the device id appended once logged in. */
  get peer(): string {
    const address = `${this.remoteAddress}:${this.remotePort}`;
    return this.#deviceId === undefined ? address : `${address} ${this.#deviceId}`;
  }

  /** `performance.now()` of the last byte read (see `FrameConnection.lastByteMonotonic`); 0 before attach. */
  get lastByteMonotonic(): number {
    return this.#connection?.lastByteMonotonic ?? 0;
  }

  /** Sets the largest inbound Len accepted from the next frame on (see `FrameConnection.limitInbound`). */
  limitInbound(maxFrame: number, option: string): void {
    this.#connection?.limitInbound(maxFrame, option);
  }

  /** Epoch ms of the last inbound frame (connection time before the first). */
  get lastFrameAt(): number {
    return this.#connection?.lastFrameAt ?? this.#connectedAtMs;
  }

  /** Device id once logged in. */
  get deviceId(): string | undefined {
    return this.#deviceId;
  }

  /** Logged in and not closed. */
  get online(): boolean {
    return this.#deviceId !== undefined && this.#closedReason === undefined;
  }

  /** Why the session closed, once it has. */
  get closedReason(): PaynetError | undefined {
    return this.#closedReason;
  }

  /** Frames waiting in this session's outbound queue. */
  get queuedFrames(): number {
    return this.#connection?.queuedFrames ?? 0;
  }

  /** Wire bytes waiting in this session's outbound queue. */
  get queuedBytes(): number {
    return this.#connection?.queuedBytes ?? 0;
  }

  /**
   * See {@link Session.login}. Throws `NotConnectedError` on a closed session, and
   * `LoginNotAuthorizedError` when the login policy refuses `deviceId` right away (the refusal is
   * then answered and the session closed; an asynchronous policy's refusal is handled the same way
   * once it decides, without a throw).
   */
  login(deviceId: string): void {
    if (typeof deviceId !== "string" || deviceId === "") {
      throw new InvalidOptionsError(
        "deviceId",
        `expected a non-empty string, got ${JSON.stringify(deviceId)}`,
      );
    }
    if (this.#closedReason !== undefined)
      throw new NotConnectedError("session is closed", { peer: this.peer });
    if (this.#deviceId === deviceId) return;
    if (deviceId === this.approvedDeviceId) {
      this.#bind(deviceId);
      return;
    }
    const allowed = this.#host.authorizeLogin(this, deviceId);
    if (allowed === true) this.#bind(deviceId);
    else if (allowed instanceof Promise)
      void allowed.then((yes) => {
        if (yes && this.#closedReason === undefined && this.#deviceId !== deviceId) this.#bind(deviceId);
      });
    else throw allowed;
  }

  #bind(deviceId: string): void {
    const previous = this.#deviceId;
    this.#deviceId = deviceId;
    this.#log = undefined;
    if (this.#connection !== undefined) this.#connection.peer = this.peer;
    this.#host.login(this, deviceId, previous);
  }

  /** Forgets the device id (the host unbinds it from the directory first). */
  logout(): void {
    if (this.#deviceId === undefined) return;
    this.#deviceId = undefined;
    this.#log = undefined;
    if (this.#connection !== undefined) this.#connection.peer = this.peer;
    this.#host.loggedOut(this);
  }

  /** See {@link Session.send}. Resolves once queued. */
  send<T>(def: MessageDef<T>, message: T): Promise<void> {
    try {
      this.sendNow(def, message);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Encodes and queues one message, synchronously: the promise-free path of {@link send} for the
   * dispatcher's replies. Throws what `send` rejects with (`EncodeError`, `NotConnectedError`,
   * `FrameTooLargeError`, `QueueFullError`).
   */
  sendNow<T>(def: MessageDef<T>, message: T): void {
    const connection = this.#usableConnection(def.type);
    try {
      connection.sendMessage(def, message);
    } catch (error) {
      throw this.#sendFailed(error, def.type);
    }
    this.#sentDef(def as MessageDef<unknown>);
  }

  #sentDef(def: MessageDef<unknown>): void {
    if (def === this.#lastSent) return;
    this.#lastSent = def;
    this.#host.sent(def);
  }

  /**
   * Queues one encoded frame. Throws `NotConnectedError` when closed and `QueueFullError` when the
   * peer does not read (the session is then closed with that reason).
   */
  sendFrame(type: number, payload: Uint8Array): void {
    const connection = this.#usableConnection(type);
    try {
      connection.send(type, payload);
    } catch (error) {
      throw this.#sendFailed(error, type);
    }
  }

  #usableConnection(type: number): FrameConnection {
    const connection = this.#connection;
    if (connection === undefined || this.#closedReason !== undefined || connection.closed) {
      throw new NotConnectedError("session is closed", { peer: this.peer, frameType: type });
    }
    return connection;
  }

  /** What a send that `FrameConnection` refused throws; a full queue also closes the session. */
  #sendFailed(error: unknown, type: number): unknown {
    if (error instanceof QueueFullError) this.#host.queueFull(this, error);
    if (error instanceof ConnectionClosedError) {
      return new NotConnectedError("session is closed", {
        peer: this.peer,
        frameType: type,
        cause: error,
      });
    }
    return error;
  }

  /** See {@link Session.request}. */
  request<Req, Rep>(
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options: RequestOptions<Rep> = {},
  ): Promise<Rep> {
    try {
      const waiter = this.#expect(spec, message, options);
      return waiter.finalReply();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** See {@link Session.stream}. */
  stream<Req, Rep>(
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options: RequestOptions<Rep> = {},
  ): AsyncIterable<Rep> {
    try {
      return this.#expect(spec, message, options).stream();
    } catch (error) {
      return failedIterable<Rep>(error);
    }
  }

  /** Registers the reply waiter before sending, so a fast reply cannot be missed. */
  #expect<Req, Rep>(spec: RequestSpec<Req, Rep>, message: Req, options: RequestOptions<Rep>) {
    this.#replyDefs ??= new Map();
    this.#replyDefs.set(spec.reply.type, spec.reply as MessageDef<unknown>);
    const key = spec.requestKey?.(message);
    const waiter = this.replies.expect(spec, key, options);
    try {
      this.sendNow(spec.request, message);
    } catch (error) {
      waiter.cancel();
      throw error;
    }
    return waiter;
  }

  /** Definition of a reply Type this session's requests expect. */
  replyDef(type: number): MessageDef<unknown> | undefined {
    return this.#replyDefs?.get(type);
  }

  /** See {@link Session.close}; the offline reason is a `ConnectionClosedError` naming `reason`. */
  close(reason?: string): void {
    this.closeWith(new ConnectionClosedError(reason ?? "closed by server", { peer: this.peer }));
  }

  /** Closes gracefully (queued frames are flushed first) with a typed reason. */
  closeWith(reason: PaynetError): void {
    this.#connection?.close(reason);
  }

  /** Closes at once, dropping queued frames. */
  destroyWith(reason: PaynetError): void {
    this.#connection?.destroy(reason);
  }

  /** Called by the host when the connection ended; returns false if it had already. */
  markClosed(reason: PaynetError): boolean {
    if (this.#closedReason !== undefined) return false;
    this.#closedReason = reason;
    this.#replies?.failAll(reason);
    return true;
  }

  /** A handler of this session started. */
  handlerStarted(): void {
    this.#running++;
  }

  /** A handler of this session finished (reply sent); runs work deferred by `whenIdle`. */
  handlerFinished(): void {
    this.#running--;
    if (this.#running > 0) return;
    const callbacks = this.#idleCallbacks;
    if (callbacks === undefined) return;
    this.#idleCallbacks = undefined;
    for (const callback of callbacks) callback();
  }

  /**
   * Runs `callback` once no handler of this session is running. Used so that redeliveries after a
   * login go out after the login handler's own reply.
   */
  whenIdle(callback: () => void): void {
    if (this.#running === 0) {
      queueMicrotask(callback);
      return;
    }
    this.#idleCallbacks ??= [];
    this.#idleCallbacks.push(callback);
  }
}
