/** What every scenario gets from the driver. */
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
  log(message: string): void;
}

/** What a scenario returns: table rows, the figures (for the JSON file) and the summary ratios. */
export interface ScenarioResult {
  readonly rows: Row[];
  readonly figures: Record<string, unknown>;
  readonly summary: Record<string, number>;
}
