/**
 * @packageDocumentation
 * `@paynet/runtime`: frames (`Len | Type | protobuf`) over TLS 1.3 / mTLS for payment devices and
 * their cloud service. Generated SDKs build on it; it knows nothing about any particular protocol.
 *
 * This entry point is what applications use: the two endpoints, their options, events and stats,
 * the message definitions and registry, the frame codec, the typed errors, the stores a server or a
 * device keeps its state in, and the documented defaults. Other entry points:
 * `@paynet/runtime/protobuf` (what generated codecs are built on), `@paynet/runtime/cluster` (what a
 * cluster plug-in is built on) and `@paynet/runtime/testing` (contract suites for stores).
 *
 * Every name is listed explicitly: a module's other exports are the runtime's own business. The
 * lists of exported names are checked by `test/runtime/api-report.test.ts` against
 * `runtime/api/*.txt`, so a change of this surface is always deliberate.
 */

export type { BackoffPolicy } from "./client/backoff.js";
// The documented defaults of the options above.
export { DEFAULT_BACKOFF } from "./client/backoff.js";
// The two endpoints.
export { PaynetClient } from "./client/client.js";
export { DEFAULT_HEARTBEAT_INTERVAL_MS, defaultHeartbeatTimeout } from "./client/heartbeat.js";
// The device client: options, login flow, events, stats.
export { DEFAULT_LOGIN_TIMEOUT_MS, loginStep } from "./client/login.js";
export { DEFAULT_OFFLINE_QUEUE } from "./client/offline-queue.js";
export { DEFAULT_CONNECT_TIMEOUT_MS } from "./client/options.js";
export type {
  ClientContext,
  ClientEvents,
  ClientOptions,
  ClientStats,
  ClientTlsOptions,
  HeartbeatOptions,
  InterruptedCommand,
  LoginFlow,
  LoginStep,
  LoginVerdict,
  OfflineQueueOptions,
  ReconnectOptions,
  ServerAddress,
} from "./client/types.js";
// Messages, their wire Types and handlers.
export type { DeliveryOptions, MessageCodec, MessageDef, RequestOptions, RequestSpec } from "./codec.js";
export {
  FileIdempotencyStore,
  type FileIdempotencyStoreOptions,
  type JournalRecovery,
} from "./delivery/file-store.js";
export type { CommandOutcome, RecordedReply } from "./delivery/idempotency.js";
export {
  DEFAULT_IDEMPOTENCY_MAX_ENTRIES,
  DEFAULT_IDEMPOTENCY_TTL_MS,
  MemoryIdempotencyStore,
  type MemoryIdempotencyStoreOptions,
} from "./delivery/idempotency.js";
// Where deliveries (server) and the record of executed commands (device) are kept.
export { MemoryPendingDeliveryStore } from "./delivery/memory-pending-store.js";
export { DEFAULT_DELIVERY_DEADLINE_MS, DEFAULT_MAX_PENDING_DELIVERIES } from "./delivery/pending.js";
export { DEFAULT_MAX_BUFFERED_REPLIES, DEFAULT_REQUEST_TIMEOUT_MS } from "./delivery/replies.js";
export type {
  DeliveryOutcomes,
  DeliveryStats,
  IdempotencyRecord,
  IdempotencyStore,
  PendingDelivery,
  PendingDeliveryStore,
} from "./delivery/types.js";
// Errors: every failure is a PaynetError with a stable code.
export {
  AbortedError,
  BoundExceededError,
  ClusterUnavailableError,
  ConnectionClosedError,
  ConnectTimeoutError,
  CorrelationMissingError,
  DecodeError,
  DuplicateRegistrationError,
  EncodeError,
  type ErrorContext,
  FrameTooLargeError,
  HandlerError,
  HandshakeFailedError,
  HandshakeTimeoutError,
  HeartbeatTimeoutError,
  InvalidOptionsError,
  JournalCorruptError,
  JournalFailedError,
  JournalLockedError,
  LoginDeadlineError,
  LoginNotAuthorizedError,
  LoginRefusedError,
  LoginRequiredError,
  LoginTimeoutError,
  MaxConnectionsError,
  NotConnectedError,
  PaynetError,
  type PaynetErrorCode,
  PeerCertificateRejectedError,
  PendingLimitError,
  ProtocolError,
  QueueFullError,
  RateLimitedError,
  ReadTimeoutError,
  RequestTimeoutError,
  ServerDrainingError,
  ServerStoppedError,
  SessionReplacedError,
  TooManyBadFramesError,
  UnknownTypeError,
} from "./errors.js";
// The frame codec, for tools and other transports.
export { FrameDecoder, type FrameDecoderOptions } from "./frame/decoder.js";
export { encodeFrame, FRAME_HEADER_SIZE, frameSize } from "./frame/encoder.js";
export type { FrameOptions, LengthMode } from "./frame/options.js";
export {
  DEFAULT_MAX_FRAME,
  DEFAULT_OUTBOUND_MAX_BYTES,
  DEFAULT_OUTBOUND_MAX_FRAMES,
} from "./frame/options.js";
// Logging.
export { type LogFields, type Logger, silentLogger } from "./logger.js";
export {
  type Handler,
  type LoginStepSpec,
  type Registration,
  type RegistrationOptions,
  Registry,
} from "./registry.js";
// Who may log in as which device (the certificate binding, authorizeLogin).
export {
  type AuthorizeLogin,
  certificateBinding,
  type LoginAttempt,
  type LoginDecision,
  MemoryRegisteredDevices,
  type RegisteredDevices,
  type RegisterStepKind,
} from "./server/authorize.js";
export type { ServerCluster } from "./server/cluster.js";
export { MemorySessionDirectory, type SessionDirectory } from "./server/directory.js";
// The server: options, sessions, events, stats.
export type { DrainOptions, DrainPhase, DrainReport } from "./server/drain.js";
export { DEFAULT_EVICT_PER_SECOND } from "./server/drain.js";
export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_READ_TIMEOUT_MS,
  DEFAULT_STOP_GRACE_MS,
} from "./server/options.js";
export { PaynetServer } from "./server/server.js";
export type {
  BadFrameOptions,
  BadFrameStats,
  ErrorMessageSpec,
  LoginRefusalStats,
  PeerIdentity,
  PreLoginOptions,
  PreLoginStats,
  ServerContext,
  ServerEvents,
  ServerOptions,
  ServerStats,
  ServerTlsOptions,
  Session,
  TlsStats,
  VerifyPeer,
  VerifyPeerInfo,
} from "./server/types.js";
// Counters shared by the server's and the client's stats.
export {
  type FrameCounter,
  type HandlerCounter,
  type HistogramSnapshot,
  LATENCY_BUCKETS_SECONDS,
  SYNC_TIMING_INTERVAL,
  type TrafficSnapshot,
} from "./stats.js";
export { DEFAULT_TICKET_LIFETIME_SEC } from "./tls/server-context.js";
export {
  CERTIFICATE_REJECTIONS,
  type CertificateRejection,
  type StaleCrlPolicy,
} from "./tls/trust-policy.js";
