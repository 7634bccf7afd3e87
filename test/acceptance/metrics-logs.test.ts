/**
 * Operating paynetd as a fleet operator would: its `/metrics` scraped while a real paynetcli device
 * is online and parsed with a Prometheus text-format parser, `/livez` and `/readyz`, and its NDJSON
 * logs (the default off a terminal) read line by line as a log pipeline would.
 */
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exampleEnv } from "../../examples/demo/processes.js";
import { scrape } from "../helpers/prometheus.js";
import { Harness, LINE_TIMEOUT_MS, literal, paynetcliArgs } from "./support/harness.js";

const harness = new Harness();
let certs: string;
/** The serial the device certificate names (under mTLS a device may only act as its certificate's CN). */
let sn: string;

beforeAll(async () => {
  certs = await harness.certs({ devices: ["SN-JSON", "SN-DEBUG"] });
  const device = new X509Certificate(await readFile(join(certs, "device.crt")));
  sn = /CN=([^\n,]+)/.exec(device.subject)?.[1] ?? "device-001";
});

afterAll(() => harness.cleanup());

/** The example environment without the pretty format: what a service manager gives paynetd. */
function jsonEnv(): NodeJS.ProcessEnv {
  const { PAYNETD_LOG_FORMAT: _d, PAYNETCLI_LOG_FORMAT: _c, ...env } = exampleEnv();
  return env;
}

