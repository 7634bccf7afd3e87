/**
 * Driver side of the benchmark processes: starts a child (`node --import tsx --expose-gc`) through a
 * shell that raises the open-files limit first, calls its RPC commands and waits for its events.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url));
/** Repository root: children run there so `--import tsx` and package imports resolve. */
export const REPO_DIR = fileURLToPath(new URL("../..", import.meta.url));

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** Options of {@link BenchProcess.start}. */
export interface StartOptions {
  /** Open-files limit to ask for (soft limit raised up to the hard limit when refused). */
  fdLimit?: number;
  /** Milliseconds to wait for the child's `ready` event. Default 60 000. */
  readyTimeoutMs?: number;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeFlags?: readonly string[];
  /** Max old space (MB) for children holding many connections. */
  maxOldSpaceMb?: number;
  /** CPUs to run on (a `taskset -c` list such as `"1"`); ignored where `taskset` is missing. */
  cpus?: string;
}

/** A benchmark child process with an RPC channel. */
export class BenchProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** What the child sent with its `ready` event (e.g. `{ port }`). */
  ready: Record<string, unknown> = {};
  readonly exited: Promise<number | null>;
  readonly #pending = new Map<number, Pending>();
  readonly #events: Array<{ event: string; data: unknown }> = [];
  readonly #waiters = new Set<() => void>();
  #nextId = 1;
  #exitCode: number | null | undefined;

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.child = child;
    child.on(
      "message",
      (message: { rpcId?: number; result?: unknown; error?: string; event?: string; data?: unknown }) => {
        if (typeof message.rpcId === "number") {
          const pending = this.#pending.get(message.rpcId);
          this.#pending.delete(message.rpcId);
          if (message.error !== undefined) pending?.reject(new Error(`${name}: ${message.error}`));
          else pending?.resolve(message.result);
          return;
        }
        if (typeof message.event === "string") {
          this.#events.push({ event: message.event, data: message.data });
          for (const wake of [...this.#waiters]) wake();
        }
      },
    );
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        this.#exitCode = code ?? (signal === null ? null : -1);
        for (const pending of this.#pending.values())
          pending.reject(new Error(`${name} exited (${code ?? signal})`));
        this.#pending.clear();
        for (const wake of [...this.#waiters]) wake();
        resolve(this.#exitCode);
      }),
    );
  }

  /** Starts `script` (relative to bench/ or absolute) with `config` and waits for `ready`. */
  static async start(
    name: string,
    script: string,
    config: unknown,
    options: StartOptions = {},
  ): Promise<BenchProcess> {
    const path = script.startsWith("/") ? script : `${BENCH_DIR}${script}`;
    const fd = options.fdLimit ?? 65_536;
    const flags = ["--import", "tsx", "--expose-gc", ...(options.nodeFlags ?? [])];
    if (options.maxOldSpaceMb !== undefined) flags.push(`--max-old-space-size=${options.maxOldSpaceMb}`);
    // `ulimit -n` only works in a shell; `exec` keeps the IPC channel (fd 3) open for node.
    const pin =
      options.cpus === undefined
        ? ""
        : `command -v taskset >/dev/null 2>&1 && exec taskset -c ${options.cpus} "$@"; `;
    const shell = `ulimit -n ${fd} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; ${pin}exec "$@"`;
    const child = spawn("sh", ["-c", shell, "sh", process.execPath, ...flags, path, JSON.stringify(config)], {
      cwd: REPO_DIR,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const proc = new BenchProcess(name, child);
    const ready = await proc.nextEvent("ready", options.readyTimeoutMs ?? 60_000);
    proc.ready = (ready ?? {}) as Record<string, unknown>;
    return proc;
  }

  /** Calls `cmd` in the child; rejects with the child's error or when it exits. */
  call<T = unknown>(cmd: string, arg: unknown = null, timeoutMs = 600_000): Promise<T> {
    if (this.#exitCode !== undefined) return Promise.reject(new Error(`${this.name} has exited`));
    const rpcId = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(rpcId);
        reject(new Error(`${this.name}: ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(rpcId, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ rpcId, cmd, arg });
    });
  }

  /** The next not-yet-taken event named `event` (past or future). */
  nextEvent(event: string, timeoutMs = 60_000): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const index = this.#events.findIndex((e) => e.event === event);
        if (index >= 0) {
          done();
          resolve(this.#events.splice(index, 1)[0]!.data);
        } else if (this.#exitCode !== undefined) {
          done();
          reject(new Error(`${this.name} exited (${this.#exitCode}) before '${event}'`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no '${event}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Asks the child to exit (closing IPC makes it exit) and kills it if it does not within 5 s. */
  async stop(): Promise<void> {
    if (this.#exitCode !== undefined) return;
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills the child at once (SIGKILL), like a crashed server. */
  async kill(): Promise<void> {
    if (this.#exitCode !== undefined) return;
    this.child.kill("SIGKILL");
    await this.exited;
  }
}
