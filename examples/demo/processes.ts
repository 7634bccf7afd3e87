/**
 * Child processes followed line by line: start a program, wait for a log line matching a pattern,
 * stop it. Used by the demo and by the acceptance tests, which both judge the example programs by
 * what they print, never by sleeping.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** Repository root (this file is examples/demo/processes.ts). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The example programs and their entry files, relative to the repository root. */
export const PROGRAMS = {
  paynetd: "examples/paynetd/main.ts",
  paynetcli: "examples/paynetcli/main.ts",
} as const;

export interface StartOptions {
  /** Label for errors (e.g. `paynetd`). */
  readonly name: string;
  /** Program to run (default: this node binary). */
  readonly command?: string;
  /** Its arguments (for node: a script and its arguments). */
  readonly args: readonly string[];
  /** Called with every output line (stdout and stderr) as it arrives. */
  readonly echo?: (line: string) => void;
  readonly env?: NodeJS.ProcessEnv;
}

/** A line that matched, with its position in the process's output. */
export interface LineMatch {
  readonly line: string;
  readonly match: RegExpExecArray;
  readonly index: number;
}

/** Why waiting for a line failed; the message quotes the last lines of output. */
export class LineTimeoutError extends Error {
  readonly code = "LINE_TIMEOUT";

  constructor(name: string, pattern: RegExp, reason: string, tail: readonly string[]) {
    super(
      `${name}: no line matching ${pattern} ${reason}; last output:\n${tail.map((l) => `  | ${l}`).join("\n")}`,
    );
    this.name = "LineTimeoutError";
  }
}

interface Waiter {
  readonly pattern: RegExp;
  readonly from: number;
  readonly resolve: (match: LineMatch) => void;
  readonly reject: (error: Error) => void;
}

/** A running child process and everything it printed. */
export class ManagedProcess {
  readonly name: string;
  readonly lines: string[] = [];
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #child: ChildProcess;
  readonly #waiters = new Set<Waiter>();
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Its output pipes are closed: no line can come any more (a grandchild may outlive the child). */
  #closed = false;

  constructor(options: StartOptions) {
    this.name = options.name;
    this.#child = spawn(options.command ?? process.execPath, [...options.args], {
      cwd: REPO_ROOT,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on("line", (line) => {
        this.lines.push(line);
        options.echo?.(line);
        this.#offer(line, this.lines.length - 1);
      });
    }
    this.exited = new Promise((resolve) => {
      this.#child.once("exit", (code, signal) => {
        this.#exit = { code, signal };
        // Let the last buffered lines arrive first.
        setImmediate(() => resolve({ code, signal }));
      });
    });
    // Waiters fail once no more output can come, which is when the pipes close: usually right
    // after the exit, later when a grandchild (npm → sh → node) still writes to them.
    this.#child.once("close", (code, signal) => {
      this.#closed = true;
      for (const waiter of this.#waiters) {
        waiter.reject(this.#timeout(waiter.pattern, `(process exited with ${signal ?? `code ${code}`})`));
      }
      this.#waiters.clear();
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /**
   * Resolves with the first line matching `pattern` at or after line index `from` (default 0: lines
   * already printed count too). Rejects after `timeoutMs`, or when the process has exited and its
   * output is closed.
   */
  waitForLine(pattern: RegExp, timeoutMs: number, from = 0): Promise<LineMatch> {
    const found = this.find(pattern, from);
    if (found !== undefined) return Promise.resolve(found);
    if (this.#closed) return Promise.reject(this.#timeout(pattern, "(process has exited)"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(this.#timeout(pattern, `within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        pattern,
        from,
        resolve: (match) => {
          clearTimeout(timer);
          resolve(match);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** The first line matching `pattern` at or after `from`, if printed already. */
  find(pattern: RegExp, from = 0): LineMatch | undefined {
    for (let index = from; index < this.lines.length; index++) {
      const match = pattern.exec(this.lines[index] as string);
      if (match !== null) return { line: this.lines[index] as string, match, index };
    }
    return undefined;
  }

  /** How many lines printed so far match `pattern`. */
  count(pattern: RegExp): number {
    return this.lines.filter((line) => pattern.test(line)).length;
  }

  /**
   * Sends `signal` and resolves with the exit; SIGKILLs the process if it has not exited after
   * `graceMs`.
   */
  async stop(
    signal: NodeJS.Signals = "SIGTERM",
    graceMs = 5_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.#exit === undefined) {
      this.#child.kill(signal);
      const timer = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exited;
  }

  /** Kills the process at once (cleanup after a failure). */
  kill(): void {
    if (this.#exit === undefined) this.#child.kill("SIGKILL");
  }

  #offer(line: string, index: number): void {
    for (const waiter of this.#waiters) {
      if (index < waiter.from) continue;
      const match = waiter.pattern.exec(line);
      if (match === null) continue;
      this.#waiters.delete(waiter);
      waiter.resolve({ line, match, index });
    }
  }

  #timeout(pattern: RegExp, reason: string): LineTimeoutError {
    return new LineTimeoutError(this.name, pattern, reason, this.lines.slice(-15));
  }
}

/**
 * Node arguments that run a TypeScript example program in the node process itself, as the npm
 * scripts do (examples/register.mjs: tsx with examples/tsconfig.json, the runtime from source).
 */
export function exampleArgs(program: keyof typeof PROGRAMS, args: readonly string[]): string[] {
  return ["--import", REGISTER_TSX, PROGRAMS[program], ...args];
}

/** examples/register.mjs as a file URL, so `--import` finds it from any working directory. */
export const REGISTER_TSX = new URL("../register.mjs", import.meta.url).href;

/**
 * The environment example programs run in when the demo or a test starts them: readable lines
 * (`pretty`, which they would pick on a terminal, not on a pipe), heartbeats shown (debug), and an
 * immediate drain on SIGTERM (no load balancer to wait for). Flags and `extra` still win.
 */
export function exampleEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PAYNETD_LOG_FORMAT: "pretty",
    PAYNETD_LOG_LEVEL: "debug",
    PAYNETD_DRAIN_GRACE: "0",
    PAYNETCLI_LOG_FORMAT: "pretty",
    PAYNETCLI_LOG_LEVEL: "debug",
    ...extra,
  };
}

