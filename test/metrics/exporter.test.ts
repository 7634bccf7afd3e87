/**
 * `@paynet/metrics` against a real server and real device clients over TLS on 127.0.0.1: the
 * exposition prom-client writes is parsed with a Prometheus text-format parser and its values are
 * checked against what the devices did.
 */
import { collectDefaultMetrics, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import {
  CLIENT_METRIC_NAMES,
  registerClientMetrics,
  registerServerMetrics,
  SERVER_METRIC_NAMES,
} from "../../metrics/src/index.js";
import { encodeFrame } from "../../runtime/src/frame/encoder.js";
import type { Session } from "../../runtime/src/server/types.js";
import { makeClient, nextEvent, setUpClientTests, startLoginServer } from "../helpers/client-harness.js";
import {
  AckDef,
  LoginReqDef,
  LoginRspDef,
  loginPingAckRegistry,
  PingDef,
  PongDef,
  pingSpec,
} from "../helpers/messages.js";
import { Exposition } from "../helpers/prometheus.js";
import type { RawDevice } from "../helpers/raw-device.js";
import { startTestServer, testErrorMessage } from "../helpers/test-server.js";
import { scaled } from "../helpers/time.js";

const pki = await setUpClientTests();

async function exposition(registry: Registry): Promise<Exposition> {
  return new Exposition(await registry.metrics());
}

describe("registerServerMetrics", () => {
  it("exports connections, handshakes, frames, bytes, handler latency and disconnects as the server counted them", async () => {
    const t = await startLoginServer(pki);
    const registry = new Registry();
    const notAfter = new Date("2031-05-01T00:00:00Z");
    registerServerMetrics(registry, t.server, { certificates: () => [{ cert: "server", notAfter }] });
    const clients = [0, 1, 2].map((i) => makeClient(pki, t.port, { deviceId: `dev-${i}` }));
    await Promise.all(
      clients.map((client) => {
        const online = nextEvent(client, "online");
        client.start();
        return online;
      }),
    );
    for (const client of clients) {
      for (let i = 0; i < 5; i++) await client.request(pingSpec, { timestamp: i });
    }
    let metrics = await exposition(registry);
    expect(metrics.value("paynet_connections", { state: "online" })).toBe(3);
    expect(metrics.value("paynet_connections", { state: "connected" })).toBe(0);
    expect(metrics.value("paynet_tls_handshakes_total", { result: "full" })).toBe(3);
    expect(metrics.value("paynet_frames_received_total", { type: "0x03", message: "paytest.Ping" })).toBe(15);
    expect(metrics.value("paynet_frames_sent_total", { type: "0x83", message: "paytest.Pong" })).toBe(15);
    expect(metrics.value("paynet_frames_received_total", { type: "0x02", message: "paytest.LoginReq" })).toBe(
      3,
    );
    // Wire bytes: every frame's 5-byte header at least, and exactly what stats() says.
    const totals = t.server.stats();
    const bytesIn = Object.values(totals.framesIn).reduce((sum, counter) => sum + counter.bytes, 0);
    expect(metrics.value("paynet_received_bytes_total")).toBe(bytesIn);
    expect(bytesIn).toBeGreaterThanOrEqual(18 * 5);
    expect(metrics.value("paynet_handler_calls_total", { type: "0x03" })).toBe(15);

    const latency = metrics.samples("paynet_handler_duration_seconds", { type: "0x03" });
    expect(latency).toHaveLength(1);
    // Bounds as numbers, ascending (object keys like "1" and "10" would iterate first).
    const buckets = Object.entries(latency[0]!.buckets ?? {})
      .map(([le, count]) => [le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), Number(count)] as const)
      .sort((a, b) => a[0] - b[0]);
    // Cumulative and ending at +Inf with the count: a synchronous handler is timed 1 call in 16.
    for (let i = 1; i < buckets.length; i++)
      expect(buckets[i]![1]).toBeGreaterThanOrEqual(buckets[i - 1]![1]!);
    expect(buckets.at(-1)).toEqual([Number.POSITIVE_INFINITY, Number(latency[0]!.count)]);
    expect(Number(latency[0]!.count)).toBeGreaterThanOrEqual(1);
    expect(Number(latency[0]!.count)).toBeLessThanOrEqual(15);
    expect(metrics.family("paynet_handler_duration_seconds").type).toBe("HISTOGRAM");

    expect(metrics.value("paynet_cert_expiry_timestamp_seconds", { cert: "server" })).toBe(
      notAfter.getTime() / 1000,
    );
    expect(metrics.value("paynet_draining")).toBe(0);
    expect(metrics.value("paynet_deliveries_pending")).toBe(0);

    await clients[0]!.stop();
    await expect
      .poll(async () => (await exposition(registry)).value("paynet_connections", { state: "online" }))
      .toBe(2);
    metrics = await exposition(registry);
    expect(metrics.value("paynet_disconnects_total", { reason: "CONNECTION_CLOSED" })).toBe(1);
  });

  it("exports every metric it names, with Prometheus types and the process defaults beside them", async () => {
    const t = await startLoginServer(pki);
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    registerServerMetrics(registry, t.server);
    const metrics = await exposition(registry);
    for (const name of SERVER_METRIC_NAMES) expect(metrics.families.has(name), name).toBe(true);
    expect(metrics.family("paynet_tls_handshakes_total").type).toBe("COUNTER");
    expect(metrics.family("paynet_connections").type).toBe("GAUGE");
    expect(metrics.families.has("process_cpu_user_seconds_total")).toBe(true);
    expect(metrics.families.has("nodejs_eventloop_lag_seconds")).toBe(true);
    // Base units and suffixes: counters end in _total, durations are seconds.
    for (const family of metrics.families.values()) {
      if (family.type === "COUNTER") expect(family.name).toMatch(/_total$/);
    }
  });

  it("exports what peers before login, refused logins and bad frames cost, by reason", async () => {
    const t = await startTestServer(pki, {
      tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requireClientCert: true },
      registry: loginPingAckRegistry(),
      errorMessage: testErrorMessage,
      // The deadline only has to outlast a prompt login of the peers that do log in.
      preLogin: { deadlineMs: scaled(1_500), maxFramesPerSecond: 5 },
      badFrames: { maxPerWindow: 4 },
    });
    const registry = new Registry();
    registerServerMetrics(registry, t.server);
    /** A peer with `pki.device2` (CN device-002); resolves with its offline reason once `act` ran. */
    const peer = async (act: (device: RawDevice) => void) => {
      const sessionPromise = t.nextSession();
      const device = await t.connect({ cert: pki.device2.cert, key: pki.device2.key });
      const session: Session = await sessionPromise;
      act(device);
      return (await t.offlineReason(session)).code;
    };
    const ping = encodeFrame(PingDef.type, PingDef.codec.encode({ timestamp: 1 }));
    const reasons = await Promise.all([
      peer(() => {}),
      peer((device) => device.send(AckDef, { orderId: "o-1", state: 2 })),
      peer((device) => device.write(Buffer.concat(Array.from({ length: 20 }, () => ping)))),
      peer((device) => {
        const header = Buffer.alloc(5);
        header.writeUInt32BE(65_536, 0);
        header[4] = LoginReqDef.type;
        device.write(header);
      }),
      // The certificate names device-002: logging in as device-001 is refused.
      peer((device) => device.send(LoginReqDef, { deviceId: "device-001", token: "t" })),
      peer((device) => {
        device.send(LoginReqDef, { deviceId: "device-002", token: "t" });
        void device.next(LoginRspDef).then(
          () =>
            device.write(
              Buffer.concat(Array.from({ length: 10 }, () => encodeFrame(0x40, new Uint8Array(3)))),
            ),
          () => {},
        );
      }),
    ]);
    expect(reasons).toEqual([
      "LOGIN_TIMEOUT",
      "LOGIN_REQUIRED",
      "RATE_LIMITED",
      "FRAME_TOO_LARGE",
      "LOGIN_REFUSED",
      "TOO_MANY_BAD_FRAMES",
    ]);
    const metrics = await exposition(registry);
    for (const [reason, value] of Object.entries({
      login_timeout: 1,
      refused_type: 1,
      rate_limited: 1,
      oversize_frame: 1,
    })) {
      expect(metrics.value("paynet_prelogin_closed_total", { reason }), reason).toBe(value);
    }
    expect(metrics.value("paynet_login_refusals_total", { step: "login" })).toBe(1);
    expect(metrics.value("paynet_login_refusals_total", { step: "register" })).toBe(0);
    // Four bad frames: the first reported, two only counted, the fourth closes the connection.
    expect(metrics.value("paynet_bad_frames_total", { kind: "unknown_type" })).toBe(4);
    expect(metrics.value("paynet_bad_frames_total", { kind: "undecodable" })).toBe(0);
    expect(metrics.value("paynet_bad_frames_unreported_total")).toBe(2);
    expect(metrics.value("paynet_bad_frame_closes_total")).toBe(1);
    for (const reason of ["LOGIN_TIMEOUT", "LOGIN_REFUSED", "TOO_MANY_BAD_FRAMES", "RATE_LIMITED"]) {
      expect(metrics.value("paynet_disconnects_total", { reason }), reason).toBe(1);
    }
  });

  it("reads the stats once per scrape, however many metrics it fills", async () => {
    const t = await startLoginServer(pki);
    let reads = 0;
    const registry = new Registry();
    registerServerMetrics(registry, {
      stats: () => {
        reads++;
        return t.server.stats();
      },
    });
    await registry.metrics();
    expect(reads).toBe(1);
    await registry.metrics();
    expect(reads).toBe(2);
  });
});

