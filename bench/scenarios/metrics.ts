/**
 * Cost of the Prometheus exporter: the same paynet server with and without `@paynet/metrics`
 * attached (process defaults included), the one with it scraped every second while the load runs,
 * interleaved round by round. The exporter reads the runtime's counters at scrape time only, so the
 * frame path is the same in both; the target is ≥ 0.97× the throughput without it. Its own cost is
 * measured apart too (CPU of one scrape as a share of the loaded server's CPU per second), since on
 * a shared machine the throughput of two processes varies by more than that cost.
 */
import { QUERY_RSP_TYPE } from "../lib/payload.js";
import { BenchProcess } from "../lib/proc.js";
import { infoRow, targetRow } from "../lib/report.js";
import { human, median } from "../lib/stats.js";
import { type BenchContext, pinnedAs, type ScenarioResult } from "./context.js";

interface LoadResult {
  messages: number;
  perSec: number;
  errors: number;
  /** Server CPU per message counted (warm-up share removed), µs: steadier than msgs/s under noise. */
  serverCpuUsPerMsg?: number;
}

const SCRAPE_INTERVAL_MS = 1_000;

export async function metricsScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const rounds = ctx.quick ? 3 : 5;
  const warmupMs = ctx.quick ? 700 : 1_500;
  const durationMs = ctx.quick ? 2_000 : 5_000;
  const window = 64;
  const serverConfig = {
    pki: ctx.pki,
    sdkDir: ctx.sdkDir,
    ticketKeys: ctx.ticketKeys,
    readTimeoutMs: 70_000,
  };
  const onServerCpu = pinnedAs(ctx, "server");
  const plain = await BenchProcess.start("server-paynet", "procs/server-paynet.ts", serverConfig, {
    nodeFlags: ctx.serverNodeFlags,
    ...onServerCpu,
  });
  const exported = await BenchProcess.start(
    "server-paynet-metrics",
    "procs/server-paynet.ts",
    { ...serverConfig, metrics: true },
    { nodeFlags: ctx.serverNodeFlags, ...onServerCpu },
  );
  const load = await BenchProcess.start(
    "load",
    "procs/load-throughput.ts",
    { pki: ctx.pki },
    pinnedAs(ctx, "load"),
  );
  const metricsUrl = `http://127.0.0.1:${String(exported.ready.metricsPort)}/metrics`;
  const without: LoadResult[] = [];
  const withMetrics: LoadResult[] = [];
  let scrapes = 0;
  let scrapeBytes = 0;
  let scrapeCpuUs = Number.NaN;
  const run = async (server: BenchProcess) => {
    const cpu0 = await server.call<number>("cpu");
    const result = await load.call<LoadResult>("run", {
      target: "frames",
      port: server.ready.port,
      mode: "pipelined",
      window,
      warmupMs,
      durationMs,
      expectType: QUERY_RSP_TYPE,
      login: true,
    });
    const cpu1 = await server.call<number>("cpu");
    result.serverCpuUsPerMsg =
      ((cpu1 - cpu0) * (durationMs / (warmupMs + durationMs))) / Math.max(1, result.messages);
    return result;
  };
  try {
    for (let round = 1; round <= rounds; round++) {
      // Alternate which one goes first, so a slow second half of a round hits both alike.
      const order = round % 2 === 1 ? (["without", "with"] as const) : (["with", "without"] as const);
      for (const which of order) {
        if (which === "without") {
          without.push(await run(plain));
        } else {
          const scraping = setInterval(() => {
            fetch(metricsUrl).then(
              async (response) => {
                scrapeBytes = (await response.text()).length;
                scrapes++;
              },
              (error: unknown) => ctx.log(`  scrape failed: ${String(error)}`),
            );
          }, SCRAPE_INTERVAL_MS);
          try {
            withMetrics.push(await run(exported));
          } finally {
            clearInterval(scraping);
          }
        }
        const result = (which === "without" ? without : withMetrics).at(-1)!;
        if (result.errors > 0) throw new Error(`metrics ${which}: ${result.errors} unexpected replies`);
        ctx.log(
          `  round ${round} ${which === "with" ? "with exporter   " : "without exporter"} ${human(result.perSec)} msg/s`,
        );
      }
    }
    // The exporter's own cost, without the noise of two loaded processes: CPU of a scrape of the
    // server as the load left it (every Type and handler counted), next to the server's CPU per
    // second under load. At one scrape per second this share bounds what the exporter can take off
    // the throughput of a CPU-bound server.
    scrapeCpuUs = await exported.call<number>("scrapeCost", 50);
  } finally {
    await Promise.all([load.stop(), plain.stop(), exported.stop()]);
  }
  const perRound = (pick: (r: LoadResult) => number) =>
    Math.round(median(withMetrics.map((r, i) => pick(r) / pick(without[i]!))) * 1000) / 1000;
  const vsWithout = perRound((r) => r.perSec);
  const cpuVsWithout = perRound((r) => r.serverCpuUsPerMsg!);
  const serverCpuUsPerSec = median(withMetrics.map((r) => r.serverCpuUsPerMsg! * r.perSec));
  const scrapeShare =
    Math.round(((scrapeCpuUs * 1_000) / SCRAPE_INTERVAL_MS / serverCpuUsPerSec) * 1e5) / 1e5;
  const expectedScrapes = rounds * Math.floor((warmupMs + durationMs) / SCRAPE_INTERVAL_MS);
  if (scrapes < expectedScrapes / 2)
    throw new Error(`only ${scrapes} scrapes answered of ~${expectedScrapes}`);
  const s = "metrics";
  return {
    rows: [
      targetRow(
        s,
        `pipelined msg/s, exporter scraped every ${SCRAPE_INTERVAL_MS / 1000} s`,
        human(median(withMetrics.map((r) => r.perSec))),
        `without ${human(median(without.map((r) => r.perSec)))}`,
        vsWithout,
        { min: 0.97 },
      ),
      infoRow(
        s,
        "server CPU per message (us)",
        median(withMetrics.map((r) => r.serverCpuUsPerMsg!)).toFixed(2),
        `without ${median(without.map((r) => r.serverCpuUsPerMsg!)).toFixed(2)}`,
        cpuVsWithout,
      ),
      infoRow(s, "scrapes answered (size of the last)", String(scrapes), `${human(scrapeBytes)} bytes`),
      infoRow(
        s,
        "exporter's own CPU: one scrape (us), share of the loaded server's CPU at 1 scrape/s",
        scrapeCpuUs.toFixed(0),
        `server ${human(serverCpuUsPerSec)} us/s`,
        scrapeShare,
      ),
    ],
    figures: {
      rounds,
      warmupMs,
      durationMs,
      window,
      without,
      withMetrics,
      scrapes,
      scrapeBytes,
      scrapeCpuUs,
      serverCpuUsPerSec,
    },
    summary: { throughput_with_metrics_vs_without: vsWithout, exporter_scrape_cpu_share: scrapeShare },
  };
}
