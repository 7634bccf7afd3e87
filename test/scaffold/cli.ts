/** Runs the built CLI (`node bin/run.js`) the way a user would, and temp-directory helpers. */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { scaled } from "../helpers/time.js";

export const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const BIN = join(REPO, "bin", "run.js");

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Safety net: the process is killed after this long (stretched by the time factor). Default 120 s. */
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
  const { timeoutMs: safetyMs = 120_000, env = process.env } =
    typeof options === "number" ? { timeoutMs: options } : options;
  const timeoutMs = scaled(safetyMs);
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

/**
 * The environment of a user's shell: this one without what npm adds for the scripts it runs
 * (`npm_config_local_prefix` and friends would point a nested npm at this repository).
 */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== "INIT_CWD") env[key] = value;
  }
  return { ...env, ...extra };
}

/**
 * Shell commands typed into a terminal: run by `sh -e` in their own process group (the terminal's
 * foreground job), so {@link ShellSession.interrupt} is Ctrl-C to all of them.
 */
export class ShellSession {
  readonly #child: ChildProcess;
  #output = "";
  readonly #listeners = new Set<() => void>();
  readonly exited: Promise<number>;

  constructor(lines: readonly string[], cwd: string, env: NodeJS.ProcessEnv) {
    this.#child = spawn("sh", ["-e", "-c", lines.join("\n")], {
      cwd,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const take = (chunk: Buffer) => {
      this.#output += chunk.toString("utf8");
      for (const listener of this.#listeners) listener();
    };
    this.#child.stdout!.on("data", take);
    this.#child.stderr!.on("data", take);
    this.exited = new Promise((resolve) => {
      this.#child.once("close", (code, signal) => {
        for (const listener of this.#listeners) listener();
        resolve(code ?? (signal === null ? 1 : 128));
      });
    });
  }

  /** stdout and stderr so far, interleaved as they came. */
  get output(): string {
    return this.#output;
  }

  /**
   * Resolves once the output satisfies `done`; rejects, naming `what` and showing the output, when the
   * commands exit first or `safetyMs` (stretched by the time factor) passes.
   */
  waitFor(what: string, done: (output: string) => boolean, safetyMs: number): Promise<void> {
    const timeoutMs = scaled(safetyMs);
    return new Promise((resolve, reject) => {
      let finished = false;
      const check = () => {
        if (finished) return;
        if (done(this.#output)) settle();
        else if (this.#child.exitCode !== null || this.#child.signalCode !== null)
          settle(new Error(`the commands exited before ${what}:\n${this.#output}`));
      };
      const timer = setTimeout(
        () => settle(new Error(`no ${what} within ${timeoutMs} ms:\n${this.#output}`)),
        timeoutMs,
      );
      const settle = (error?: Error) => {
        finished = true;
        clearTimeout(timer);
        this.#listeners.delete(check);
        if (error === undefined) resolve();
        else reject(error);
      };
      this.#listeners.add(check);
      check();
    });
  }

  /** Ctrl-C: SIGINT to every process of the session. */
  interrupt(): void {
    this.#signal("SIGINT");
  }

  /** Ends whatever is still running (cleanup after a failure). */
  kill(): void {
    this.#signal("SIGKILL");
  }

  #signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.#child.pid!, signal);
    } catch {
      // The group has exited already.
    }
  }
}
