/**
 * Connection scale: N idle device connections on one server process — raw TLS sockets vs paynet
 * sessions (logged in, heartbeating). Server RSS and heap per connection (after GC), handshakes/s,
 * and the server CPU heartbeats cost, projected to 100k devices with 60 s heartbeats.
 */
import { execFileSync } from "node:child_process";
import { BenchProcess } from "../lib/proc.js";
import { infoRow, targetRow } from "../lib/report.js";
import { bytes, human, ratio } from "../lib/stats.js";
import type { BenchContext, ScenarioResult } from "./context.js";

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

interface SideResult {
  n: number;
  connected: number;
  failed: number;
  firstError: string | null;
  connectMs: number;
  handshakesPerSec: number;
  before: Memory;
  after: Memory;
  rssPerConn: number;
  heapPerConn: number;
  heartbeatsPerSec: number;
  cpuWindowMs: number;
  serverCpuShare: number;
  cpuPerHeartbeatUs: number;
  projectedCpuShareAt100k: number;
}

/** Devices connected and dropped before the memory baseline (see the warm-up in `measureSide`). */
const WARMUP_CONNECTIONS = 200;

/** Source addresses: 127.0.0.x gives each one its own ~28k ephemeral ports. */
function localAddresses(n: number, proc: number): string[] {
  if (n <= 20_000) return [];
  const perProc = 4;
  return Array.from({ length: perProc }, (_, i) => `127.0.${proc + 1}.${i + 1}`);
}

/**
 * Fails early, with what to do, when one server process cannot open `n` sockets here: children can
 * raise their soft open-files limit only up to the hard one.
 */
function assertFdLimitAllows(n: number): void {
  const hard = execFileSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" }).trim();
  const needed = n + 1_000;
  if (hard === "unlimited" || Number(hard) >= needed) return;
  throw new Error(
    `${n} connections need about ${needed} open files in the server process, but the hard limit here is ${hard}; ` +
      `raise it first (\`ulimit -Hn\` as root, /etc/security/limits.conf, or the container's nofile limit), ` +
      `or measure fewer (\`--connections ${Math.max(1_000, Math.floor((Number(hard) - 2_000) / 1_000) * 1_000)}\`)`,
  );
}

async function measureSide(ctx: BenchContext, side: "raw" | "paynet"): Promise<SideResult> {
  const n = ctx.connections;
  const heartbeatMs = ctx.quick ? 2_000 : 5_000;
  const cpuWindowMs = ctx.quick ? 4_000 : 10_000;
  const procs = n > 20_000 ? 4 : 1;
  const fdLimit = Math.max(65_536, n + 10_000);
  const server =
    side === "raw"
      ? await BenchProcess.start(
          "scale-raw",
          "procs/server-raw.ts",
          { pki: ctx.pki, ticketKeys: ctx.ticketKeys },
          { fdLimit, maxOldSpaceMb: 8_192 },
        )
      : await BenchProcess.start(
          "scale-paynet",
          "procs/server-paynet.ts",
          {
            pki: ctx.pki,
            sdkDir: ctx.sdkDir,
            ticketKeys: ctx.ticketKeys,
            readTimeoutMs: Math.max(70_000, heartbeatMs * 3),
          },
          { fdLimit, maxOldSpaceMb: 8_192, nodeFlags: ctx.serverNodeFlags },
        );
  const fleets: BenchProcess[] = [];
  try {
    for (let p = 0; p < procs; p++) {
      fleets.push(
        await BenchProcess.start(
          `fleet-${p}`,
          "procs/fleet-frames.ts",
          { pki: ctx.pki, idPrefix: `dev${p}` },
          { fdLimit, maxOldSpaceMb: 8_192 },
        ),
      );
    }
    // Warm-up, on both sides alike: a first batch of devices connects, logs in, heartbeats and goes
    // away before the baseline is taken. What the first connections cost once per process (the
    // connect/login/heartbeat code being compiled, V8's young generation growing to its working
    // size) is then not counted as memory per connection.
    await fleets[0]!.call("heartbeat", { intervalMs: heartbeatMs });
    await fleets[0]!.call("connect", {
      port: server.ready.port,
      n: Math.min(WARMUP_CONNECTIONS, n),
      concurrency: 64,
      login: side === "paynet",
      localAddresses: localAddresses(n, 0),
    });
    await new Promise((resolve) => setTimeout(resolve, heartbeatMs + 500));
    await fleets[0]!.call("closeAll");
    while ((await server.call<number>("connections")) > 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const before = await server.call<Memory>("mem");
    // Heartbeats run from the first connection on, as on real devices (and within the read timeout).
    await Promise.all(fleets.map((fleet) => fleet.call("heartbeat", { intervalMs: heartbeatMs })));
    const perProc = Math.ceil(n / procs);
    const t0 = performance.now();
    const connects = await Promise.all(
      fleets.map((fleet, p) =>
        fleet.call<{ elapsedMs: number; connected: number; failed: number; firstError: string | null }>(
          "connect",
          {
            port: server.ready.port,
            n: Math.min(perProc, n - p * perProc),
            concurrency: 64,
            login: side === "paynet",
            localAddresses: localAddresses(n, p),
          },
        ),
      ),
    );
    const connectMs = performance.now() - t0;
    const connected = connects.reduce((sum, c) => sum + c.connected, 0);
    const failed = connects.reduce((sum, c) => sum + c.failed, 0);
    ctx.log(
      `  ${side}: ${connected}/${n} connected in ${(connectMs / 1000).toFixed(1)} s${failed > 0 ? ` (${failed} failed: ${connects.find((c) => c.firstError)?.firstError})` : ""}`,
    );
    // One full heartbeat round first, so every connection has exercised its read path.
    await new Promise((resolve) => setTimeout(resolve, heartbeatMs + 500));
    const cpu0 = await server.call<number>("cpu");
    const w0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, cpuWindowMs));
    const cpu1 = await server.call<number>("cpu");
    const windowMs = performance.now() - w0;
    const after = await server.call<Memory>("mem");
    const status = await Promise.all(fleets.map((fleet) => fleet.call<{ open: number }>("status")));
    const open = status.reduce((sum, s) => sum + s.open, 0);
    if (open < connected) ctx.log(`  ${side}: ${connected - open} connections closed during the window`);
    const heartbeatsPerSec = (connected / heartbeatMs) * 1000;
    const cpuShare = (cpu1 - cpu0) / 1000 / windowMs;
    const cpuPerHeartbeatUs = (((cpu1 - cpu0) / windowMs) * 1000) / heartbeatsPerSec;
    return {
      n,
      connected,
      failed,
      firstError: connects.find((c) => c.firstError)?.firstError ?? null,
      connectMs,
      handshakesPerSec: (connected / connectMs) * 1000,
      before,
      after,
      rssPerConn: (after.rss - before.rss) / connected,
      heapPerConn: (after.heapUsed - before.heapUsed) / connected,
      heartbeatsPerSec,
      cpuWindowMs: windowMs,
      serverCpuShare: cpuShare,
      cpuPerHeartbeatUs,
      projectedCpuShareAt100k: (cpuPerHeartbeatUs * (100_000 / 60)) / 1e6,
    };
  } finally {
    await Promise.all(fleets.map((fleet) => fleet.call("closeAll").catch(() => null)));
    await Promise.all([...fleets.map((fleet) => fleet.stop()), server.stop()]);
  }
}

