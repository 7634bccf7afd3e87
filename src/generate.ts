/**
 * `generate` as a function: load and validate the protos, emit the SDK in memory, then either write it
 * (atomically, only when there is no error) or compare it with the output directory (`check`).
 * Heavy modules (protobufjs, handlebars, the emitters) are imported on first use so that importing
 * this module — e.g. for `paynet-gen --help` — stays cheap.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { EmitOptions, GeneratedFile } from "./emit/types.js";
import type { OutputDifference, WriteResult } from "./emit/write.js";
import type { Diagnostic, ProtoModel } from "./model/types.js";

export type GenerateTarget = EmitOptions["target"];
/** Language of the generated SDK: TypeScript on @paynet/runtime, or C on the paynet C runtime. */
export type GenerateLanguage = "ts" | "c";
export type Int64Mode = EmitOptions["int64"];

export interface GenerateOptions {
  /** `.proto` files to generate from. */
  readonly inputs: readonly string[];
  /** Output directory of the SDK. */
  readonly out: string;
  /** Import search directories (`-I`). The directory of each input is searched too. */
  readonly protoPaths?: readonly string[];
  /** Sidecar map (YAML or JSON) with Type-ID annotations for protos that must stay untouched. */
  readonly mapFile?: string;
  /** Facade name prefix (`Paybox`); default: the first input's package in PascalCase. */
  readonly name?: string;
  /** Default `ts`. */
  readonly lang?: GenerateLanguage;
  /** Default `both` (TypeScript only). */
  readonly target?: GenerateTarget;
  /** Default `bigint`. */
  readonly int64?: Int64Mode;
  /** Compare with the output directory instead of writing. */
  readonly check?: boolean;
  /** Base of relative paths. Default `process.cwd()`. */
  readonly cwd?: string;
  /** Version written into file headers. Default: this package's version. */
  readonly generatorVersion?: string;
}

export interface GenerateResult {
  /** No error diagnostics, and with `check`: no differences. */
  readonly ok: boolean;
  /** Errors and warnings, in the loader's order. */
  readonly diagnostics: readonly Diagnostic[];
  /** The SDK as generated in memory (empty when the protos have errors or the output path is unusable). */
  readonly files: readonly GeneratedFile[];
  /** Without `check`, when written: what happened to each file. */
  readonly written?: WriteResult;
  /** With `check`: differences between disk and the generated SDK (empty: up to date). */
  readonly differences?: readonly OutputDifference[];
}

/** Version of paynet-gen, from its package.json (two levels above `src/` and `dist/` files). */
export function generatorVersion(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const pkg = JSON.parse(readFileSync(join(here, "..", "package.json"), "utf8")) as { version?: unknown };
  return typeof pkg.version === "string" ? pkg.version : "0.0.0";
}

/** Loads the model and emits the SDK in memory; nothing touches the output directory. */
export async function renderSdk(
  options: GenerateOptions,
): Promise<{ model: ProtoModel | undefined; diagnostics: readonly Diagnostic[]; files: GeneratedFile[] }> {
  const { loadModel } = await import("./model/index.js");
  const { model, diagnostics } = await loadModel({
    inputs: [...options.inputs],
    ...(options.protoPaths === undefined ? {} : { protoPaths: [...options.protoPaths] }),
    ...(options.mapFile === undefined ? {} : { mapFile: options.mapFile }),
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  const failed = model === undefined || diagnostics.some((diagnostic) => diagnostic.severity === "error");
  if (failed) return { model, diagnostics, files: [] };
  const version = options.generatorVersion ?? generatorVersion();
  if (options.lang === "c") {
    const { emitCSdk } = await import("./emit/c/index.js");
    const c = emitCSdk(model, { generatorVersion: version });
    return { model, diagnostics: [...diagnostics, ...c.diagnostics], files: c.files };
  }
  const { emitSdk } = await import("./emit/index.js");
  const files = emitSdk(model, {
    target: options.target ?? "both",
    int64: options.int64 ?? "bigint",
    generatorVersion: version,
  });
  return { model, diagnostics, files };
}

/**
 * Generates the SDK into `options.out`, or with `check` compares it with what is there. Nothing is
 * written when any diagnostic is an error.
 */
export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const { model, diagnostics, files } = await renderSdk(options);
  if (model === undefined || files.length === 0) return { ok: false, diagnostics, files };
  const { resolve } = await import("node:path");
  const out = resolve(options.cwd ?? process.cwd(), options.out);
  const { compareOutput, OutputPathError, writeGeneratedFiles } = await import("./emit/write.js");
  try {
    if (options.check === true) {
      const differences = await compareOutput(out, files);
      return { ok: differences.length === 0, diagnostics, files, differences };
    }
    const written = await writeGeneratedFiles(out, files);
    return { ok: true, diagnostics, files, written };
  } catch (error) {
    // An output path that cannot hold the SDK is the user's to fix, like a proto error.
    if (!(error instanceof OutputPathError)) throw error;
    const problem: Diagnostic = { severity: "error", rule: error.code, message: error.message };
    return { ok: false, diagnostics: [...diagnostics, problem], files: [] };
  }
}
