/**
 * A private Redis with Sentinel for tests: a primary, one replica (`--replicaof`) and one sentinel
 * (`redis-server <conf> --sentinel`, quorum 1, down after 1 s), each on its own 127.0.0.1 port with
 * its own data directory, AOF with `appendfsync always`. Never the shared 6379 / 26379.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, privateRedisArgs } from "./redis-server.js";

/** The name the sentinel monitors the primary under. */
export const SENTINEL_MASTER = "paynet-test";

export interface TestSentinel {
  readonly primaryPort: number;
  readonly replicaPort: number;
  readonly sentinelPort: number;
  /** What to give `redisCluster({ redis: { sentinels, name } })`. */
  readonly sentinels: ReadonlyArray<{ host: string; port: number }>;
  readonly name: string;
  /** Runs one command through redis-cli on `port`. */
  cli(port: number, ...args: string[]): string;
  /** SIGKILL of the primary (the sentinel then promotes the replica). */
  killPrimary(): Promise<void>;
  /** The primary's port as the sentinel names it now. */
  primaryNow(): number;
  stop(): Promise<void>;
}

function cli(port: number, ...args: string[]): string {
  const result = spawnSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`redis-cli -p ${port} ${args.join(" ")}: ${result.stderr}`);
  return result.stdout.trim();
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (check()) return;
    } catch {
      // Not up yet.
    }
    if (Date.now() > deadline) throw new Error(`Redis Sentinel: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

export async function startSentinel(): Promise<TestSentinel> {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const server = (port: number, extra: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), "paynet-redis-sentinel-"));
    dirs.push(dir);
    const child = spawn("redis-server", [...privateRedisArgs(port, dir), ...extra], { stdio: "ignore" });
    children.push(child);
    return child;
  };
  const primaryPort = await freePort();
  const replicaPort = await freePort();
  const sentinelPort = await freePort();
  const primary = server(primaryPort, []);
  try {
    server(replicaPort, ["--replicaof", "127.0.0.1", String(primaryPort)]);
    await until(() => cli(primaryPort, "PING") === "PONG", 15_000, "the primary");
    await until(
      () => /master_link_status:up/.test(cli(replicaPort, "INFO", "replication")),
      15_000,
      "the replica's link",
    );
    const dir = mkdtempSync(join(tmpdir(), "paynet-redis-sentinel-"));
    dirs.push(dir);
    const conf = join(dir, "sentinel.conf");
    writeFileSync(
      conf,
      [
        `port ${sentinelPort}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${primaryPort} 1`,
        `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
        `sentinel failover-timeout ${SENTINEL_MASTER} 5000`,
        `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
        "",
      ].join("\n"),
    );
    children.push(spawn("redis-server", [conf, "--sentinel"], { stdio: "ignore" }));
    await until(
      () => /slaves=1/.test(cli(sentinelPort, "INFO", "sentinel")),
      15_000,
      "the sentinel to see the replica",
    );
  } catch (error) {
    await Promise.all(children.map(kill));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const primaryNow = () =>
    Number(cli(sentinelPort, "SENTINEL", "get-master-addr-by-name", SENTINEL_MASTER).split("\n")[1]);
  return {
    primaryPort,
    replicaPort,
    sentinelPort,
    sentinels: [{ host: "127.0.0.1", port: sentinelPort }],
    name: SENTINEL_MASTER,
    cli,
    killPrimary: () => kill(primary),
    primaryNow,
    async stop() {
      await Promise.all(children.map(kill));
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}
