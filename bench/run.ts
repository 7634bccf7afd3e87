/**
 * `npm run bench [-- --quick | --scale | --only NAME[,NAME] | --connections N | --cpu-prof]`
 *
 * Runs every scenario with servers and load in separate processes, prints a table of figures and
 * ratios measured side by side in this run with MET/MISSED per target, writes
 * bench/results/<timestamp>.json and bench/results/latest.json, and ends with one JSON line of ratios.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, freemem, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { issueBenchPki } from "./lib/pki.js";
import { REPO_DIR } from "./lib/proc.js";
import { type Row, renderTable } from "./lib/report.js";
import { assertBuilt, generatePbjs, generateSdk } from "./lib/setup.js";
import { clusterScenario } from "./scenarios/cluster.js";
import { clusterScaleScenario } from "./scenarios/cluster-scale.js";
import { codecScenario } from "./scenarios/codec.js";
import { codegenScenario } from "./scenarios/codegen.js";
import { type BenchContext, placement, type ScenarioResult } from "./scenarios/context.js";
import { metricsScenario } from "./scenarios/metrics.js";
import { resumptionScenario } from "./scenarios/resumption.js";
import { scaleScenario } from "./scenarios/scale.js";
import { throughputScenario } from "./scenarios/throughput.js";

const SCENARIOS: Record<string, (ctx: BenchContext) => Promise<ScenarioResult>> = {
  throughput: throughputScenario,
  metrics: metricsScenario,
  scale: scaleScenario,
  resumption: resumptionScenario,
  codec: codecScenario,
  codegen: codegenScenario,
  cluster: clusterScenario,
  "cluster-scale": clusterScaleScenario,
};

/** Scenarios run only when named with `--only` (they need redis-server; see bench/README.md). */
const ON_REQUEST = new Set(["cluster", "cluster-scale"]);

/** Keys of the final JSON line, in order; each comes from one scenario of this run. */
const SUMMARY_KEYS = [
  "throughput_vs_raw_tls",
  "throughput_vs_grpc",
  "p99_vs_raw_tls",
  "cpu_per_msg_vs_raw_tls",
  "throughput_with_metrics_vs_without",
  "exporter_scrape_cpu_share",
  "mem_per_conn_vs_raw_tls",
  "resumed_share",
  "codec_vs_protobufjs",
  "codegen_vs_pbjs",
] as const;

interface Args {
  quick: boolean;
  scale: boolean;
  only: string[];
  connections: number | undefined;
  cpuProf: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, scale: false, only: [], connections: undefined, cpuProf: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--quick") args.quick = true;
    else if (arg === "--scale") {
      args.scale = true;
      // `--scale N`: fewer devices for a quick run.
      if (/^\d+$/.test(argv[i + 1] ?? "")) args.connections = Number(argv[++i]);
    } else if (arg === "--cpu-prof") args.cpuProf = true;
    else if (arg === "--only") args.only.push(...(argv[++i] ?? "").split(",").filter(Boolean));
    else if (arg.startsWith("--only=")) args.only.push(...arg.slice(7).split(",").filter(Boolean));
    else if (arg === "--connections") args.connections = Number(argv[++i]);
    else if (arg === "--help" || arg === "-h") {
      console.log(
        "usage: npm run bench -- [--quick] [--scale [N]] [--only throughput,metrics,scale,resumption,codec,codegen,cluster,cluster-scale] [--connections N] [--cpu-prof]",
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (see --help)`);
  }
  for (const name of args.only)
    if (!(name in SCENARIOS))
      throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(", ")}`);
  if (args.connections !== undefined && !(Number.isInteger(args.connections) && args.connections > 0)) {
    throw new Error("--connections expects a positive integer");
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  assertBuilt();
  const started = Date.now();
  const log = (message: string) => process.stderr.write(`${message}\n`);
  const tmpDir = mkdtempSync(join(tmpdir(), "paynet-bench-"));
  const resultsDir = join(REPO_DIR, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  try {
    log(
      `paynet bench (${args.quick ? "quick" : args.scale ? "scale" : "default"}) — node ${process.version}, ${cpus().length} cpus`,
    );
    log("setup: certificates (P-256), generated SDK, protobufjs static module");
    const pki = await issueBenchPki(join(tmpDir, "pki"));
    const sdkDir = generateSdk();
    const pbjsFile = generatePbjs();
    const ctx: BenchContext = {
      pki,
      sdkDir,
      pbjsFile,
      tmpDir,
      quick: args.quick,
      scale: args.scale,
      connections: args.connections ?? (args.scale ? 100_000 : args.quick ? 2_000 : 5_000),
      ticketKeys: randomBytes(48).toString("hex"),
      serverNodeFlags: args.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${resultsDir}`] : [],
      placement: placement(),
      log,
    };
    // --scale alone is the cluster at scale: N devices over >= 6 server and >= 6 load processes.
    const names =
      args.only.length > 0
        ? args.only
        : args.scale
          ? ["cluster-scale"]
          : Object.keys(SCENARIOS).filter((name) => !ON_REQUEST.has(name));
    const rows: Row[] = [];
    const figures: Record<string, unknown> = {};
    const summary: Record<string, number> = {};
    const failures: Record<string, string> = {};
    for (const name of names) {
      log(`scenario ${name}`);
      const t0 = Date.now();
      try {
        const result = await SCENARIOS[name]!(ctx);
        rows.push(...result.rows);
        figures[name] = result.figures;
        Object.assign(summary, result.summary);
      } catch (error) {
        failures[name] = error instanceof Error ? (error.stack ?? error.message) : String(error);
        log(`scenario ${name} FAILED: ${failures[name]}`);
      }
      log(`scenario ${name} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    const line: Record<string, number | null> = {};
    for (const key of SUMMARY_KEYS) line[key] = Number.isFinite(summary[key]) ? summary[key]! : null;
    for (const [key, value] of Object.entries(summary))
      if (!(key in line)) line[key] = Number.isFinite(value) ? value : null;
    const missed = rows.filter((r) => r.verdict === "MISSED").map((r) => `${r.scenario}: ${r.metric}`);
    const report = {
      startedAt: new Date(started).toISOString(),
      durationSec: (Date.now() - started) / 1000,
      mode: args.quick ? "quick" : args.scale ? "scale" : "default",
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? "unknown",
        totalMemBytes: totalmem(),
        freeMemBytes: freemem(),
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
      },
      summary: line,
      missed,
      failures,
      rows,
      figures,
    };
    const json = JSON.stringify(report, null, 2);
    const stamp = new Date(started).toISOString().replace(/[:.]/g, "-");
    writeFileSync(join(resultsDir, `${stamp}.json`), json);
    writeFileSync(join(resultsDir, "latest.json"), json);
    console.log("");
    console.log(renderTable(rows));
    console.log("");
    if (missed.length > 0) console.log(`targets missed: ${missed.join("; ")}`);
    if (Object.keys(failures).length > 0)
      console.log(`scenarios failed: ${Object.keys(failures).join(", ")}`);
    console.log(`results: bench/results/${stamp}.json (and latest.json), ${report.durationSec.toFixed(0)} s`);
    console.log(JSON.stringify(line));
    if (Object.keys(failures).length > 0) process.exitCode = 1;
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

await main();
