/**
 * Typed errors of the paynet runtime. Every failure the runtime reports is a {@link PaynetError}
 * with a stable {@link PaynetError.code}, so callers can branch on `err.code` instead of parsing
 * messages. Messages name the peer and, where there is one, the frame Type. The classes live by
 * family in `errors/`; this module lists them all.
 */
export {
  type ErrorContext,
  formatType,
  messageOf,
  PaynetError,
  type PaynetErrorCode,
} from "./errors/base.js";
export {
  ConnectionClosedError,
  ConnectTimeoutError,
  HandshakeFailedError,
  HandshakeTimeoutError,
  HeartbeatTimeoutError,
  MaxConnectionsError,
  PeerCertificateRejectedError,
  ReadTimeoutError,
} from "./errors/connection.js";
export {
  BoundExceededError,
  DecodeError,
  EncodeError,
  encodeFailure,
  FrameTooLargeError,
  HandlerError,
  ProtocolError,
  UnknownTypeError,
} from "./errors/frames.js";
export { JournalCorruptError, JournalFailedError, JournalLockedError } from "./errors/journal.js";
export {
  LoginDeadlineError,
  LoginNotAuthorizedError,
  LoginRefusedError,
  LoginRequiredError,
  LoginTimeoutError,
  RateLimitedError,
  SessionReplacedError,
  TooManyBadFramesError,
} from "./errors/login.js";
export {
  AbortedError,
  CorrelationMissingError,
  NotConnectedError,
  PendingLimitError,
  QueueFullError,
  RequestTimeoutError,
} from "./errors/requests.js";
export {
  ClusterUnavailableError,
  closeNoticeError,
  DuplicateRegistrationError,
  InvalidOptionsError,
  ServerDrainingError,
  ServerStoppedError,
} from "./errors/server.js";