describe("registerClientMetrics", () => {
  it("exports reconnects and heartbeat round trips of a device", async () => {
    const t = await startLoginServer(pki);
    const client = makeClient(pki, t.port, {
      heartbeat: { def: PingDef, reply: PongDef, build: () => ({ timestamp: Date.now() }), intervalMs: 20 },
    });
    const registry = new Registry();
    registerClientMetrics(registry, client);
    client.start();
    await nextEvent(client, "online");
    await expect.poll(() => client.stats().heartbeat.rtt.count).toBeGreaterThanOrEqual(3);
    // The server drops the session: the device reconnects once.
    const reconnecting = nextEvent(client, "reconnecting");
    for (const session of t.server.sessions()) session.close("test: drop");
    await reconnecting;
    await nextEvent(client, "online");
    const metrics = await exposition(registry);
    for (const name of CLIENT_METRIC_NAMES) expect(metrics.families.has(name), name).toBe(true);
    expect(metrics.value("paynet_client_reconnects_total")).toBe(1);
    expect(metrics.value("paynet_client_connects_total")).toBe(2);
    expect(metrics.value("paynet_client_online")).toBe(1);
    const [rtt] = metrics.samples("paynet_heartbeat_rtt_seconds");
    expect(Number(rtt!.count)).toBeGreaterThanOrEqual(3);
    expect(Number(rtt!.sum)).toBeGreaterThan(0);
    expect(Number(rtt!.buckets?.["+Inf"])).toBe(Number(rtt!.count));
  });
});
