/**
 * The cluster on Redis (`@paynet/cluster`): a private redis-server (AOF, `appendfsync always`, as
 * docs/cluster.md asks for payments) and two paynet server processes joined to it, devices logged
 * in on both (one load process; each answers a CoinCommand with its final CoinAck at once).
 *
 * - cross-node push latency: deliveries one at a time from one node to devices on the other,
 *   `deliver()` → final CoinAck back at the caller (durable: the record is created, claimed, the
 *   reply recorded in Redis on the way);
 * - deliveries/s per node: both nodes delivering to the other's devices, 256 in flight each;
 * - Redis round trips per delivery (both nodes' counters, `RedisCluster.redisRoundTrips()`: a
 *   command, pipeline or script counts once) and per heartbeat (pings with nothing else going on,
 *   the nodes' background traffic — lease, reconcile pass — measured alone first and subtracted);
 * - local throughput: traffic that stays on one node (pipelined QueryReq → QueryRsp) on a fresh
 *   cluster node vs a fresh server without cluster, interleaved rounds (median of per-round ratios;
 *   server CPU per message compared too, the steadier figure on a shared machine).
 */
import { startRedis, type TestRedis } from "../../examples/demo/redis.js";
import { QUERY_RSP_TYPE } from "../lib/payload.js";
import { BenchProcess } from "../lib/proc.js";
import { infoRow, targetRow } from "../lib/report.js";
import { human, median, percentile, ratio } from "../lib/stats.js";
import type { DeliverRunResult } from "../procs/server-paynet.js";
import type { BenchContext, ScenarioResult } from "./context.js";

interface LoadResult {
  messages: number;
  perSec: number;
  errors: number;
}

