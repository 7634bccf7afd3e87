/** Runs the built CLI (`node bin/run.js`) the way a user would, and temp-directory helpers. */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const BIN = join(REPO, "bin", "run.js");

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Safety net: the process is killed after this long. Default 120 s. */
  readonly timeoutMs?: number;
  /** Environment of the process. Default: this process's. */
  readonly env?: NodeJS.ProcessEnv;
}

/** Spawns a command and resolves with its exit code and output (never rejects on a non-zero exit). */
export function run(
  command: string,
  args: readonly string[],
  cwd: string,
  options: number | RunOptions = {},
): Promise<CliResult> {
  const { timeoutMs = 120_000, env = process.env } =
    typeof options === "number" ? { timeoutMs: options } : options;
  return new Promise((resolvePromise) => {
    execFile(
      command,
      [...args],
      { cwd, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        // oclif wraps error messages to the terminal width (` ›   ` continuation lines): unwrap them.
        resolvePromise({ code, stdout, stderr: stderr.replace(/ *\n › {3}(?!Error:|Code:|Warning:)/g, " ") });
      },
    );
  });
}

/** `paynet-gen ...args` from `cwd`. */
export function cli(args: readonly string[], cwd: string): Promise<CliResult> {
  return run(process.execPath, [BIN, ...args], cwd);
}

/** A fresh temporary directory and its remover. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `paynet-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Asserts nothing; returns the lines of `after` not in `before` when `before`'s lines all survive in order, else undefined. */
export function addedLines(before: string, after: string): string[] | undefined {
  const old = before.split("\n");
  const added: string[] = [];
  let i = 0;
  for (const line of after.split("\n")) {
    if (i < old.length && line === old[i]) i++;
    else added.push(line);
  }
  return i === old.length ? added : undefined;
}
