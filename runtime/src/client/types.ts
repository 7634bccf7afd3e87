import type { MessageDef, RequestSpec } from "../codec.js";
import type { IdempotencyStore } from "../delivery/types.js";
import type { PaynetError } from "../errors.js";
import type { FrameOptions } from "../frame/options.js";
import type { Logger } from "../logger.js";
import type { Registry } from "../registry.js";
import type { ErrorMessageSpec } from "../server/types.js";
import type { HistogramSnapshot } from "../stats.js";

type PemInput = string | Buffer | ReadonlyArray<string | Buffer>;

/** TLS settings of a device client. PEM contents, not paths. */
export interface ClientTlsOptions {
  /** CA bundle that signed the server certificate. */
  ca?: PemInput;
  /** Client certificate and key, for mTLS servers. */
  cert?: PemInput;
  key?: PemInput;
  /** SNI and certificate host name check. Default: the host. */
  servername?: string;
  /** Default `TLSv1.3`. */
  minVersion?: "TLSv1.2" | "TLSv1.3";
}

/** Outcome of a register/login reply: `true`, or the server's refusal. */
export type LoginVerdict = true | { code: number | string; message?: string };

/** One request → reply step of the login flow. */
export interface LoginStep<Req, Rep> {
  readonly spec: RequestSpec<Req, Rep>;
  /** Builds the request; called on every (re)connect, so it can include e.g. a resume token. */
  readonly build: () => Req | Promise<Req>;
  /** Judges the reply. Default: accepted. */
  readonly accept?: (reply: Rep) => LoginVerdict;
}

/** Run after every (re)connect. The client is online only when the login step is accepted. */
export interface LoginFlow {
  // biome-ignore lint/suspicious/noExplicitAny: each step pairs its own request and reply types
  register?: LoginStep<any, any>;
  // biome-ignore lint/suspicious/noExplicitAny: each step pairs its own request and reply types
  login: LoginStep<any, any>;
  /** Per step. Default 10 000 ms. */
  timeoutMs?: number;
  /** After a refusal: `retry` (with backoff, the default) or `stop` the client. */
  onRefused?: (error: PaynetError) => "retry" | "stop";
}

/**
 * Keep-alive of an online client: a heartbeat message sent every interval, and dead-peer detection
 * measured from the last byte *received* (on the monotonic clock), not from the last ping sent.
 */
export interface HeartbeatOptions<T> {
  /** The heartbeat message (e.g. `paybox.Ping`). */
  readonly def: MessageDef<T>;
  /**
   * Its reply (e.g. `paybox.Pong`). When set, the time from each heartbeat to the next reply of this
   * Type is recorded as the heartbeat round trip (`stats().heartbeat`); generated SDKs set it.
   */
  readonly reply?: MessageDef<unknown>;
  /** Builds each heartbeat (e.g. with the current timestamp). */
  readonly build: () => T;
  /** Default 60 000 ms. */
  readonly intervalMs?: number;
  /** Peer declared dead when nothing was received for this long. Default 2 × interval + 10 s. */
  readonly timeoutMs?: number;
}

/**
 * Exponential backoff between connection attempts: `initialDelayMs × factor^(n−1)` capped at
 * `maxDelayMs`, every delay jittered; reset only once a session stayed online for `stableAfterMs`.
 * After a session was lost (at any age) the attempts wait a uniform random delay in `[0, spreadMs]`
 * instead, until the backoff step outgrows that window. A session the server replaced (`SESSION_REPLACED`: the same device id logged in
 * elsewhere) counts as a failure, and its wait is at most half randomised.
 */
export interface ReconnectOptions {
  /** Delay before the first retry. Default 1 000 ms. */
  initialDelayMs?: number;
  /** Growth per failed attempt, >= 1. Default 2. */
  factor?: number;
  /** Cap of the un-jittered delay. Default 64 000 ms. */
  maxDelayMs?: number;
  /**
   * Share 0..1 of each delay that is randomised (a delay lies in `[d × (1 − jitter), d]`), the first
   * one included, so a fleet dropped together does not come back in lock-step. Default 1 ("full
   * jitter": uniform in `[0, d]`).
   */
  jitter?: number;
  /** Consecutive failed attempts before the client gives up (`wait()` rejects). Default unlimited. */
  maxAttempts?: number;
  /**
   * After an online session is lost, however long it lasted, each reconnect attempt until the
   * device is logged in again waits a uniform random delay in `[0, spreadMs]` while the backoff step
   * is shorter than this (and the jittered backoff step after that): full-jitter backoff whose
   * window is never shorter than `spreadMs`. A fleet dropped at once (server restart, cell outage)
   * thus reconnects spread over this window rather than in a burst, and so do the devices whose
   * first attempt came while the server was still down.
   * 0 = no spread (jittered exponential delays only).
   * Default 5 × `initialDelayMs` (5 000 ms with the default initial delay).
   */
  spreadMs?: number;
  /**
   * A session must stay online this long for its drop to reset the backoff; one that drops sooner
   * counts as one more failed attempt, so a device whose sessions keep ending right after login
   * (e.g. two boxes sharing a device id) waits longer each time. 0 = every login resets it.
   * Default 30 000 ms.
   */
  stableAfterMs?: number;
  /**
   * Source of the jitter, returning a number in [0, 1). Default `Math.random`; inject a seeded or
   * scripted one for simulations and tests.
   */
  random?: () => number;
}

/**
 * Bounded queue for `send()` while offline, written right after the next login at the pace the
 * connection drains. A send the queue cannot keep rejects with `QueueFullError('offline')`; a send
 * that resolved is kept until it is written (a `stop()` reports what was still queued).
 */