/** CPU time redis-server used so far (user + system), µs. */
function redisCpuMicros(redis: TestRedis): number {
  const info = redis.cli("INFO", "cpu");
  const field = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? Number.NaN);
  return (field("used_cpu_user") + field("used_cpu_sys")) * 1e6;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function clusterScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const devicesPerNode = ctx.quick ? 100 : 200;
  const latencyCount = ctx.quick ? 300 : 1_000;
  const throughputCount = ctx.quick ? 4_000 : 12_000;
  // Deliveries in flight per node: a busy cloud has many commands out at once (latency, not CPU,
  // bounds one delivery: 4 Redis round trips and 2 pub/sub hops).
  const concurrency = 256;
  const rounds = ctx.quick ? 5 : 9;
  const hbWindowMs = ctx.quick ? 3_000 : 5_000;
  let redis: TestRedis | undefined;
  const procs: BenchProcess[] = [];
  try {
    redis = await startRedis();
    const serverConfig = {
      pki: ctx.pki,
      sdkDir: ctx.sdkDir,
      ticketKeys: ctx.ticketKeys,
      readTimeoutMs: 70_000,
    };
    const start = async (name: string, extra: Record<string, unknown>) => {
      const proc = await BenchProcess.start(
        name,
        "procs/server-paynet.ts",
        { ...serverConfig, ...extra },
        {
          nodeFlags: ctx.serverNodeFlags,
        },
      );
      procs.push(proc);
      return proc;
    };
    const a = await start("cluster-a", { cluster: { url: redis.url, nodeId: "bench-a" } });
    const b = await start("cluster-b", { cluster: { url: redis.url, nodeId: "bench-b" } });
    const single = await start("single", {});
    const fleet = await BenchProcess.start("cluster-fleet", "procs/fleet-frames.ts", {
      pki: ctx.pki,
      idPrefix: "unused",
    });
    procs.push(fleet);
    const load = await BenchProcess.start("cluster-load", "procs/load-throughput.ts", { pki: ctx.pki });
    procs.push(load);

    for (const [node, prefix] of [
      [a, "devA"],
      [b, "devB"],
    ] as const) {
      const connected = await fleet.call<{ connected: number; failed: number; firstError: string | null }>(
        "connect",
        {
          port: node.ready.port,
          n: devicesPerNode,
          concurrency: 32,
          login: true,
          localAddresses: [],
          autoAck: true,
          idPrefix: prefix,
        },
      );
      if (connected.failed > 0) throw new Error(`devices did not log in: ${connected.firstError}`);
    }
    const devicesOf = (prefix: string) => Array.from({ length: devicesPerNode }, (_, i) => `${prefix}-${i}`);
    const onA = devicesOf("devA");
    const onB = devicesOf("devB");
    // Every device is claimed cluster-wide once its node counts it logged in.
    while ((await a.call<number>("sessions")) + (await b.call<number>("sessions")) < 2 * devicesPerNode)
      await sleep(50);

    const run = (node: BenchProcess, devices: string[], count: number, inFlight: number, tag: string) =>
      node.call<DeliverRunResult>("deliverRun", { devices, count, concurrency: inFlight, tag });
    const check = (what: string, result: DeliverRunResult) => {
      if (result.failed > 0)
        throw new Error(`${what}: ${result.failed} deliveries failed: ${result.firstError}`);
    };
    ctx.log("  warm-up: 400 deliveries each way");
    await Promise.all([run(a, onB, 400, 16, "wa"), run(b, onA, 400, 16, "wb")]);

    // ---- cross-node push latency, one at a time -----------------------------------------------
    const ab = await run(a, onB, latencyCount, 1, "la");
    const ba = await run(b, onA, latencyCount, 1, "lb");
    check("latency A→B", ab);
    check("latency B→A", ba);
    const p50 = median([ab.p50Ms, ba.p50Ms]);
    const p99 = Math.max(ab.p99Ms, ba.p99Ms);
    ctx.log(`  cross-node deliver→ack: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`);

    // ---- deliveries/s per node, both nodes at once, and round trips per delivery --------------
    const redisCpu0 = redisCpuMicros(redis);
    const rt0 = (await a.call<number>("roundTrips")) + (await b.call<number>("roundTrips"));
    const cpu0 = { a: await a.call<number>("cpu"), b: await b.call<number>("cpu") };
    const [fromA, fromB] = await Promise.all([
      run(a, onB, throughputCount, concurrency, "ta"),
      run(b, onA, throughputCount, concurrency, "tb"),
    ]);
    const rt1 = (await a.call<number>("roundTrips")) + (await b.call<number>("roundTrips"));
    const cpu1 = { a: await a.call<number>("cpu"), b: await b.call<number>("cpu") };
    const redisCpuUsPerDelivery = (redisCpuMicros(redis) - redisCpu0) / (fromA.completed + fromB.completed);
    check("throughput A→B", fromA);
    check("throughput B→A", fromB);
    const perNode = Math.min(
      (fromA.completed / fromA.elapsedMs) * 1000,
      (fromB.completed / fromB.elapsedMs) * 1000,
    );
    const delivered = fromA.completed + fromB.completed;
    const roundTripsPerDelivery = (rt1 - rt0) / delivered;
    const nodeCpuUsPerDelivery = (cpu1.a - cpu0.a + (cpu1.b - cpu0.b)) / delivered;
    ctx.log(
      `  ${delivered} deliveries: ${human(perNode)}/s per node, ${roundTripsPerDelivery.toFixed(2)} Redis round trips each, p99 under load ${Math.max(fromA.p99Ms, fromB.p99Ms).toFixed(1)} ms`,
    );

    // ---- Redis round trips per heartbeat ------------------------------------------------------
    await fleet.call("stopHeartbeats");
    await sleep(1_000);
    const idle0 = (await a.call<number>("roundTrips")) + (await b.call<number>("roundTrips"));
    const idleT0 = performance.now();
    await sleep(hbWindowMs);
    const idle1 = (await a.call<number>("roundTrips")) + (await b.call<number>("roundTrips"));
    const idleRate = (idle1 - idle0) / (performance.now() - idleT0);
    // Every device pings every 200 ms: far more heartbeats than background round trips.
    await fleet.call("heartbeat", { intervalMs: 200 });
    await sleep(500);
    const pings0 = (await fleet.call<{ pingsSent: number }>("status")).pingsSent;
    const hb0 = (await a.call<number>("roundTrips")) + (await b.call<number>("roundTrips"));
    const hbT0 = performance.now();
    await sleep(hbWindowMs);
    const hb1 = (await a.call<number>("roundTrips")) + (await b.call<number>("roundTrips"));
    const hbMs = performance.now() - hbT0;
    const pings = (await fleet.call<{ pingsSent: number }>("status")).pingsSent - pings0;
    await fleet.call("stopHeartbeats");
    const background = idleRate * hbMs;
    const roundTripsPerHeartbeat = Math.max(0, hb1 - hb0 - background) / Math.max(1, pings);
    ctx.log(
      `  heartbeats: ${pings} pings, ${hb1 - hb0} round trips in the window (background alone: ${background.toFixed(0)})`,
    );

    // ---- local traffic: cluster node vs server without cluster --------------------------------
    // A third node, fresh like the server without cluster, so only the cluster differs between them.
    const c = await start("cluster-c", { cluster: { url: redis.url, nodeId: "bench-c" } });
    const local: number[] = [];
    const without: number[] = [];
    const localRatios: number[] = [];
    const cpuRatios: number[] = [];
    const durationMs = ctx.quick ? 1_500 : 2_500;
    const warmupMs = ctx.quick ? 500 : 1_000;
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? ([c, single] as const) : ([single, c] as const);
      const perSec = new Map<BenchProcess, number>();
      const cpuPerMsg = new Map<BenchProcess, number>();
      for (const server of order) {
        const cpuStart = await server.call<number>("cpu");
        const result = await load.call<LoadResult>("run", {
          target: "frames",
          port: server.ready.port,
          mode: "pipelined",
          window: 64,
          warmupMs,
          durationMs,
          expectType: QUERY_RSP_TYPE,
          login: true,
        });
        const cpuEnd = await server.call<number>("cpu");
        if (result.errors > 0) throw new Error(`local throughput run had ${result.errors} errors`);
        perSec.set(server, result.perSec);
        // Server CPU per counted message (the warm-up's share removed): steadier than msgs/s.
        cpuPerMsg.set(
          server,
          ((cpuEnd - cpuStart) * (durationMs / (warmupMs + durationMs))) / Math.max(1, result.messages),
        );
      }
      local.push(perSec.get(c)!);
      without.push(perSec.get(single)!);
      localRatios.push(perSec.get(c)! / perSec.get(single)!);
      cpuRatios.push(cpuPerMsg.get(single)! / cpuPerMsg.get(c)!);
    }
    const localRatio = ratio(median(localRatios), 1);
    const cpuRatio = ratio(median(cpuRatios), 1);
    ctx.log(
      `  local throughput ratios per round: ${localRatios.map((r) => r.toFixed(3)).join(", ")} (CPU per message, inverted: ${cpuRatios.map((r) => r.toFixed(3)).join(", ")})`,
    );

    const s = "cluster (2 nodes)";
    const ms = (v: number) => `${v.toFixed(2)} ms`;
    return {
      rows: [
        targetRow(s, "cross-node deliver → ack p50", ms(p50), "", p50, { max: 5 }),
        targetRow(s, "cross-node deliver → ack p99", ms(p99), "", p99, { max: 50 }),
        targetRow(
          s,
          `deliveries/s per node (${concurrency} in flight each)`,
          human(perNode),
          "",
          Math.round(perNode),
          { min: 2_000 },
        ),
        targetRow(
          s,
          "Redis round trips per delivery",
          roundTripsPerDelivery.toFixed(2),
          "",
          roundTripsPerDelivery,
          {
            max: 6,
          },
        ),
        targetRow(
          s,
          "Redis round trips per heartbeat",
          roundTripsPerHeartbeat.toFixed(4),
          `${pings} pings`,
          roundTripsPerHeartbeat,
          // Zero heartbeat traffic; what is left is the jitter of the background subtracted.
          { max: 0.001 },
        ),
        targetRow(
          s,
          "local traffic msgs/s, cluster node vs no cluster",
          human(median(local)),
          `no cluster ${human(median(without))}`,
          localRatio,
          { min: 0.95 },
        ),
        infoRow(s, "local traffic server CPU per message, no cluster ÷ cluster", "", "", cpuRatio),
        infoRow(s, "node CPU per delivery (both nodes)", `${nodeCpuUsPerDelivery.toFixed(0)} µs`, ""),
        infoRow(s, "redis-server CPU per delivery", `${redisCpuUsPerDelivery.toFixed(0)} µs`, ""),
        infoRow(
          s,
          "deliver → ack under load p50 / p99",
          `${ms(Math.max(fromA.p50Ms, fromB.p50Ms))} / ${ms(Math.max(fromA.p99Ms, fromB.p99Ms))}`,
          "",
        ),
      ],
      figures: {
        devicesPerNode,
        latency: { ab, ba },
        throughput: {
          fromA,
          fromB,
          perNode,
          roundTripsPerDelivery,
          nodeCpuUsPerDelivery,
          redisCpuUsPerDelivery,
        },
        heartbeat: { pings, windowMs: hbMs, roundTrips: hb1 - hb0, background, roundTripsPerHeartbeat },
        local: { cluster: local, single: without, ratios: localRatios, cpuRatios },
        p99Overall: percentile([ab.p99Ms, ba.p99Ms], 100),
      },
      summary: {
        cluster_push_p50_ms: Math.round(p50 * 1000) / 1000,
        cluster_push_p99_ms: Math.round(p99 * 1000) / 1000,
        cluster_deliveries_per_s: Math.round(perNode),
        cluster_redis_roundtrips_per_delivery: Math.round(roundTripsPerDelivery * 1000) / 1000,
        cluster_redis_roundtrips_per_heartbeat: Math.round(roundTripsPerHeartbeat * 10_000) / 10_000,
        cluster_local_throughput_vs_single: localRatio,
      },
    };
  } finally {
    await Promise.all(procs.map((proc) => proc.stop()));
    await redis?.stop();
  }
}
