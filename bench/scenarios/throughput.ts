/**
 * Throughput and latency: raw TLS echo vs paynet (generated SDK) vs grpc-js, each server in its own
 * process and the load in another, interleaved round by round so machine noise hits all three alike.
 */
import { QUERY_REQ_TYPE, QUERY_RSP_TYPE } from "../lib/payload.js";
import { BenchProcess } from "../lib/proc.js";
import { infoRow, targetRow } from "../lib/report.js";
import { human, median, ratio } from "../lib/stats.js";
import { type BenchContext, pinnedAs, type ScenarioResult } from "./context.js";

interface LoadResult {
  messages: number;
  perSec: number;
  p50Us: number;
  p99Us: number;
  errors: number;
  framesPerChunk: number;
  serverCpuUsPerMsg?: number;
}

type Target = "raw" | "paynet" | "grpc";
const TARGETS: readonly Target[] = ["raw", "paynet", "grpc"];

export async function throughputScenario(ctx: BenchContext): Promise<ScenarioResult> {
  // Three interleaved rounds in both modes: one round swings by ±15 % on a shared machine, the
  // median of per-round ratios does not. Quick mode shortens the rounds instead.
  const rounds = 3;
  const warmupMs = ctx.quick ? 700 : 1_500;
  const durationMs = ctx.quick ? 2_000 : 5_000;
  const window = 64;
  const onServerCpu = pinnedAs(ctx, "server");
  const servers = {
    raw: await BenchProcess.start(
      "server-raw",
      "procs/server-raw.ts",
      { pki: ctx.pki, ticketKeys: ctx.ticketKeys },
      onServerCpu,
    ),
    paynet: await BenchProcess.start(
      "server-paynet",
      "procs/server-paynet.ts",
      { pki: ctx.pki, sdkDir: ctx.sdkDir, ticketKeys: ctx.ticketKeys, readTimeoutMs: 70_000 },
      { nodeFlags: ctx.serverNodeFlags, ...onServerCpu },
    ),
    grpc: await BenchProcess.start("server-grpc", "procs/server-grpc.ts", { pki: ctx.pki }, onServerCpu),
  };
  const load = await BenchProcess.start(
    "load",
    "procs/load-throughput.ts",
    { pki: ctx.pki },
    pinnedAs(ctx, "load"),
  );
  ctx.log(
    ctx.placement === undefined
      ? "  placement: left to the scheduler"
      : `  placement: servers on CPU ${ctx.placement.server}, load on CPU ${ctx.placement.load}`,
  );
  const pipelined: Record<Target, LoadResult[]> = { raw: [], paynet: [], grpc: [] };
  const pingpong: Record<Target, LoadResult[]> = { raw: [], paynet: [], grpc: [] };
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const mode of ["pipelined", "pingpong"] as const) {
        for (const target of TARGETS) {
          const cpu0 = await servers[target].call<number>("cpu");
          const result = await load.call<LoadResult>("run", {
            target: target === "grpc" ? "grpc" : "frames",
            port: servers[target].ready.port,
            mode,
            window,
            warmupMs,
            durationMs,
            expectType: target === "paynet" ? QUERY_RSP_TYPE : QUERY_REQ_TYPE,
            login: target === "paynet",
          });
          const cpu1 = await servers[target].call<number>("cpu");
          // CPU of the whole run (warm-up included) per message counted in the window, scaled.
          result.serverCpuUsPerMsg =
            ((cpu1 - cpu0) * (durationMs / (warmupMs + durationMs))) / Math.max(1, result.messages);
          if (result.errors > 0) throw new Error(`${target} ${mode}: ${result.errors} unexpected replies`);
          (mode === "pipelined" ? pipelined : pingpong)[target].push(result);
          ctx.log(
            `  round ${round} ${mode.padEnd(9)} ${target.padEnd(6)} ${human(result.perSec)} msg/s` +
              (mode === "pipelined" && target !== "grpc"
                ? ` (${result.framesPerChunk.toFixed(1)} replies per read)`
                : "") +
              ` server ${result.serverCpuUsPerMsg!.toFixed(2)} us CPU/msg` +
              (mode === "pingpong"
                ? `  p50 ${result.p50Us.toFixed(0)} us  p99 ${result.p99Us.toFixed(0)} us`
                : ""),
          );
        }
      }
    }
  } finally {
    await Promise.all([load.stop(), servers.raw.stop(), servers.paynet.stop(), servers.grpc.stop()]);
  }
  const rate = (t: Target) => median(pipelined[t].map((r) => r.perSec));
  const p50 = (t: Target) => median(pingpong[t].map((r) => r.p50Us));
  const p99 = (t: Target) => median(pingpong[t].map((r) => r.p99Us));
  // Ratios are taken per round (the two figures of a round were measured seconds apart) and then
  // their median, so a burst of machine noise spoils one round, not the verdict.
  const perRound = (results: Record<Target, LoadResult[]>, pick: (r: LoadResult) => number, other: Target) =>
    median(results.paynet.map((r, i) => pick(r) / pick(results[other][i]!)));
  const round3 = (v: number) => Math.round(v * 1000) / 1000;
  const vsRaw = round3(perRound(pipelined, (r) => r.perSec, "raw"));
  const vsGrpc = round3(perRound(pipelined, (r) => r.perSec, "grpc"));
  const p99VsRaw = round3(perRound(pingpong, (r) => r.p99Us, "raw"));
  // Server CPU per pipelined message, paynet over raw, per round: steadier than msgs/s under noise.
  const cpuVsRaw = round3(perRound(pipelined, (r) => r.serverCpuUsPerMsg!, "raw"));
  const cpuPerMsg = (t: Target) => median(pipelined[t].map((r) => r.serverCpuUsPerMsg!));
  const s = "throughput";
  return {
    rows: [
      targetRow(
        s,
        `pipelined msg/s (${window} in flight)`,
        human(rate("paynet")),
        `raw TLS ${human(rate("raw"))}`,
        vsRaw,
        { min: 0.75 },
      ),
      targetRow(
        s,
        `pipelined msg/s (${window} in flight)`,
        human(rate("paynet")),
        `grpc-js ${human(rate("grpc"))}`,
        vsGrpc,
        { min: 30 },
      ),
      targetRow(
        s,
        "ping-pong p99 (us)",
        p99("paynet").toFixed(0),
        `raw TLS ${p99("raw").toFixed(0)}`,
        p99VsRaw,
        { max: 1.2 },
      ),
      targetRow(
        s,
        "server CPU per pipelined msg (us)",
        cpuPerMsg("paynet").toFixed(2),
        `raw TLS ${cpuPerMsg("raw").toFixed(2)}`,
        cpuVsRaw,
        { max: 1.5 },
      ),
      infoRow(
        s,
        "ping-pong p50 (us)",
        p50("paynet").toFixed(0),
        `raw TLS ${p50("raw").toFixed(0)}, grpc-js ${p50("grpc").toFixed(0)}`,
        ratio(p50("paynet"), p50("raw")),
      ),
      infoRow(
        s,
        "ping-pong p99 (us) vs grpc-js",
        p99("paynet").toFixed(0),
        `grpc-js ${p99("grpc").toFixed(0)}`,
        ratio(p99("paynet"), p99("grpc")),
      ),
      infoRow(
        s,
        "ping-pong round trips/s",
        human(median(pingpong.paynet.map((r) => r.perSec))),
        `raw TLS ${human(median(pingpong.raw.map((r) => r.perSec)))}`,
      ),
    ],
    figures: {
      placement: ctx.placement ?? "scheduler",
      rounds,
      warmupMs,
      durationMs,
      window,
      pipelined,
      pingpong,
      note: "figures in the table are medians over rounds; ratios are medians of per-round ratios",
    },
    summary: {
      throughput_vs_raw_tls: vsRaw,
      throughput_vs_grpc: vsGrpc,
      p99_vs_raw_tls: p99VsRaw,
      cpu_per_msg_vs_raw_tls: cpuVsRaw,
    },
  };
}