export interface OfflineQueueOptions {
  /** Most queued messages. Default 1 000. */
  maxMessages?: number;
  /** Most queued wire bytes (5-byte frame header included). Default 1 MiB. */
  maxBytes?: number;
  /**
   * Once the oldest queued message has waited this long, further sends are refused (the client has
   * been offline that long); queued messages are still written after the next login. Default 1 h.
   */
  maxAgeMs?: number;
}

/** What a client handler receives besides the message. */
export interface ClientContext {
  readonly type: number;
  /** Sends a message on the current connection. */
  send<T>(def: MessageDef<T>, message: T): Promise<void>;
  /**
   * Sends a reply (the registration's `reply` message) now, e.g. progress acks of a command; with an
   * `idempotencyKey` it is also recorded, so a redelivered command is answered from the record.
   */
  reply(message: unknown): Promise<void>;
}

/** Options of {@link PaynetClient}. Validated in the constructor; mistakes throw `InvalidOptionsError`. */
/** One server a client may connect to. */
export interface ServerAddress {
  /** Host name or IP address. */
  readonly host: string;
  /** Port, 1..65535. */
  readonly port: number;
}

export interface ClientOptions extends FrameOptions {
  /** Server host name or address (or give `addresses`). */
  host?: string;
  /** Server port, 1..65535 (with `host`). */
  port?: number;
  /**
   * Several servers of one service (the nodes of a cluster, or a primary and its standby), instead
   * of `host` and `port`: the client connects to the first and moves on to the next, round the
   * list, after each failed connection attempt or lost connection. Tickets for TLS resumption are
   * kept per address.
   */
  addresses?: readonly ServerAddress[];
  /** CA, optional client certificate (mTLS), servername, minimum TLS version. */
  tls: ClientTlsOptions;
  /** Inbound (downlink) messages and their handlers. */
  registry: Registry<ClientContext>;
  /** Register/login requests run after every (re)connect; without it the client is online once TLS is up. */
  login?: LoginFlow;
  /** Heartbeat and dead-peer detection. Default: none. */
  heartbeat?: HeartbeatOptions<unknown>;
  /** Backoff between connection attempts. Defaults: 1 s, ×2, cap 64 s, full jitter, first reconnect after a drop spread over 5 s. */
  reconnect?: ReconnectOptions;
  /** TCP + TLS. Default 15 000 ms. */
  connectTimeoutMs?: number;
  /** Off by default: sending while offline rejects with `NotConnectedError`. */
  offlineQueue?: OfflineQueueOptions;
  /** The protocol's error message: sent to the server for unknown Types, bad payloads and failed handlers. */
  errorMessage?: ErrorMessageSpec<unknown>;
  /**
   * Device-side record of executed commands (see `RegistrationOptions.idempotencyKey`). Use a
   * `FileIdempotencyStore` on a device: the default, in memory (bounded, 24 h TTL), forgets on
   * restart, so a command redelivered after a restart runs again (a warning says so once).
   */
  idempotencyStore?: IdempotencyStore;
  /** Where the client logs. Default: silent. */
  logger?: Logger;
  /** Aborting stops the client. */
  signal?: AbortSignal;
}

/** Events of {@link PaynetClient}. A throwing listener is logged and never breaks the connection loop. */
export interface ClientEvents {
  /** A connection attempt starts (`attempt` counts from 1 since the last successful login). */
  connecting: [info: { attempt: number; host: string; port: number }];
  /** TLS up (before login); `resumed` tells whether a cached session ticket was used. */
  connected: [info: { resumed: boolean }];
  /** Login accepted: sends go out directly, the heartbeat runs, the offline queue was flushed. */
  online: [info: { resumed: boolean }];
  /**
   * The connection of an online client ended; `reason` says why (e.g. `HEARTBEAT_TIMEOUT`, or
   * `SESSION_REPLACED` when the server said a newer login of this device id took the session over).
   */
  offline: [reason: PaynetError];
  /** Waiting `delayMs` (jittered backoff) before attempt number `attempt`. */
  reconnecting: [info: { attempt: number; delayMs: number }];
  /** The server refused the register or login request (`LoginRefusedError` with its code). */
  loginRefused: [error: PaynetError];
  /**
   * A redelivered command was found claimed but unfinished in the idempotency store: the process
   * died while executing it. It is not executed again; it was answered with the protocol's failure
   * reply (or the error message) carrying `reason`. Reconcile it by hand (did the money move?).
   */
  interrupted: [info: InterruptedCommand];
  /** Any failure; without a listener it goes to the logger instead of throwing. */
  error: [error: PaynetError];
}

/** What the `interrupted` event tells. */
export interface InterruptedCommand {
  /** Wire Type and message name of the command. */
  readonly type: number;
  readonly messageName: string;
  /** Its correlation value (e.g. the order id). */
  readonly key: string;
  readonly reason: string;
}

/** Counters of a client since construction, for metrics exporters. */
export interface ClientStats {
  /** TLS connections established. */
  connects: number;
  /** Backoff waits before a new attempt. */
  reconnects: number;
  /** Handshakes by outcome: full, resumed from a cached ticket, failed. */
  handshakes: { full: number; resumed: number; failed: number };
  /** Inbound frames and wire bytes per Type, keyed `0x83 paybox.Pong`. */
  framesIn: Record<string, { frames: number; bytes: number }>;
  /** Outbound frames and wire bytes per Type. */
  framesOut: Record<string, { frames: number; bytes: number }>;
  /** Current depth of the offline queue. */
  offlineQueue: { messages: number; bytes: number };
  /**
   * Heartbeats sent, and their round trips (heartbeat → reply) when `heartbeat.reply` is set:
   * the last one in ms and their distribution.
   */
  heartbeat: { sent: number; lastRttMs: number | undefined; rtt: HistogramSnapshot };
}
