/** Validation and defaults of {@link ServerOptions}: every problem is an `InvalidOptionsError` naming the option. */

import { DEFAULT_MAX_PENDING_DELIVERIES } from "../delivery/pending.js";
import { InvalidOptionsError } from "../errors.js";
import { DEFAULT_MAX_FRAME } from "../frame/options.js";
import { type Logger, silentLogger } from "../logger.js";
import type { BadFrameOptions, PreLoginOptions, ServerOptions } from "./types.js";

/** Default read timeout: a little more than one 60 s heartbeat interval. */
export const DEFAULT_READ_TIMEOUT_MS = 70_000;
/** Default time a TLS handshake (and the `verifyPeer` admission) may take. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Default bound of concurrent connections; beyond, new ones are dropped (`MaxConnectionsError`). */
export const DEFAULT_MAX_CONNECTIONS = 100_000;
/**
 * Default listen backlog: connections the kernel holds until the server accepts them. A fleet
 * reconnecting after a restart arrives in thousands; Node's own default (511) drops the excess.
 * Linux caps it at `net.core.somaxconn` (4096 on current kernels).
 */
export const DEFAULT_BACKLOG = 4096;
/** Default time `stop()` lets in-flight handlers finish before closing sessions. */
export const DEFAULT_STOP_GRACE_MS = 5_000;

/** Default largest Len accepted before login. */
export const DEFAULT_PRE_LOGIN_MAX_FRAME = 4_096;
/** Default time a connection has to log in after its handshake. */
export const DEFAULT_LOGIN_DEADLINE_MS = 15_000;
/** Default bound of frames per second before login (the login flow needs a handful). */
export const DEFAULT_PRE_LOGIN_MAX_FRAMES_PER_SECOND = 10;
/** Default window of the bad-frame rate limit: one log line, error event and error message per window. */
export const DEFAULT_BAD_FRAME_WINDOW_MS = 60_000;
/** Default number of bad frames within one window that close the connection. */
export const DEFAULT_BAD_FRAMES_PER_WINDOW = 10;

/** Options with their defaults applied. */
export interface ResolvedServerOptions extends ServerOptions {
  host: string;
  maxFrame: number;
  port: number;
  onUnknownType: "reply-error" | "ignore" | "close";
  reportHandlerErrors: boolean;
  readTimeoutMs: number;
  handshakeTimeoutMs: number;
  maxConnections: number;
  backlog: number;
  stopGraceMs: number;
  maxPendingDeliveries: number;
  logger: Logger;
  preLogin: Required<PreLoginOptions>;
  badFrames: Required<BadFrameOptions>;
}

