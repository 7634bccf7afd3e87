/**
 * Starts a {@link PaynetServer} on 127.0.0.1:0 with the test PKI and message set, records its
 * events and log lines, and connects {@link RawDevice}s to it. Servers are stopped by `stopAll()`.
 */
import { afterEach } from "vitest";
import type { PaynetError } from "../../runtime/src/errors.js";
import type { Logger } from "../../runtime/src/logger.js";
import { Registry } from "../../runtime/src/registry.js";
import { PaynetServer } from "../../runtime/src/server/server.js";
import type { ServerContext, ServerOptions, Session } from "../../runtime/src/server/types.js";
import { testErrorMessage } from "./messages.js";

export { testErrorMessage };

import { makeTestPki, type TestPki } from "./pki.js";
import { RawDevice, type RawDeviceOptions } from "./raw-device.js";
import { scaled } from "./time.js";

/** Default safety net of the waits (before the time factor): far above what an idle machine needs. */
const WAIT_MS = 20_000;

/** One recorded log line. */
export interface LogLine {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly message: string;
  readonly fields: Record<string, unknown> | undefined;
}

/** A logger that keeps every line. */
export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine["level"]) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ level, message, fields });
    };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A started server and what it did. */
export interface TestServer {
  readonly server: PaynetServer;
  readonly port: number;
  readonly logger: Logger & { lines: LogLine[] };
  readonly errors: Array<{ error: PaynetError; session: Session | undefined }>;
  readonly offline: Array<{ session: Session; reason: PaynetError }>;
  /** Resolves with the first `error` event matching `code` (past or future). */
  nextError(code: string, timeoutMs?: number): Promise<PaynetError>;
  /** Resolves with the offline reason of `session` (past or future). */
  offlineReason(session: Session, timeoutMs?: number): Promise<PaynetError>;
  /** Resolves with the next `connection` session (or a past one not yet taken). */
  nextSession(timeoutMs?: number): Promise<Session>;
  /** Connects a raw device (default: trusting the test CA, no client certificate). */
  connect(options?: Partial<RawDeviceOptions>): Promise<RawDevice>;
}

const running = new Set<PaynetServer>();
const devices = new Set<RawDevice>();

/** Starts a server; `options` override the defaults (`registry` defaults to an empty one). */
export async function startTestServer(
  pki: TestPki,
  options: Partial<ServerOptions> = {},
): Promise<TestServer> {
  const logger = recordingLogger();
  const server = new PaynetServer({
    tls: { cert: pki.server.cert, key: pki.server.key },
    registry: new Registry<ServerContext>(),
    logger,
    ...options,
  });
  running.add(server);
  const errors: TestServer["errors"] = [];
  const offline: TestServer["offline"] = [];
  const sessions: Session[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  server.on("error", (error, session) => {
    errors.push({ error, session });
    notify();
  });
  server.on("offline", (session, reason) => {
    offline.push({ session, reason });
    notify();
  });
  server.on("connection", (session) => {
    sessions.push(session);
    notify();
  });
  // Timeouts are safety nets: stretched by the machine's time factor.
  const until = <T>(find: () => T | undefined, safetyMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const timeoutMs = scaled(safetyMs);
      const check = () => {
        const found = find();
        if (found === undefined) return;
        listeners.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`test server: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  const { port } = await server.start();
  return {
    server,
    port,
    logger,
    errors,
    offline,
    nextError: (code, timeoutMs = WAIT_MS) =>
      until(() => errors.find((e) => e.error.code === code)?.error, timeoutMs, `an error event ${code}`),
    offlineReason: (session, timeoutMs = WAIT_MS) =>
      until(() => offline.find((o) => o.session === session)?.reason, timeoutMs, `offline of ${session.id}`),
    nextSession: (timeoutMs = WAIT_MS) => until(() => sessions.shift(), timeoutMs, "a connection"),
    connect: async (deviceOptions = {}) => {
      const device = await RawDevice.connect({ port, ca: pki.ca.cert, ...deviceOptions });
      devices.add(device);
      return device;
    },
  };
}

/**
 * The common setup of a server test file; call once at its top level
 * (`const pki = await setUpServerTests();`). After each test, every raw device and server this
 * helper made is stopped ({@link stopAll}). Resolves with the (memoised) test PKI.
 */
export function setUpServerTests(): Promise<TestPki> {
  afterEach(stopAll);
  return makeTestPki();
}

/** Destroys every raw device and stops every server started by this helper. */
export async function stopAll(): Promise<void> {
  for (const device of devices) device.destroy();
  devices.clear();
  await Promise.all([...running].map((server) => server.stop({ graceMs: 0 })));
  running.clear();
}