describe("paynetd /metrics, /livez, /readyz", () => {
  it("exports the fleet's connections, handshakes, frames, handler latency and certificate expiry", async () => {
    const server = await harness.paynetd([
      "--listen",
      "127.0.0.1:0",
      "--certs",
      certs,
      "--mtls",
      "--command-coins",
      "0",
      "--metrics",
      "127.0.0.1:0",
    ]);
    const opsUrl = server.opsUrl!;
    const device = harness.paynetcli(
      paynetcliArgs({
        port: server.port,
        certs,
        sn,
        extra: ["--heartbeat", "0.3", "--metrics", "127.0.0.1:0"],
      }),
    );
    await device.waitForLine(
      new RegExp(`online \\(full TLS handshake\\) as dev-${literal(sn)}`),
      LINE_TIMEOUT_MS,
    );
    // Two heartbeats answered: the handler latency histogram has Ping calls.
    const ping = new RegExp(`<- Ping dev-${literal(sn)}`);
    await server.process.waitForLine(ping, LINE_TIMEOUT_MS);
    await server.process.waitForLine(ping, LINE_TIMEOUT_MS, server.process.lines.length);

    const metrics = await scrape(`${opsUrl}/metrics`);
    expect(metrics.value("paynet_connections", { state: "online" })).toBe(1);
    expect(metrics.value("paynet_tls_handshakes_total", { result: "full" })).toBeGreaterThanOrEqual(1);
    expect(
      metrics.value("paynet_frames_received_total", { type: "0x01", message: "paybox.RegisterReq" }),
    ).toBe(1);
    expect(metrics.value("paynet_frames_received_total", { type: "0x02", message: "paybox.LoginReq" })).toBe(
      1,
    );
    expect(metrics.value("paynet_frames_received_total", { message: "paybox.Ping" })).toBeGreaterThanOrEqual(
      2,
    );
    expect(metrics.value("paynet_received_bytes_total")).toBeGreaterThan(0);
    const [latency] = metrics.samples("paynet_handler_duration_seconds", { message: "paybox.Ping" });
    expect(Number(latency?.count)).toBeGreaterThanOrEqual(1);
    expect(metrics.value("paynet_draining")).toBe(0);
    // The server certificate and the CA, as Unix seconds in the future.
    const now = Date.now() / 1000;
    expect(metrics.value("paynet_cert_expiry_timestamp_seconds", { cert: "server" })).toBeGreaterThan(now);
    expect(metrics.value("paynet_cert_expiry_timestamp_seconds", { cert: "ca" })).toBeGreaterThan(now);
    // The Node process defaults.
    expect(metrics.families.has("process_resident_memory_bytes")).toBe(true);
    expect(metrics.families.has("nodejs_eventloop_lag_seconds")).toBe(true);

    expect((await fetch(`${opsUrl}/livez`)).status).toBe(200);
    expect((await fetch(`${opsUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${opsUrl}/nothing`)).status).toBe(404);

    // The device's own metrics: online, and the round trips of its answered heartbeats.
    const deviceUrl = (await device.waitForLine(/metrics listening (http:\/\/\S+)\/metrics/, LINE_TIMEOUT_MS))
      .match[1];
    const deviceMetrics = await scrape(`${deviceUrl}/metrics`);
    expect(deviceMetrics.value("paynet_client_online")).toBe(1);
    expect(deviceMetrics.value("paynet_client_connects_total")).toBe(1);
    expect(deviceMetrics.value("paynet_client_reconnects_total")).toBe(0);
    const [rtt] = deviceMetrics.samples("paynet_heartbeat_rtt_seconds");
    expect(Number(rtt?.count)).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${deviceUrl}/readyz`)).status).toBe(200);

    await device.stop("SIGINT");
    await server.process.waitForLine(new RegExp(`offline dev-${literal(sn)}`), LINE_TIMEOUT_MS);
    const after = await scrape(`${opsUrl}/metrics`);
    expect(after.value("paynet_connections", { state: "online" })).toBe(0);
    expect(after.value("paynet_disconnects_total", { reason: "CONNECTION_CLOSED" })).toBe(1);
  });
});

describe("paynetd and paynetcli logs", () => {
  it("write NDJSON off a terminal, with stable event names and heartbeats at debug", async () => {
    const env = { ...jsonEnv(), PAYNETD_LOG_LEVEL: "info", PAYNETCLI_LOG_LEVEL: "info" };
    const server = await harness.paynetd(
      ["--listen", "127.0.0.1:0", "--certs", certs, "--command-coins", "1"],
      "paynetd-json",
      env,
    );
    const device = harness.paynetcli(
      paynetcliArgs({ port: server.port, certs, sn: "SN-JSON", coinMs: 10, extra: ["--heartbeat", "0.2"] }),
      "paynetcli-json",
      env,
    );
    const event = (name: string) => new RegExp(`"event":"${literal(name)}"`);
    await server.process.waitForLine(event("online"), LINE_TIMEOUT_MS);
    await server.process.waitForLine(/"event":"delivery".*"outcome":"DONE"/, LINE_TIMEOUT_MS);
    await device.waitForLine(event("online"), LINE_TIMEOUT_MS);
    await device.stop("SIGINT");
    await server.process.waitForLine(event("offline"), LINE_TIMEOUT_MS);

    const parsed = server.process.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const line of parsed) {
      expect(line).toMatchObject({ name: "paynetd", level: expect.stringMatching(/^(info|warn|error)$/) });
      expect(typeof line.time).toBe("string");
      expect(typeof line.msg).toBe("string");
    }
    const byEvent = (name: string) => parsed.filter((line) => line.event === name);
    expect(byEvent("listening")).toEqual([
      expect.objectContaining({
        msg: `listening 127.0.0.1:${server.port}`,
        port: server.port,
        host: "127.0.0.1",
      }),
    ]);
    expect(byEvent("connection")[0]).toMatchObject({ conn: "c1", resumed: false });
    expect(byEvent("online")[0]).toMatchObject({ deviceId: "dev-SN-JSON" });
    expect(byEvent("offline")[0]).toMatchObject({ deviceId: "dev-SN-JSON", reason: "CONNECTION_CLOSED" });
    expect(byEvent("delivery").map((line) => line.phase ?? line.outcome)).toEqual(["sent", "DONE"]);
    // Heartbeats are debug lines: none at info.
    expect(parsed.filter((line) => /Ping|Pong/.test(String(line.msg)))).toEqual([]);
    const deviceLines = device.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(deviceLines.filter((line) => /Ping|Pong/.test(String(line.msg)))).toEqual([]);
    expect(deviceLines.find((line) => line.event === "online")).toMatchObject({
      name: "paynetcli",
      deviceId: "dev-SN-JSON",
    });
  });

  it("name the reload (SIGHUP) and the drain (SIGTERM) with their events and figures in NDJSON", async () => {
    const env = { ...jsonEnv(), PAYNETD_LOG_LEVEL: "info" };
    const server = await harness.paynetd(
      ["--listen", "127.0.0.1:0", "--certs", certs, "--command-coins", "0", "--drain-grace", "100ms"],
      "paynetd-json-signals",
      env,
    );
    const device = harness.paynetcli(
      paynetcliArgs({ port: server.port, certs, sn: "SN-JSON" }),
      "paynetcli-json-2",
      env,
    );
    await server.process.waitForLine(/"event":"online"/, LINE_TIMEOUT_MS);
    const event = (line: string) => JSON.parse(line) as Record<string, unknown>;
    let from = server.process.lines.length;
    process.kill(server.process.pid!, "SIGHUP");
    const reloaded = await server.process.waitForLine(/"event":"reload".*"ok":true/, LINE_TIMEOUT_MS, from);
    expect(event(reloaded.line)).toMatchObject({ event: "reload", ok: true, level: "info" });
    from = server.process.lines.length;
    const exited = server.process.stop("SIGTERM", 30_000);
    const done = await server.process.waitForLine(/"event":"drain".*"phase":"done"/, LINE_TIMEOUT_MS, from);
    expect(await exited).toEqual({ code: 0, signal: null });
    const drain = server.process.lines
      .slice(from)
      .map(event)
      .filter((line) => line.event === "drain");
    expect(drain.map((line) => line.phase)).toEqual(["grace", "evicting", "done"]);
    expect(drain[0]).toMatchObject({ sessions: 1, graceMs: 100 });
    expect(drain[1]).toMatchObject({ sessions: 1, evictPerSecond: expect.any(Number) });
    expect(event(done.line)).toMatchObject({ evicted: 1 });
    await device.stop("SIGINT");
  });

  it("show heartbeats with --log-level debug, and keep the readiness line in the pretty format", async () => {
    const env = { ...jsonEnv(), PAYNETD_LOG_LEVEL: "info" };
    const server = await harness.paynetd(
      [
        "--listen",
        "127.0.0.1:0",
        "--certs",
        certs,
        "--mtls",
        "--command-coins",
        "0",
        "--log-level",
        "debug",
        "--log-format",
        "pretty",
      ],
      "paynetd-pretty",
      env,
    );
    expect(server.process.find(/^\[paynetd\] listening 127\.0\.0\.1:\d+$/)).toBeDefined();
    const device = harness.paynetcli(
      paynetcliArgs({
        port: server.port,
        certs,
        sn: "SN-DEBUG",
        extra: ["--heartbeat", "0.2", "--log-level", "debug"],
      }),
      "paynetcli-debug",
      env,
    );
    await server.process.waitForLine(/^\[paynetd\] <- Ping dev-SN-DEBUG/, LINE_TIMEOUT_MS);
    const pong = await device.waitForLine(/"msg":"<- Pong timestamp=\d+"/, LINE_TIMEOUT_MS);
    expect(JSON.parse(pong.line)).toMatchObject({ level: "debug", name: "paynetcli" });
  });
});