export async function scaleScenario(ctx: BenchContext): Promise<ScenarioResult> {
  assertFdLimitAllows(ctx.connections);
  const raw = await measureSide(ctx, "raw");
  const paynet = await measureSide(ctx, "paynet");
  const memRatio = ratio(paynet.rssPerConn, raw.rssPerConn);
  const s = `scale N=${ctx.connections}`;
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  return {
    rows: [
      targetRow(
        s,
        "server RSS per connection",
        bytes(paynet.rssPerConn),
        `raw TLS ${bytes(raw.rssPerConn)}`,
        memRatio,
        { max: 1.15 },
      ),
      infoRow(
        s,
        "server heap per connection",
        bytes(paynet.heapPerConn),
        `raw TLS ${bytes(raw.heapPerConn)}`,
        ratio(paynet.heapPerConn, raw.heapPerConn),
      ),
      infoRow(
        s,
        "connections/s (paynet: handshake + login)",
        human(paynet.handshakesPerSec),
        `raw TLS ${human(raw.handshakesPerSec)}`,
        ratio(paynet.handshakesPerSec, raw.handshakesPerSec),
      ),
      infoRow(
        s,
        `heartbeat CPU at ${human(paynet.heartbeatsPerSec)}/s`,
        pct(paynet.serverCpuShare),
        `raw TLS ${pct(raw.serverCpuShare)}`,
        ratio(paynet.serverCpuShare, raw.serverCpuShare),
      ),
      targetRow(
        s,
        "heartbeat CPU projected to 100k @60 s",
        pct(paynet.projectedCpuShareAt100k),
        `raw TLS ${pct(raw.projectedCpuShareAt100k)}`,
        paynet.projectedCpuShareAt100k,
        { max: 0.1 },
      ),
      ...(paynet.connected < ctx.connections || raw.connected < ctx.connections
        ? [
            infoRow(
              s,
              "connections established",
              `${paynet.connected}/${ctx.connections}`,
              `raw TLS ${raw.connected}/${ctx.connections}`,
            ),
          ]
        : []),
    ],
    figures: { raw, paynet },
    summary: {
      mem_per_conn_vs_raw_tls: memRatio,
      heap_per_conn_vs_raw_tls: ratio(paynet.heapPerConn, raw.heapPerConn),
    },
  };
}
