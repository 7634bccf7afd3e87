import type { MessageDef, RequestSpec } from "../codec.js";
import type { PaynetError } from "../errors.js";
import type { FrameOptions } from "../frame/options.js";
import type { Logger } from "../logger.js";
import type { IdempotencyStore } from "../delivery/types.js";
import type { Registry } from "../registry.js";
import type { ErrorMessageSpec } from "../server/types.js";

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

export interface HeartbeatOptions<T> {
  readonly def: MessageDef<T>;
  /** Builds each heartbeat (e.g. with the current timestamp). */
  readonly build: () => T;
  /** Default 60 000 ms. */
  readonly intervalMs?: number;
  /** Peer declared dead when nothing was received for this long. Default 2 × interval + 10 s. */
  readonly timeoutMs?: number;
}

export interface ReconnectOptions {
  /** Default 1 000 ms. */
  initialDelayMs?: number;
  /** Default 2. */
  factor?: number;
  /** Default 64 000 ms. */
  maxDelayMs?: number;
  /** Full jitter share 0..1 applied to every delay, the first one included. Default 0.5. */
  jitter?: number;
  /** Default unlimited. */
  maxAttempts?: number;
}

export interface OfflineQueueOptions {
  maxMessages?: number;
  maxBytes?: number;
  /** Messages older than this are dropped with an `error` event (never silently). */
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

export interface ClientOptions extends FrameOptions {
  host: string;
  port: number;
  tls: ClientTlsOptions;
  /** Inbound (downlink) messages and their handlers. */
  registry: Registry<ClientContext>;
  login?: LoginFlow;
  heartbeat?: HeartbeatOptions<unknown>;
  reconnect?: ReconnectOptions;
  /** TCP + TLS. Default 15 000 ms. */
  connectTimeoutMs?: number;
  /** Off by default: sending while offline rejects with `NotConnectedError`. */
  offlineQueue?: OfflineQueueOptions;
  errorMessage?: ErrorMessageSpec<unknown>;
  /** Device-side record of executed commands (see `RegistrationOptions.idempotencyKey`). Default in-memory, bounded, 24 h TTL. */
  idempotencyStore?: IdempotencyStore;
  logger?: Logger;
  /** Aborting stops the client. */
  signal?: AbortSignal;
}

export interface ClientEvents {
  connecting: [info: { attempt: number }];
  /** TLS up (before login). */
  connected: [info: { resumed: boolean }];
  online: [info: { resumed: boolean }];
  offline: [reason: PaynetError];
  reconnecting: [info: { attempt: number; delayMs: number }];
  loginRefused: [error: PaynetError];
  error: [error: PaynetError];
}

export interface ClientStats {
  connects: number;
  reconnects: number;
  handshakes: { full: number; resumed: number; failed: number };
  framesIn: Record<string, { frames: number; bytes: number }>;
  framesOut: Record<string, { frames: number; bytes: number }>;
  offlineQueue: { messages: number; bytes: number };
}