/** Starts paynetd or paynetcli with `args`. */
export function startExample(
  program: keyof typeof PROGRAMS,
  args: readonly string[],
  options: { name?: string; echo?: (line: string) => void; env?: NodeJS.ProcessEnv } = {},
): ManagedProcess {
  return new ManagedProcess({
    name: options.name ?? program,
    args: exampleArgs(program, args),
    env: options.env ?? exampleEnv(),
    ...(options.echo === undefined ? {} : { echo: options.echo }),
  });
}

/**
 * The readiness line of paynetd in either log format: `[paynetd] listening HOST:PORT` (pretty) or
 * the NDJSON line whose `msg` is `listening HOST:PORT` (`"event":"listening"`). Captures host and port.
 */
export const LISTENING_LINE = /^(?:\[paynetd\] listening (\S+):(\d+)$|\{.*"msg":"listening (\S+):(\d+)")/;

/** The `HOST:PORT` paynetd printed in its `listening` line (either log format). */
export async function waitForListening(
  paynetd: ManagedProcess,
  timeoutMs: number,
  from = 0,
): Promise<{ host: string; port: number }> {
  const { match } = await paynetd.waitForLine(LISTENING_LINE, timeoutMs, from);
  return { host: (match[1] ?? match[3]) as string, port: Number(match[2] ?? match[4]) };
}

/** The ops URL paynetd printed (`ops listening http://HOST:PORT (...)`), either log format. */
export async function waitForOps(paynetd: ManagedProcess, timeoutMs: number, from = 0): Promise<string> {
  const { match } = await paynetd.waitForLine(/ops listening (http:\/\/[^\s"]+)/, timeoutMs, from);
  return match[1] as string;
}

/** The admin URL paynetd printed (`admin listening http://...`). */
export async function waitForAdmin(paynetd: ManagedProcess, timeoutMs: number, from = 0): Promise<string> {
  const { match } = await paynetd.waitForLine(/admin listening (http:\/\/\S+)/, timeoutMs, from);
  return match[1] as string;
}

/**
 * The admin token a paynetd started with `args` requires: `--admin-token`, else the file
 * `--admin-token-file` or `admin.token` in `--certs` (paynetd writes it at its first start, before
 * its `admin listening` line).
 */
export async function adminTokenOf(args: readonly string[]): Promise<string> {
  const flag = (name: string) => {
    const index = args.indexOf(name);
    return index < 0 ? undefined : args[index + 1];
  };
  const token = flag("--admin-token");
  if (token !== undefined) return token;
  const file = flag("--admin-token-file") ?? join(flag("--certs") ?? ".", "admin.token");
  return (await readFile(resolve(REPO_ROOT, file), "utf8")).trim();
}
