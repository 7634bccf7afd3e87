/**
 * Scale on one machine (`npm run bench -- --scale [N]`, default N = 100 000): N logged-in,
 * heartbeating devices spread over at least 6 paynet server processes joined in one cluster on a
 * private redis-server, driven by at least 6 load processes, so that no process needs more open
 * files than the machine's limit (20 000 here: each loopback connection costs a descriptor on
 * both sides). The devices are cheap clients: a minimal framed TLS socket each, resuming the TLS
 * session of its process's first connection to that server (no certificate verification per device).
 *
 * Reports the sessions logged in cluster-wide (`cluster_sessions_max`: the nodes' own counts,
 * checked against the presence hashes in Redis), server memory per session (RSS and JS heap after
 * GC, against each server's baseline after joining the cluster and a warm-up batch), the devices'
 * memory per connection, and the servers' CPU over a heartbeat window, per heartbeat and projected
 * to N devices with 60 s heartbeats, as a share of the whole machine (target < 10 %).
 */
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { startRedis, type TestRedis } from "../../examples/demo/redis.js";
import { BenchProcess } from "../lib/proc.js";
import { infoRow, targetRow } from "../lib/report.js";
import { bytes, human } from "../lib/stats.js";
import type { BenchContext, ScenarioResult } from "./context.js";

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** Connections a process is given at most (its open-files limit is 20 000 here). */
const PER_PROCESS = 17_000;
const MIN_PROCESSES = 6;
/** Devices connected and dropped on each server before its memory baseline. */
const WARMUP_PER_SERVER = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/** Presence hashes in Redis (one per device online); one KEYS inside a script (a bench-only Redis). */
function presenceCount(redis: TestRedis): number {
  return Number(redis.cli("EVAL", "return #redis.call('KEYS', ARGV[1])", "0", "paynet:*:at"));
}

