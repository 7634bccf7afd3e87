/**
 * A private Redis Cluster (sharded) for tests: N masters (and optionally one replica each), each
 * its own `redis-server --cluster-enabled yes` on 127.0.0.1 with its own data directory and AOF,
 * joined with `redis-cli --cluster create ... --cluster-yes`. Never the shared 6379.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { privateRedisArgs } from "./redis-server.js";

/** A running private Redis Cluster. */
export interface TestRedisCluster {
  readonly ports: readonly number[];
  /** Seed nodes as `redis://127.0.0.1:PORT`. */
  readonly nodes: readonly string[];
  /** Runs one command on the master at `port` through redis-cli. */
  cli(port: number, ...args: string[]): string;
  /** Runs a command on every master; their outputs by port. */
  everyMaster(...args: string[]): Map<number, string>;
  /** The port of the master serving hash slot `slot` now. */
  masterOf(slot: number): number;
  /** SIGKILL of the server on `port` (its replica, if any, is then promoted). */
  kill(port: number): Promise<void>;
  /** Resolves once every server still running reports `cluster_state:ok`. */
  healthy(timeoutMs?: number): Promise<void>;
  /** Stops every server and removes their data directories. */
  stop(): Promise<void>;
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A port whose cluster bus port (port + 10 000) is free as well. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await bindable(port)) && (await bindable(port + 10_000))) {
      taken.add(port);
      taken.add(port + 10_000);
      return port;
    }
  }
  throw new Error("no free port pair for a Redis Cluster node");
}

function cli(port: number, ...args: string[]): string {
  const result = spawnSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`redis-cli -p ${port} ${args.join(" ")}: ${result.stderr}`);
  return result.stdout.trim();
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Redis Cluster: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts `masters` cluster-enabled servers and creates the cluster; resolves once its state is ok. */
export async function startRedisCluster(masters = 3, replicas = 0): Promise<TestRedisCluster> {
  const taken = new Set<number>();
  const ports: number[] = [];
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGKILL");
          }),
      ),
    );
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await freeClusterPort(taken);
      const dir = mkdtempSync(join(tmpdir(), "paynet-redis-cluster-"));
      ports.push(port);
      dirs.push(dir);
      const child = spawn(
        "redis-server",
        [
          ...privateRedisArgs(port, dir),
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          "nodes.conf",
          "--cluster-node-timeout",
          "2000",
          // The masters still up keep serving their slots while one fails over.
          "--cluster-require-full-coverage",
          "no",
        ],
        { stdio: ["ignore", "ignore", "ignore"] },
      );
      children.push(child);
    }
    for (const port of ports) {
      await until(
        () =>
          spawnSync("redis-cli", ["-p", String(port), "PING"], { encoding: "utf8" }).stdout.trim() === "PONG",
        15_000,
        `the server on ${port}`,
      );
    }
    const create = spawnSync(
      "redis-cli",
      [
        "--cluster",
        "create",
        ...ports.map((port) => `127.0.0.1:${port}`),
        "--cluster-replicas",
        String(replicas),
        "--cluster-yes",
      ],
      { encoding: "utf8" },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
    for (const port of ports) {
      await until(
        () => /cluster_state:ok/.test(cli(port, "CLUSTER", "INFO")),
        30_000,
        `cluster_state:ok on ${port}`,
      );
    }
    if (replicas > 0) {
      // Every replica linked to its master (replication after the create takes a moment).
      for (const port of ports) {
        await until(
          () => {
            const info = cli(port, "INFO", "replication");
            return /role:master/.test(info)
              ? new RegExp(`connected_slaves:${replicas}`).test(info)
              : /master_link_status:up/.test(info);
          },
          30_000,
          `replication on ${port}`,
        );
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const killed = new Set<number>();
  const live = () => ports.filter((port) => !killed.has(port));
  const isMaster = (port: number) => cli(port, "ROLE").split("\n")[0] === "master";
  return {
    ports,
    nodes: ports.map((port) => `redis://127.0.0.1:${port}`),
    cli,
    everyMaster: (...args) =>
      new Map(
        live()
          .filter(isMaster)
          .map((port) => [port, cli(port, ...args)]),
      ),
    masterOf(slot) {
      // CLUSTER NODES: id, ip:port@bus, flags, master, ping, pong, epoch, link, then slot ranges.
      const lines = cli(live()[0]!, "CLUSTER", "NODES").split("\n");
      for (const line of lines) {
        const fields = line.split(" ");
        if (!fields[2]?.includes("master") || fields[2].includes("fail")) continue;
        for (const range of fields.slice(8)) {
          const [start, end = start] = range.split("-").map(Number);
          if (slot >= start! && slot <= end!) return Number(fields[1]!.split(":")[1]!.split("@")[0]);
        }
      }
      throw new Error(`no master serves slot ${slot}`);
    },
    async kill(port) {
      const child = children[ports.indexOf(port)];
      if (child === undefined) throw new Error(`no server on ${port}`);
      killed.add(port);
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      });
    },
    async healthy(timeoutMs = 30_000) {
      for (const port of live()) {
        await until(
          () => /cluster_state:ok/.test(cli(port, "CLUSTER", "INFO")),
          timeoutMs,
          `cluster_state:ok on ${port}`,
        );
      }
    },
    stop,
  };
}
