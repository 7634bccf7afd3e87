/**
 * A private `redis-server` (for `npm run demo:cluster` and the cluster tests): its own free port on
 * 127.0.0.1, its own data directory, AOF with `appendfsync always` (as docs/cluster.md asks for
 * payments), never the shared 6379. It can be killed with SIGKILL and restarted on the same port
 * and data, as a crash would.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Whether `redis-server` can be run here. */
export function redisInstalled(): boolean {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  return probe.error === undefined && probe.status === 0;
}

/** A running private Redis. */
export interface TestRedis {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** SIGKILL: no shutdown, no final save (what AOF with fsync always must survive). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  /** SIGSTOP: a Redis that hangs with its connections up (a stalled VM, swapping). */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** Stops it and removes its data directory. */
  stop(): Promise<void>;
  /** Runs one command through redis-cli (for setup and inspection). */
  cli(...args: string[]): string;
}

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Arguments of a private redis-server: loopback only, its own data directory, no RDB snapshots,
 * AOF with `appendfsync always` (what payments need) unless `aof` is false, logging to stdout.
 */
export function privateRedisArgs(port: number, dir: string, options: { aof?: boolean } = {}): string[] {
  return [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    options.aof === false ? "no" : "yes",
    "--appendfsync",
    "always",
    "--daemonize",
    "no",
    "--protected-mode",
    "no",
    "--logfile",
    "",
  ];
}

/** Starts a private redis-server; resolves once it accepts connections. */
export async function startRedis(options: { aof?: boolean } = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "paynet-redis-"));
  const args = privateRedisArgs(port, dir, options);
  let child: ChildProcess | undefined;
  const launch = async () => {
    const started = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    child = started;
    let output = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 15_000);
      started.stdout?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
      started.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${output}`));
      });
    });
    started.stdout?.resume();
    started.stderr?.resume();
  };
  const kill = async () => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
    running.kill("SIGKILL");
    await exited;
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    kill,
    restart: launch,
    pause: () => void child?.kill("SIGSTOP"),
    resume: () => void child?.kill("SIGCONT"),
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
    cli: (...command: string[]) => {
      const result = spawnSync("redis-cli", ["-p", String(port), ...command], { encoding: "utf8" });
      if (result.status !== 0) throw new Error(`redis-cli ${command.join(" ")}: ${result.stderr}`);
      return result.stdout.trim();
    },
  };
}
