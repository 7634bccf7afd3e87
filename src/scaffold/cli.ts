/**
 * Glue shared by the scaffolding commands: where the protos are (flags first, then the project's
 * package.json) and how failures are printed. Light on purpose: commands import it before deciding
 * what heavy modules they need.
 */
import type { Command } from "@oclif/core";
import { formatDiagnostic } from "../model/diagnostics.js";
import type { Diagnostic } from "../model/types.js";
import { readProjectLayout } from "./config.js";
import { ScaffoldError } from "./errors.js";
import type { ModelSources } from "./project-model.js";

/** Flags every model-reading command accepts. */
export interface SourceFlags {
  readonly proto?: readonly string[] | undefined;
  readonly "proto-path"?: readonly string[] | undefined;
  readonly map?: string | undefined;
  readonly name?: string | undefined;
}

/**
 * The model sources of a run: `--proto`/positional files, `-I` and `--map` when given, else the
 * package.json `paynet` block of the project around `cwd`. Relative paths stay relative to `cwd`
 * so diagnostics show them as the user typed them.
 */
export function resolveSources(flags: SourceFlags, positional: readonly string[], cwd: string): ModelSources {
  const explicit = [...positional, ...(flags.proto ?? [])];
  const layout = explicit.length > 0 && flags.map !== undefined ? undefined : readProjectLayout(cwd);
  return {
    cwd,
    inputs: explicit.length > 0 ? explicit : (layout?.proto ?? []),
    protoPaths: flags["proto-path"] ?? (explicit.length > 0 ? [] : (layout?.protoPaths ?? [])),
    map: flags.map ?? (explicit.length > 0 ? undefined : layout?.map),
    name: flags.name ?? layout?.name,
  };
}

/** Prints diagnostics the way `generate` does: one compiler-style line each, on stderr. */
export function printDiagnostics(diagnostics: readonly Diagnostic[]): void {
  for (const diagnostic of diagnostics) process.stderr.write(`${formatDiagnostic(diagnostic)}\n`);
}

/**
 * Reports a failed run and exits 1: the diagnostics of a failed load, or the message and code of a
 * scaffolding error. Anything else is a bug and propagates.
 */
export function fail(command: Command, error: unknown, options: { writes?: boolean } = {}): never {
  if (error instanceof ScaffoldError) {
    const diagnostics = (error as ScaffoldError & { diagnostics?: readonly Diagnostic[] }).diagnostics;
    if (diagnostics !== undefined) {
      printDiagnostics(diagnostics);
      const suffix = options.writes === false ? "" : "; nothing written";
      command.error(`${error.message}${suffix}`, { exit: 1, code: error.code });
    }
    command.error(error.message, { exit: 1, code: error.code });
  }
  throw error;
}