/** Checks every option and fills in defaults. TLS options are checked by the TLS context. */
export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  if (typeof options !== "object" || options === null) {
    throw new InvalidOptionsError("options", "expected an object with at least tls and registry");
  }
  const o = options;
  check("host", o.host, (v) => typeof v === "string" && v !== "", "a non-empty string");
  check("port", o.port, (v) => isInteger(v) && v >= 0 && v <= 65_535, "an integer 0..65535");
  check(
    "registry",
    o.registry,
    (v) => typeof v === "object" && v !== null && typeof v.get === "function",
    "a Registry",
    true,
  );
  check("tls", o.tls, (v) => typeof v === "object" && v !== null, "an object with cert and key", true);
  check(
    "errorMessage",
    o.errorMessage,
    (v) =>
      typeof v === "object" &&
      v !== null &&
      typeof v.def?.codec?.encode === "function" &&
      typeof v.build === "function",
    "{ def: MessageDef, build(error) }",
  );
  check(
    "onUnknownType",
    o.onUnknownType,
    (v) => v === "reply-error" || v === "ignore" || v === "close",
    `"reply-error", "ignore" or "close"`,
  );
  check("reportHandlerErrors", o.reportHandlerErrors, (v) => typeof v === "boolean", "a boolean");
  for (const name of ["readTimeoutMs", "handshakeTimeoutMs", "stopGraceMs"] as const) {
    check(name, o[name], (v) => isInteger(v) && v >= 0, "a non-negative integer");
  }
  for (const name of ["maxConnections", "backlog", "maxPendingDeliveries", "maxFrame"] as const) {
    check(name, o[name], (v) => isInteger(v) && v >= 1, "a positive integer");
  }
  check(
    "lengthMode",
    o.lengthMode,
    (v) => v === "type+payload" || v === "payload",
    `"type+payload" or "payload"`,
  );
  check("outboundQueue", o.outboundQueue, (v) => typeof v === "object" && v !== null, "an object");
  check(
    "outboundQueue.maxFrames",
    o.outboundQueue?.maxFrames,
    (v) => isInteger(v) && v >= 1,
    "a positive integer",
  );
  check(
    "outboundQueue.maxBytes",
    o.outboundQueue?.maxBytes,
    (v) => isInteger(v) && v >= 1,
    "a positive integer",
  );
  check(
    "maxFrame",
    o.maxFrame,
    (v) => v <= 0xffff_ffff,
    `at most ${0xffff_ffff} (default ${DEFAULT_MAX_FRAME})`,
  );
  check(
    "logger",
    o.logger,
    (v) => ["debug", "info", "warn", "error"].every((m) => typeof (v as never)[m] === "function"),
    "a Logger (debug/info/warn/error)",
  );
  check(
    "directory",
    o.directory,
    (v) => ["bind", "unbind", "lookup", "size"].every((m) => typeof (v as never)[m] === "function"),
    "a SessionDirectory",
  );
  check(
    "deliveryStore",
    o.deliveryStore,
    (v) =>
      ["add", "remove", "forDevice", "expire", "size", "oldestCreatedAt"].every(
        (m) => typeof (v as never)[m] === "function",
      ),
    "a PendingDeliveryStore",
  );
  check("authorizeLogin", o.authorizeLogin, (v) => typeof v === "function", "a function");
  check(
    "registeredDevices",
    o.registeredDevices,
    (v) => typeof v.deviceIdOf === "function" && ["undefined", "function"].includes(typeof v.remember),
    "RegisteredDevices (deviceIdOf(serial), optional remember(serial, deviceId))",
  );
  check(
    "cluster",
    o.cluster,
    (v) =>
      ["start", "stop", "send", "request", "stream"].every((m) => typeof (v as never)[m] === "function") &&
      typeof v.directory === "object" &&
      typeof v.deliveries === "object",
    "a ServerCluster (e.g. redisCluster() of @paynet/cluster)",
  );
  if (o.cluster !== undefined && (o.directory !== undefined || o.deliveryStore !== undefined)) {
    throw new InvalidOptionsError(
      o.directory !== undefined ? "directory" : "deliveryStore",
      "the cluster provides presence and deliveries; give either cluster or directory/deliveryStore",
    );
  }
  check("signal", o.signal, (v) => v instanceof AbortSignal, "an AbortSignal");
  const maxFrame = o.maxFrame ?? DEFAULT_MAX_FRAME;
  return {
    ...o,
    host: o.host ?? "127.0.0.1",
    maxFrame,
    port: o.port ?? 0,
    onUnknownType: o.onUnknownType ?? "reply-error",
    reportHandlerErrors: o.reportHandlerErrors ?? true,
    readTimeoutMs: o.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS,
    handshakeTimeoutMs: o.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    maxConnections: o.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    backlog: o.backlog ?? DEFAULT_BACKLOG,
    stopGraceMs: o.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
    maxPendingDeliveries: o.maxPendingDeliveries ?? DEFAULT_MAX_PENDING_DELIVERIES,
    logger: o.logger ?? silentLogger,
    preLogin: resolvePreLogin(o.preLogin, maxFrame),
    badFrames: resolveBadFrames(o.badFrames),
  };
}

function resolvePreLogin(options: PreLoginOptions | undefined, maxFrame: number): Required<PreLoginOptions> {
  check("preLogin", options, (v) => typeof v === "object" && v !== null, "an object");
  const o = options ?? {};
  check(
    "preLogin.maxFrame",
    o.maxFrame,
    (v) => isInteger(v) && v >= 1 && v <= maxFrame,
    `an integer 1..${maxFrame} (maxFrame)`,
  );
  check(
    "preLogin.deadlineMs",
    o.deadlineMs,
    (v) => isInteger(v) && v >= 0,
    "a non-negative integer (0: off)",
  );
  check(
    "preLogin.maxFramesPerSecond",
    o.maxFramesPerSecond,
    (v) => isInteger(v) && v >= 1,
    "a positive integer",
  );
  return {
    maxFrame: o.maxFrame ?? Math.min(DEFAULT_PRE_LOGIN_MAX_FRAME, maxFrame),
    deadlineMs: o.deadlineMs ?? DEFAULT_LOGIN_DEADLINE_MS,
    maxFramesPerSecond: o.maxFramesPerSecond ?? DEFAULT_PRE_LOGIN_MAX_FRAMES_PER_SECOND,
  };
}

function resolveBadFrames(options: BadFrameOptions | undefined): Required<BadFrameOptions> {
  check("badFrames", options, (v) => typeof v === "object" && v !== null, "an object");
  const o = options ?? {};
  check("badFrames.windowMs", o.windowMs, (v) => isInteger(v) && v >= 1, "a positive integer");
  check("badFrames.maxPerWindow", o.maxPerWindow, (v) => isInteger(v) && v >= 1, "a positive integer");
  return {
    windowMs: o.windowMs ?? DEFAULT_BAD_FRAME_WINDOW_MS,
    maxPerWindow: o.maxPerWindow ?? DEFAULT_BAD_FRAMES_PER_WINDOW,
  };
}

function isInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value);
}

/** Throws unless `value` is undefined (and optional) or passes `valid`. */
function check<T>(
  option: string,
  value: T | undefined,
  valid: (value: T) => boolean,
  expected: string,
  required = false,
): void {
  if (value === undefined) {
    if (required) throw new InvalidOptionsError(option, `required, expected ${expected}`);
    return;
  }
  if (!valid(value)) throw new InvalidOptionsError(option, `expected ${expected}, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  const kind = typeof value;
  return /^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`;
}
