import { InvalidOptionsError } from "../errors.js";
import { DEFAULT_MAX_FRAME } from "../frame/options.js";
import { type Logger, silentLogger } from "../logger.js";
import { positiveNumber } from "../option-checks.js";
import { validateMinVersion } from "../tls/tls-options.js";
import { type BackoffPolicy, resolveBackoffPolicy } from "./backoff.js";
import { type HeartbeatTimings, resolveHeartbeatTimings } from "./heartbeat.js";
import { validateLoginFlow } from "./login.js";
import { type OfflineQueueLimits, resolveOfflineQueueLimits } from "./offline-queue.js";
import type { ClientOptions, ServerAddress } from "./types.js";

/** Default time for TCP connect + TLS handshake. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;

/** Client options after validation, with every default filled in. */
export interface ResolvedClientOptions {
  /** The servers, in the order they are tried (`host`/`port`, or `addresses`). */
  readonly addresses: readonly ServerAddress[];
  readonly connectTimeoutMs: number;
  readonly backoff: BackoffPolicy;
  /** Source of the backoff jitter (`reconnect.random`, default `Math.random`). */
  readonly random: () => number;
  /** Largest accepted Len (default {@link DEFAULT_MAX_FRAME}). */
  readonly maxFrame: number;
  readonly heartbeat: HeartbeatTimings | undefined;
  readonly offlineQueue: OfflineQueueLimits | undefined;
  /** Timeout of each login step when there is a login flow (default 10 000 ms). */
  readonly loginTimeoutMs: number | undefined;
  readonly logger: Logger;
}

/**
 * Validates `options` (the constructor calls this, so mistakes surface at startup, not on the first
 * reconnect an hour later).
 * @throws InvalidOptionsError naming the option and what was expected.
 */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  if (options === null || typeof options !== "object") {
    throw new InvalidOptionsError("options", "expected an object");
  }
  const addresses = resolveAddresses(options);
  validateTls(options);
  if (options.registry === undefined || typeof options.registry.get !== "function") {
    throw new InvalidOptionsError("registry", "expected a Registry<ClientContext>");
  }
  const connectTimeoutMs = positiveNumber(
    "connectTimeoutMs",
    options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  );
  validateFraming(options);
  if (options.heartbeat !== undefined && options.heartbeat.def?.codec === undefined) {
    throw new InvalidOptionsError("heartbeat.def", "expected the MessageDef of the heartbeat message");
  }
  if (options.heartbeat?.reply !== undefined && !Number.isInteger(options.heartbeat.reply.type)) {
    throw new InvalidOptionsError("heartbeat.reply", "expected the MessageDef of the heartbeat's reply");
  }
  if (options.errorMessage !== undefined) {
    if (options.errorMessage.def?.codec === undefined) {
      throw new InvalidOptionsError("errorMessage.def", "expected the MessageDef of the error message");
    }
    if (typeof options.errorMessage.build !== "function") {
      throw new InvalidOptionsError("errorMessage.build", "expected a function building the error message");
    }
    const noticeOf = options.errorMessage.noticeOf;
    if (noticeOf !== undefined && typeof noticeOf !== "function") {
      throw new InvalidOptionsError(
        "errorMessage.noticeOf",
        "expected a function reading the close notice of an error message",
      );
    }
  }
  if (options.idempotencyStore !== undefined) {
    const store = options.idempotencyStore;
    if (typeof store.get !== "function" || typeof store.set !== "function") {
      throw new InvalidOptionsError(
        "idempotencyStore",
        "expected an object with get(key) and set(key, record)",
      );
    }
  }
  if (options.reconnect?.random !== undefined && typeof options.reconnect.random !== "function") {
    throw new InvalidOptionsError("reconnect.random", "expected a function returning a number in [0, 1)");
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new InvalidOptionsError("signal", "expected an AbortSignal");
  }
  return {
    addresses,
    connectTimeoutMs,
    backoff: resolveBackoffPolicy(options.reconnect),
    random: options.reconnect?.random ?? Math.random,
    maxFrame: options.maxFrame ?? DEFAULT_MAX_FRAME,
    heartbeat: options.heartbeat === undefined ? undefined : resolveHeartbeatTimings(options.heartbeat),
    offlineQueue:
      options.offlineQueue === undefined ? undefined : resolveOfflineQueueLimits(options.offlineQueue),
    loginTimeoutMs: options.login === undefined ? undefined : validateLoginFlow(options.login),
    logger: options.logger ?? silentLogger,
  };
}

function validateTls(options: ClientOptions): void {
  const tls = options.tls;
  if (tls === null || typeof tls !== "object") {
    throw new InvalidOptionsError("tls", "expected an object with ca, cert, key, servername, minVersion");
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new InvalidOptionsError(
      tls.cert === undefined ? "tls.cert" : "tls.key",
      "tls.cert and tls.key must be given together (client certificate for mTLS)",
    );
  }
  validateMinVersion("tls.minVersion", tls.minVersion);
  if (tls.servername !== undefined && (typeof tls.servername !== "string" || tls.servername.length === 0)) {
    throw new InvalidOptionsError("tls.servername", "expected a non-empty host name");
  }
}

function validateFraming(options: ClientOptions): void {
  if (options.maxFrame !== undefined) {
    if (!Number.isInteger(options.maxFrame) || options.maxFrame < 1 || options.maxFrame > 0xffff_ffff) {
      throw new InvalidOptionsError("maxFrame", `expected an integer 1..4294967295, got ${options.maxFrame}`);
    }
  }
  if (
    options.lengthMode !== undefined &&
    options.lengthMode !== "type+payload" &&
    options.lengthMode !== "payload"
  ) {
    throw new InvalidOptionsError(
      "lengthMode",
      `expected "type+payload" or "payload", got ${String(options.lengthMode)}`,
    );
  }
}

/** `host`/`port` or `addresses`, checked: the list of servers to try. */
function resolveAddresses(options: ClientOptions): ServerAddress[] {
  const checkOne = (name: string, host: unknown, port: unknown): ServerAddress => {
    if (typeof host !== "string" || host.length === 0) {
      throw new InvalidOptionsError(`${name}host`, `expected a non-empty string, got ${String(host)}`);
    }
    if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65_535) {
      throw new InvalidOptionsError(`${name}port`, `expected an integer 1..65535, got ${String(port)}`);
    }
    return { host, port: port as number };
  };
  if (options.addresses === undefined) return [checkOne("", options.host, options.port)];
  if (options.host !== undefined || options.port !== undefined) {
    throw new InvalidOptionsError("addresses", "give either host and port or addresses, not both");
  }
  if (!Array.isArray(options.addresses) || options.addresses.length === 0) {
    throw new InvalidOptionsError("addresses", "expected a non-empty array of { host, port }");
  }
  return options.addresses.map((address, i) => {
    if (address === null || typeof address !== "object") {
      throw new InvalidOptionsError(`addresses[${i}]`, "expected { host, port }");
    }
    return checkOne(`addresses[${i}].`, address.host, address.port);
  });
}