export async function clusterScaleScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const n = ctx.connections;
  const servers = Math.max(MIN_PROCESSES, Math.ceil(n / PER_PROCESS));
  const loads = Math.max(MIN_PROCESSES, Math.ceil(n / PER_PROCESS));
  const perProcess = Math.ceil(n / Math.min(servers, loads));
  const hard = execFileSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" }).trim();
  const fdLimit = hard === "unlimited" ? perProcess + 5_000 : Number(hard);
  if (fdLimit < perProcess + 500) {
    throw new Error(
      `${perProcess} connections per process need ${perProcess + 500} open files; the hard limit is ${hard}`,
    );
  }
  const heartbeatMs = ctx.quick ? 10_000 : 20_000;
  const windowMs = heartbeatMs;
  ctx.log(
    `  ${n} devices over ${servers} server processes and ${loads} load processes (≤ ${perProcess} connections each, open-files limit ${fdLimit}), heartbeat every ${heartbeatMs / 1000} s`,
  );
  let redis: TestRedis | undefined;
  const nodes: BenchProcess[] = [];
  const fleets: BenchProcess[] = [];
  try {
    redis = await startRedis();
    const started = await Promise.all(
      Array.from({ length: servers }, (_, i) =>
        BenchProcess.start(
          `scale-node-${i}`,
          "procs/server-paynet.ts",
          {
            pki: ctx.pki,
            sdkDir: ctx.sdkDir,
            ticketKeys: ctx.ticketKeys,
            readTimeoutMs: Math.max(70_000, heartbeatMs * 3),
            cluster: { url: redis!.url, nodeId: `scale-${i}` },
          },
          { fdLimit, maxOldSpaceMb: 4_096, nodeFlags: ctx.serverNodeFlags, readyTimeoutMs: 120_000 },
        ),
      ),
    );
    nodes.push(...started);
    const ports = nodes.map((node) => node.ready.port as number);
    fleets.push(
      ...(await Promise.all(
        Array.from({ length: loads }, (_, p) =>
          BenchProcess.start(
            `scale-fleet-${p}`,
            "procs/fleet-frames.ts",
            { pki: ctx.pki, idPrefix: `sc${p}` },
            { fdLimit, maxOldSpaceMb: 4_096, readyTimeoutMs: 120_000 },
          ),
        ),
      )),
    );
    // Warm-up on every server (code compiled, young generation grown), then the baselines.
    await Promise.all(
      fleets.slice(0, servers).map((fleet, i) =>
        fleet.call("connect", {
          port: ports[i],
          n: WARMUP_PER_SERVER,
          concurrency: 16,
          login: true,
          localAddresses: [],
          resume: true,
          idPrefix: `warm${i}`,
        }),
      ),
    );
    await Promise.all(fleets.map((fleet) => fleet.call("closeAll")));
    const drained = async () => sum(await Promise.all(nodes.map((node) => node.call<number>("connections"))));
    while ((await drained()) > 0) await sleep(200);
    const serverBefore = await Promise.all(nodes.map((node) => node.call<Memory>("mem")));
    const fleetBefore = await Promise.all(fleets.map((fleet) => fleet.call<Memory>("mem")));

    await Promise.all(fleets.map((fleet) => fleet.call("heartbeat", { intervalMs: heartbeatMs })));
    const t0 = performance.now();
    const perFleet = Math.ceil(n / loads);
    const connects = await Promise.all(
      fleets.map((fleet, p) =>
        fleet.call<{ elapsedMs: number; connected: number; failed: number; firstError: string | null }>(
          "connect",
          {
            port: ports[0],
            // Device i of this process goes to server (i + p) mod S: as an L4 balancer would spread them.
            ports: ports.map((_, i) => ports[(i + p) % ports.length]!),
            n: Math.max(0, Math.min(perFleet, n - p * perFleet)),
            concurrency: 24,
            login: true,
            localAddresses: [],
            resume: true,
          },
          1_800_000,
        ),
      ),
    );
    const connectMs = performance.now() - t0;
    const connected = sum(connects.map((c) => c.connected));
    const failed = sum(connects.map((c) => c.failed));
    ctx.log(
      `  ${connected}/${n} logged in in ${(connectMs / 1000).toFixed(1)} s (${human((connected / connectMs) * 1000)}/s)${failed > 0 ? `; ${failed} failed: ${connects.find((c) => c.firstError)?.firstError}` : ""}`,
    );
    // Every session claimed cluster-wide, then one full heartbeat round before measuring.
    const online = async () => sum(await Promise.all(nodes.map((node) => node.call<number>("sessions"))));
    const claimDeadline = Date.now() + 60_000;
    while ((await online()) < connected && Date.now() < claimDeadline) await sleep(500);
    await sleep(heartbeatMs + 1_000);

    const cpu0 = await Promise.all(nodes.map((node) => node.call<number>("cpu")));
    const pings0 = sum(
      (await Promise.all(fleets.map((fleet) => fleet.call<{ pingsSent: number }>("status")))).map(
        (s) => s.pingsSent,
      ),
    );
    const w0 = performance.now();
    await sleep(windowMs);
    const cpu1 = await Promise.all(nodes.map((node) => node.call<number>("cpu")));
    const window = performance.now() - w0;
    const statuses = await Promise.all(
      fleets.map((fleet) => fleet.call<{ open: number; pingsSent: number; resumed: number }>("status")),
    );
    const pings = sum(statuses.map((s) => s.pingsSent)) - pings0;
    const sessionsNow = await online();
    const presence = presenceCount(redis);
    const serverAfter = await Promise.all(nodes.map((node) => node.call<Memory>("mem")));
    const fleetAfter = await Promise.all(fleets.map((fleet) => fleet.call<Memory>("mem")));
    const open = sum(statuses.map((s) => s.open));
    const resumed = sum(statuses.map((s) => s.resumed));

    const serverCpuUs = sum(cpu1) - sum(cpu0);
    const cpuPerHeartbeatUs = serverCpuUs / Math.max(1, pings);
    const cores = cpus().length;
    const projectedShare = (cpuPerHeartbeatUs * (n / 60)) / 1e6 / cores;
    const measuredShare = serverCpuUs / 1000 / window / cores;
    const delta = (after: Memory[], before: Memory[], field: keyof Memory) =>
      sum(after.map((m, i) => m[field] - before[i]![field]));
    const rssPerSession = delta(serverAfter, serverBefore, "rss") / Math.max(1, sessionsNow);
    const heapPerSession = delta(serverAfter, serverBefore, "heapUsed") / Math.max(1, sessionsNow);
    const clientRssPerConn = delta(fleetAfter, fleetBefore, "rss") / Math.max(1, open);
    const sessionsMax = Math.min(sessionsNow, presence);
    ctx.log(
      `  ${sessionsNow} sessions on the nodes, ${presence} presence hashes in Redis; ${pings} heartbeats in ${(window / 1000).toFixed(1)} s cost ${(serverCpuUs / 1000).toFixed(0)} ms of server CPU`,
    );

    const s = `cluster scale N=${n}`;
    const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
    return {
      rows: [
        targetRow(s, "sessions logged in cluster-wide", `${sessionsMax}`, `of ${n}`, sessionsMax / n, {
          min: 1,
        }),
        infoRow(
          s,
          "processes (servers + load), connections each",
          `${servers} + ${loads}`,
          `≤ ${perProcess}, open files ≤ ${fdLimit}`,
        ),
        infoRow(s, "server RSS per session", bytes(rssPerSession), `heap ${bytes(heapPerSession)}`),
        infoRow(
          s,
          "device (load) RSS per connection",
          bytes(clientRssPerConn),
          `${resumed} resumed handshakes`,
        ),
        infoRow(s, "logins/s (handshake + login + claim)", human((connected / connectMs) * 1000), ""),
        infoRow(
          s,
          `server CPU at ${human((pings / window) * 1000)} heartbeats/s`,
          pct(measuredShare),
          `${cpuPerHeartbeatUs.toFixed(1)} µs per heartbeat`,
        ),
        targetRow(
          s,
          `heartbeat CPU projected to ${human(n)} @60 s (machine share)`,
          pct(projectedShare),
          `${cores} cores`,
          projectedShare,
          { max: 0.1 },
        ),
      ],
      figures: {
        n,
        servers,
        loads,
        fdLimit,
        connected,
        failed,
        connectMs,
        sessionsNow,
        presence,
        resumed,
        heartbeatMs,
        windowMs: window,
        pings,
        serverCpuUs,
        cpuPerHeartbeatUs,
        projectedShare,
        measuredShare,
        rssPerSession,
        heapPerSession,
        clientRssPerConn,
        serverBefore,
        serverAfter,
        fleetBefore,
        fleetAfter,
      },
      summary: {
        cluster_sessions_max: sessionsMax,
        cluster_mem_per_session_bytes: Math.round(rssPerSession),
        cluster_heap_per_session_bytes: Math.round(heapPerSession),
        cluster_heartbeat_cpu_share_at_60s: Math.round(projectedShare * 10_000) / 10_000,
      },
    };
  } finally {
    await Promise.all(fleets.map((fleet) => fleet.call("closeAll").catch(() => null)));
    await Promise.all([...fleets, ...nodes].map((proc) => proc.stop()));
    await redis?.stop();
  }
}
