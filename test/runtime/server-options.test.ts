import { beforeAll, describe, expect, it } from "vitest";
import { Registry } from "../../runtime/src/registry.js";
import { PaynetServer } from "../../runtime/src/server/server.js";
import type { ServerContext, ServerOptions } from "../../runtime/src/server/types.js";
import { makeTestPki, type TestPki } from "../helpers/pki.js";

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

function build(overrides: Record<string, unknown>): () => PaynetServer {
  return () =>
    new PaynetServer({
      tls: { cert: pki.server.cert, key: pki.server.key },
      registry: new Registry<ServerContext>(),
      ...overrides,
    } as ServerOptions);
}

describe("server options validation", () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    [
      "readTimeoutMs",
      { readTimeoutMs: -5 },
      "invalid option readTimeoutMs: expected a non-negative integer, got -5",
    ],
    [
      "handshakeTimeoutMs",
      { handshakeTimeoutMs: 1.5 },
      "invalid option handshakeTimeoutMs: expected a non-negative integer, got 1.5",
    ],
    [
      "stopGraceMs",
      { stopGraceMs: "5s" },
      'invalid option stopGraceMs: expected a non-negative integer, got "5s"',
    ],
    [
      "maxConnections",
      { maxConnections: 0 },
      "invalid option maxConnections: expected a positive integer, got 0",
    ],
    ["backlog", { backlog: 0 }, "invalid option backlog: expected a positive integer, got 0"],
    [
      "maxPendingDeliveries",
      { maxPendingDeliveries: -1 },
      "invalid option maxPendingDeliveries: expected a positive integer, got -1",
    ],
    ["port", { port: 70_000 }, "invalid option port: expected an integer 0..65535, got 70000"],
    ["host", { host: "" }, 'invalid option host: expected a non-empty string, got ""'],
    [
      "onUnknownType",
      { onUnknownType: "drop" },
      'invalid option onUnknownType: expected "reply-error", "ignore" or "close", got "drop"',
    ],
    [
      "reportHandlerErrors",
      { reportHandlerErrors: 1 },
      "invalid option reportHandlerErrors: expected a boolean, got 1",
    ],
    [
      "lengthMode",
      { lengthMode: "len" },
      'invalid option lengthMode: expected "type+payload" or "payload", got "len"',
    ],
    ["maxFrame", { maxFrame: 0 }, "invalid option maxFrame: expected a positive integer, got 0"],
    [
      "outboundQueue.maxFrames",
      { outboundQueue: { maxFrames: 0 } },
      "invalid option outboundQueue.maxFrames: expected a positive integer, got 0",
    ],
    ["preLogin", { preLogin: 5 }, "invalid option preLogin: expected an object, got 5"],
    [
      "preLogin.maxFrame",
      { maxFrame: 2048, preLogin: { maxFrame: 4096 } },
      "invalid option preLogin.maxFrame: expected an integer 1..2048 (maxFrame), got 4096",
    ],
    [
      "preLogin.deadlineMs",
      { preLogin: { deadlineMs: -1 } },
      "invalid option preLogin.deadlineMs: expected a non-negative integer (0: off), got -1",
    ],
    [
      "preLogin.maxFramesPerSecond",
      { preLogin: { maxFramesPerSecond: 0 } },
      "invalid option preLogin.maxFramesPerSecond: expected a positive integer, got 0",
    ],
    [
      "badFrames.windowMs",
      { badFrames: { windowMs: 0.5 } },
      "invalid option badFrames.windowMs: expected a positive integer, got 0.5",
    ],
    [
      "badFrames.maxPerWindow",
      { badFrames: { maxPerWindow: "10" } },
      'invalid option badFrames.maxPerWindow: expected a positive integer, got "10"',
    ],
    ["registry", { registry: undefined }, "invalid option registry: required, expected a Registry"],
    [
      "errorMessage",
      { errorMessage: { def: {} } },
      "invalid option errorMessage: expected { def: MessageDef, build(error) }, got an object",
    ],
    [
      "logger",
      { logger: console.log },
      "invalid option logger: expected a Logger (debug/info/warn/error), got a function",
    ],
    ["signal", { signal: {} }, "invalid option signal: expected an AbortSignal, got an object"],
    ["tls", { tls: undefined }, "invalid option tls: required, expected an object with cert and key"],
    ["tls.key", { tls: { cert: "x" } }, "invalid option tls.key: required (PEM contents)"],
    [
      "tls.minVersion",
      { tls: { cert: "x", key: "y", minVersion: "TLSv1.1" } },
      'invalid option tls.minVersion: expected "TLSv1.3" (the default) or "TLSv1.2" (opt-in for device stacks without TLS 1.3), got "TLSv1.1"',
    ],
    [
      "tls.minVersion spelt as a number",
      { tls: { cert: "x", key: "y", minVersion: 1.2 } },
      'invalid option tls.minVersion: expected "TLSv1.3" (the default) or "TLSv1.2" (opt-in for device stacks without TLS 1.3), got 1.2',
    ],
    [
      "tls.staleCrl",
      { tls: { cert: "x", key: "y", staleCrl: "ignore" } },
      'invalid option tls.staleCrl: expected "warn" or "fail", got "ignore"',
    ],
    [
      "tls.ca without a certificate",
      { tls: { cert: "x", key: "y", ca: "not a certificate" } },
      "invalid option tls.ca: no '-----BEGIN CERTIFICATE-----' block found",
    ],
    [
      "tls.ticketKeys",
      { tls: { cert: "x", key: "y", ticketKeys: Buffer.alloc(32) } },
      "invalid option tls.ticketKeys: expected a Buffer of 48 bytes, got 32 bytes",
    ],
    [
      "tls.ticketLifetimeSec",
      { tls: { cert: "x", key: "y", ticketLifetimeSec: 0 } },
      "invalid option tls.ticketLifetimeSec: expected a positive integer, got 0",
    ],
    [
      "tls.ca",
      { tls: { cert: "x", key: "y", requireClientCert: true } },
      "invalid option tls.ca: required when requireClientCert is true",
    ],
    [
      "tls.crl",
      { tls: { cert: "x", key: "y", crl: "not a crl" } },
      "invalid option tls.crl: no '-----BEGIN X509 CRL-----' block found",
    ],
  ];

  for (const [name, overrides, message] of cases) {
    it(`rejects a bad ${name}`, () => {
      expect(build(overrides)).toThrow(
        expect.objectContaining({ code: "INVALID_OPTIONS", message: expect.stringContaining(message) }),
      );
    });
  }

  it("rejects PEM material OpenSSL cannot load", () => {
    expect(build({ tls: { cert: pki.server.cert, key: pki.device.key } })).toThrow(
      /invalid option tls\.cert\/key\/ca: .*key values mismatch/,
    );
  });

  it("rejects a CA bundle without a self-signed root, since no chain could ever verify", () => {
    const tls = { cert: pki.server.cert, key: pki.server.key, requireClientCert: true };
    expect(build({ tls: { ...tls, ca: pki.intermediateCa.cert } })).toThrow(
      "invalid option tls.ca: no self-signed root CA among its certificates: no chain could ever verify",
    );
    expect(build({ tls: { ...tls, ca: [pki.intermediateCa.cert, pki.rootCa.cert] } })).not.toThrow();
  });

  it("accepts a valid configuration", () => {
    expect(
      build({
        readTimeoutMs: 0,
        maxFrame: 1024,
        onUnknownType: "close",
        preLogin: { maxFrame: 1024, deadlineMs: 0, maxFramesPerSecond: 100 },
        badFrames: { windowMs: 1_000, maxPerWindow: 3 },
        tls: { cert: pki.server.cert, key: pki.server.key, ticketKeys: Buffer.alloc(48, 1) },
      }),
    ).not.toThrow();
  });

  it("rejects a bad graceMs in stop()", async () => {
    const server = build({})();
    await expect(server.stop({ graceMs: -1 })).rejects.toThrow(
      "invalid option graceMs: expected a non-negative integer, got -1",
    );
  });
});
