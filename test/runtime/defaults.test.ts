/**
 * The documented defaults, asserted twice: as the exported `DEFAULT_*` constants of the public API,
 * and as what the option resolvers actually apply when an option is left out.
 */
import {
  DEFAULT_BACKOFF,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_DELIVERY_DEADLINE_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_LOGIN_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_FRAME,
  DEFAULT_MAX_PENDING_DELIVERIES,
  DEFAULT_OFFLINE_QUEUE,
  DEFAULT_READ_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_STOP_GRACE_MS,
  DEFAULT_TICKET_LIFETIME_SEC,
  silentLogger,
} from "@paynet/runtime";
import { beforeAll, describe, expect, it } from "vitest";
import { resolveClientOptions } from "../../runtime/src/client/options.js";
// The resolvers below come from the sources, so their Registry must too: under tsc, `@paynet/runtime`
// is the built declarations, whose Registry is a different class with the same private fields.
import { Registry } from "../../runtime/src/registry.js";
import { resolveServerOptions } from "../../runtime/src/server/options.js";
import { ServerTlsContext } from "../../runtime/src/tls/server-context.js";
import { loginSpec, PingDef } from "../helpers/messages.js";
import { makeTestPki, type TestPki } from "../helpers/pki.js";

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

describe("exported defaults", () => {
  it("match the protocol and the issue", () => {
    expect(DEFAULT_MAX_FRAME).toBe(65_536);
    expect(DEFAULT_READ_TIMEOUT_MS).toBe(70_000);
    expect(DEFAULT_TICKET_LIFETIME_SEC).toBe(86_400);
    expect(DEFAULT_HANDSHAKE_TIMEOUT_MS).toBe(10_000);
    expect(DEFAULT_STOP_GRACE_MS).toBe(5_000);
    expect(DEFAULT_MAX_CONNECTIONS).toBe(100_000);
    expect(DEFAULT_BACKOFF).toMatchObject({ initialDelayMs: 1_000, factor: 2, maxDelayMs: 64_000 });
    expect(DEFAULT_BACKOFF.jitter).toBeGreaterThan(0);
    expect(DEFAULT_BACKOFF.spreadMs).toBe(5_000);
    expect(DEFAULT_HEARTBEAT_INTERVAL_MS).toBe(60_000);
    expect(DEFAULT_CONNECT_TIMEOUT_MS).toBe(15_000);
    expect(DEFAULT_LOGIN_TIMEOUT_MS).toBe(10_000);
    expect(DEFAULT_REQUEST_TIMEOUT_MS).toBe(30_000);
    expect(DEFAULT_DELIVERY_DEADLINE_MS).toBe(300_000);
    expect(DEFAULT_MAX_PENDING_DELIVERIES).toBe(10_000);
    expect(DEFAULT_OFFLINE_QUEUE).toEqual({ maxMessages: 1_000, maxBytes: 1_048_576, maxAgeMs: 3_600_000 });
  });
});

describe("server defaults as applied", () => {
  it("fills every left-out option with its default", () => {
    const resolved = resolveServerOptions({ tls: { cert: "c", key: "k" }, registry: new Registry() });
    expect(resolved).toMatchObject({
      host: "127.0.0.1",
      port: 0,
      maxFrame: DEFAULT_MAX_FRAME,
      readTimeoutMs: DEFAULT_READ_TIMEOUT_MS,
      handshakeTimeoutMs: DEFAULT_HANDSHAKE_TIMEOUT_MS,
      maxConnections: DEFAULT_MAX_CONNECTIONS,
      stopGraceMs: DEFAULT_STOP_GRACE_MS,
      maxPendingDeliveries: DEFAULT_MAX_PENDING_DELIVERIES,
      onUnknownType: "reply-error",
      reportHandlerErrors: true,
    });
    expect(resolved.maxFrame).toBe(65_536);
    expect(resolved.readTimeoutMs).toBe(70_000);
  });

  it("gives the TLS server a one-day ticket lifetime, TLS 1.3 and the handshake timeout", () => {
    const tls = new ServerTlsContext({ cert: pki.server.cert, key: pki.server.key }, silentLogger);
    const options = tls.serverOptions(DEFAULT_HANDSHAKE_TIMEOUT_MS);
    expect(options.sessionTimeout).toBe(86_400);
    expect(options.handshakeTimeout).toBe(10_000);
    expect(options.minVersion).toBe("TLSv1.3");
    expect(options.ticketKeys).toHaveLength(48);
  });
});

describe("client defaults as applied", () => {
  it("spreads the first reconnect after a drop over 5 x the initial delay unless spreadMs is set", () => {
    const base = { host: "127.0.0.1", port: 1, tls: {}, registry: new Registry() };
    expect(resolveClientOptions({ ...base, reconnect: { initialDelayMs: 20 } }).backoff.spreadMs).toBe(100);
    expect(resolveClientOptions({ ...base, reconnect: { spreadMs: 0 } }).backoff.spreadMs).toBe(0);
    expect(() => resolveClientOptions({ ...base, reconnect: { spreadMs: -1 } })).toThrow(
      /reconnect\.spreadMs/,
    );
  });

  it("fills backoff, heartbeat, timeouts and frame size with their defaults", () => {
    const resolved = resolveClientOptions({
      host: "127.0.0.1",
      port: 1,
      tls: {},
      registry: new Registry(),
      heartbeat: { def: PingDef, build: () => ({}) },
      login: { login: { spec: loginSpec, build: () => ({ deviceId: "d" }) } },
      offlineQueue: {},
    });
    expect(resolved.backoff).toEqual({
      initialDelayMs: 1_000,
      factor: 2,
      maxDelayMs: 64_000,
      jitter: DEFAULT_BACKOFF.jitter,
      maxAttempts: Number.POSITIVE_INFINITY,
      spreadMs: 5_000,
      stableAfterMs: 30_000,
    });
    expect(resolved.heartbeat).toEqual({ intervalMs: 60_000, timeoutMs: 130_000 });
    expect(resolved.connectTimeoutMs).toBe(DEFAULT_CONNECT_TIMEOUT_MS);
    expect(resolved.loginTimeoutMs).toBe(DEFAULT_LOGIN_TIMEOUT_MS);
    expect(resolved.maxFrame).toBe(65_536);
    expect(resolved.offlineQueue).toEqual(DEFAULT_OFFLINE_QUEUE);
    expect(resolved.random).toBe(Math.random);
  });

  it("leaves the heartbeat and the offline queue off unless configured", () => {
    const resolved = resolveClientOptions({ host: "h", port: 1, tls: {}, registry: new Registry() });
    expect(resolved.heartbeat).toBeUndefined();
    expect(resolved.offlineQueue).toBeUndefined();
  });
});
