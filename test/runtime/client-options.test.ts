import { describe, expect, it } from "vitest";
import { PaynetClient } from "../../runtime/src/client/client.js";
import type { ClientOptions } from "../../runtime/src/client/types.js";
import { InvalidOptionsError } from "../../runtime/src/errors.js";
import { LATENCY_BUCKETS_SECONDS } from "../../runtime/src/stats.js";
import { clientRegistry } from "../helpers/client-harness.js";
import { loginSpec, PingDef } from "../helpers/messages.js";

const base = (): ClientOptions => ({ host: "127.0.0.1", port: 4000, tls: {}, registry: clientRegistry() });

function errorOf(options: Partial<ClientOptions> | Record<string, unknown>): InvalidOptionsError {
  try {
    new PaynetClient({ ...base(), ...options } as ClientOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    return error as InvalidOptionsError;
  }
  throw new Error("expected the constructor to throw");
}

describe("PaynetClient options", () => {
  it("accepts a minimal configuration without connecting", () => {
    const client = new PaynetClient(base());
    expect(client.online).toBe(false);
    expect(client.stats()).toEqual({
      connects: 0,
      reconnects: 0,
      handshakes: { full: 0, resumed: 0, failed: 0 },
      framesIn: {},
      framesOut: {},
      offlineQueue: { messages: 0, bytes: 0 },
      heartbeat: {
        sent: 0,
        lastRttMs: undefined,
        rtt: {
          bounds: LATENCY_BUCKETS_SECONDS,
          cumulative: LATENCY_BUCKETS_SECONDS.map(() => 0),
          sumSeconds: 0,
          count: 0,
        },
      },
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["empty host", { host: "" }, "invalid option host: expected a non-empty string, got "],
    ["port 0", { port: 0 }, "invalid option port: expected an integer 1..65535, got 0"],
    ["port too big", { port: 70_000 }, "invalid option port: expected an integer 1..65535, got 70000"],
    [
      "missing tls",
      { tls: undefined },
      "invalid option tls: expected an object with ca, cert, key, servername, minVersion",
    ],
    [
      "cert without key",
      { tls: { cert: "x" } },
      "invalid option tls.key: tls.cert and tls.key must be given together (client certificate for mTLS)",
    ],
    [
      "bad minVersion",
      { tls: { minVersion: "TLSv1.1" } },
      'invalid option tls.minVersion: expected "TLSv1.3" (the default) or "TLSv1.2" (opt-in for device stacks without TLS 1.3), got "TLSv1.1"',
    ],
    [
      "minVersion without the TLSv prefix",
      { tls: { minVersion: "1.2" } },
      'invalid option tls.minVersion: expected "TLSv1.3" (the default) or "TLSv1.2" (opt-in for device stacks without TLS 1.3), got "1.2"',
    ],
    [
      "missing registry",
      { registry: undefined },
      "invalid option registry: expected a Registry<ClientContext>",
    ],
    [
      "connect timeout",
      { connectTimeoutMs: 0 },
      "invalid option connectTimeoutMs: expected a finite number > 0, got 0",
    ],
    ["maxFrame", { maxFrame: 0 }, "invalid option maxFrame: expected an integer 1..4294967295, got 0"],
    [
      "lengthMode",
      { lengthMode: "bytes" },
      'invalid option lengthMode: expected "type+payload" or "payload", got bytes',
    ],
    [
      "reconnect factor",
      { reconnect: { factor: 0 } },
      "invalid option reconnect.factor: expected a finite number >= 1, got 0",
    ],
    [
      "reconnect jitter",
      { reconnect: { jitter: 2 } },
      "invalid option reconnect.jitter: expected a number between 0 and 1, got 2",
    ],
    [
      "heartbeat interval",
      { heartbeat: { def: PingDef, build: () => ({}), intervalMs: -5 } },
      "invalid option heartbeat.intervalMs: expected a finite number > 0, got -5",
    ],
    [
      "heartbeat build",
      { heartbeat: { def: PingDef } },
      "invalid option heartbeat.build: expected a function returning the heartbeat message",
    ],
    [
      "offline queue",
      { offlineQueue: { maxBytes: 0 } },
      "invalid option offlineQueue.maxBytes: expected a finite number > 0, got 0",
    ],
    ["login without step", { login: {} }, "invalid option login.login: expected { spec, build, accept? }"],
    [
      "login build",
      { login: { login: { spec: loginSpec } } },
      "invalid option login.login.build: expected a function building the request message",
    ],
    [
      "login timeout",
      { login: { login: { spec: loginSpec, build: () => ({}) }, timeoutMs: 0 } },
      "invalid option login.timeoutMs: expected a finite number > 0, got 0",
    ],
    [
      "idempotency store",
      { idempotencyStore: { get: () => undefined } },
      "invalid option idempotencyStore: expected an object with get(key) and set(key, record)",
    ],
    [
      "error message",
      { errorMessage: { def: PingDef } },
      "invalid option errorMessage.build: expected a function building the error message",
    ],
  ])("rejects %s", (_name, options, message) => {
    const error = errorOf(options);
    expect(error.code).toBe("INVALID_OPTIONS");
    expect(error.message).toBe(message);
  });
});
