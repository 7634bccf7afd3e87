/** What every scenario gets from the driver. */
import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";
import type { BenchPkiFiles } from "../lib/pki.js";
import type { Row } from "../lib/report.js";

export interface BenchContext {
  readonly pki: BenchPkiFiles;
  /** Directory of the generated Paybox SDK (index.ts inside). */
  readonly sdkDir: string;
  /** protobufjs static module (CommonJS) of paybox.proto. */
  readonly pbjsFile: string;
  /** Scratch directory of this run. */
  readonly tmpDir: string;
  readonly quick: boolean;
  readonly scale: boolean;
  /** Connections of the scale scenario. */
  readonly connections: number;
  /** 48-byte TLS ticket keys (hex) shared by the server processes of this run. */
  readonly ticketKeys: string;
  /** Extra node flags for paynet server children (e.g. `--cpu-prof`). */
  readonly serverNodeFlags: readonly string[];
  /**
   * CPUs (`taskset -c` lists) for the servers and for the load of the one-connection scenarios, or
   * undefined (one CPU, no `taskset`): see {@link placement}.
   */
  readonly placement: { readonly server: string; readonly load: string } | undefined;
  log(message: string): void;
}

/** What a scenario returns: table rows, the figures (for the JSON file) and the summary ratios. */
export interface ScenarioResult {
  readonly rows: Row[];
  readonly figures: Record<string, unknown>;
  readonly summary: Record<string, number>;
}

/** The `BenchProcess.start` option that puts a `role` process where {@link placement} says. */
export function pinnedAs(ctx: BenchContext, role: "server" | "load"): { cpus?: string } {
  return ctx.placement === undefined ? {} : { cpus: ctx.placement[role] };
}

/**
 * Where the servers and the load generator of a one-connection scenario run: the servers on the
 * last CPU, the load on the first, like a server whose devices are on the network. Left to the
 * scheduler, two processes that wake each other per batch land on one core in some runs and on two
 * in others, and a server's CPU per message differs about threefold between the two (on one core the
 * wake-ups are nearly free), so a ratio measured across runs would mean two different things.
 * `PAYNET_BENCH_PIN=0` leaves placement to the scheduler.
 */
export function placement(): BenchContext["placement"] {
  const cpus = availableParallelism();
  if (cpus < 2 || process.env.PAYNET_BENCH_PIN === "0") return undefined;
  try {
    execFileSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  return { server: String(cpus - 1), load: "0" };
}
