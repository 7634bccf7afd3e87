/**
 * What a node does while Redis is away, beyond test/cluster/faults.test.ts: nothing piles up in the
 * client (no offline queue, no resend, a bound on unanswered commands when Redis hangs), typed errors
 * at once, recovery by itself; and how the Redis tests behave when redis-server is missing or broken.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { MAX_IN_FLIGHT } from "../../cluster/src/connection.js";
import {
  AckState,
  CommandDef,
  ErrorMsgDef,
  LoginReqDef,
  PingDef,
  PongDef,
  testErrorMessage,
} from "../helpers/messages.js";
import { redisMissing, startRedis } from "../helpers/redis-server.js";
import {
  ack,
  clusterCommandSpec,
  eventually,
  loggedIn,
  setUpClusterTests,
  skipRedis,
  startNode,
} from "./harness.js";

const env = setUpClusterTests();

/** What the node's command connection holds in memory: queued offline, and sent but unanswered. */
const queued = (redis: Redis) => ({
  // ioredis keeps it private; what is in it is the point here.
  offline: (redis as unknown as { offlineQueue: { length: number } }).offlineQueue.length,
  inFlight: redis.commandQueue.length,
});

/** The first step of a delivery: its first reply, or how it failed. */
const firstOf = (iterable: AsyncIterable<unknown>) => iterable[Symbol.asyncIterator]().next();

describe.skipIf(skipRedis !== undefined)("a node while Redis is away", () => {
  it("Redis dead: thousands of deliver() and logins fail at once with CLUSTER_UNAVAILABLE, nothing is queued in the client", async () => {
    const a = await startNode(env.pki(), env.redis(), { server: { errorMessage: testErrorMessage } });
    const device = await loggedIn(a, "dev-live");
    await env.redis().kill();
    await eventually(() => a.cluster.redis.status !== "ready", 5_000, "the client to notice");

    const attempts = Array.from({ length: 5_000 }, (_, i) =>
      firstOf(a.server.deliver(`dev-${i % 50}`, clusterCommandSpec, { orderId: `D-${i}`, coins: 1 })),
    );
    const results = await Promise.allSettled(attempts);
    expect(results.every((r) => r.status === "rejected" && r.reason.code === "CLUSTER_UNAVAILABLE")).toBe(
      true,
    );
    expect(queued(a.cluster.redis as Redis)).toEqual({ offline: 0, inFlight: 0 });
    const newcomers = await Promise.all(Array.from({ length: 20 }, () => a.connect()));
    for (const [i, newcomer] of newcomers.entries()) newcomer.send(LoginReqDef, { deviceId: `dev-new-${i}` });
    await Promise.all(newcomers.map((newcomer) => newcomer.closed));
    // Each was told why before its connection closed.
    for (const newcomer of newcomers) {
      expect((await newcomer.next(ErrorMsgDef)).msg).toMatch(/^CLUSTER_UNAVAILABLE:/);
    }
    expect(queued(a.cluster.redis as Redis)).toEqual({ offline: 0, inFlight: 0 });
    // The live session heartbeats through it all.
    device.send(PingDef, { timestamp: 1 });
    expect((await device.next(PongDef)).timestamp).toBe("1");

    // Back by itself: a new login and a delivery go through.
    await env.redis().restart();
    await eventually(() => a.cluster.redis.status === "ready", 10_000, "the reconnect");
    const back = await loggedIn(a, "dev-new-0");
    const reply = firstOf(a.server.deliver("dev-new-0", clusterCommandSpec, { orderId: "D-back", coins: 1 }));
    expect((await back.next(CommandDef)).orderId).toBe("D-back");
    ack(back, "D-back", AckState.DONE, 100);
    expect(await reply).toMatchObject({ value: { state: AckState.DONE } });
  });

  it("Redis hung (SIGSTOP, connections up): deliver() fails within the command timeout, unanswered commands stay bounded, all recovers at SIGCONT", async () => {
    const commandTimeoutMs = 1_000;
    const a = await startNode(env.pki(), env.redis(), { cluster: { commandTimeoutMs } });
    const device = await loggedIn(a, "dev-live");
    const redis = a.cluster.redis as Redis;
    env.redis().pause();
    try {
      const started = Date.now();
      const attempts = Array.from({ length: MAX_IN_FLIGHT + 2_000 }, (_, i) =>
        firstOf(a.server.deliver(`dev-${i % 50}`, clusterCommandSpec, { orderId: `H-${i}`, coins: 1 })),
      );
      // However many callers there are, the connection holds at most MAX_IN_FLIGHT unanswered.
      expect(redis.commandQueue.length).toBeLessThanOrEqual(MAX_IN_FLIGHT);
      const results = await Promise.allSettled(attempts);
      expect(results.every((r) => r.status === "rejected" && r.reason.code === "CLUSTER_UNAVAILABLE")).toBe(
        true,
      );
      // Each failed by its command's timeout at the latest (plus a loaded machine's slack).
      expect(Date.now() - started).toBeLessThan(commandTimeoutMs + 10_000);
      // The live session heartbeats: no Redis round trip per heartbeat.
      device.send(PingDef, { timestamp: 2 });
      expect((await device.next(PongDef)).timestamp).toBe("2");
    } finally {
      env.redis().resume();
    }
    // The commands Redis got before it hung may have run after all: the cloud's retry with the same
    // key is then told the delivery is pending already. Either way the node works again.
    await eventually(() => redis.commandQueue.length === 0, 20_000, "the stalled commands answered");
    const reply = firstOf(a.server.deliver("dev-live", clusterCommandSpec, { orderId: "H-back", coins: 1 }));
    expect((await device.next(CommandDef)).orderId).toBe("H-back");
    ack(device, "H-back", AckState.DONE, 100);
    expect(await reply).toMatchObject({ value: { state: AckState.DONE } });
  });
});

describe("Redis tests without a working redis-server", () => {
  /** A PATH with only a fake `redis-server` (or none), and CI as given, while `run` runs. */
  async function withPath(fake: string | undefined, ci: string | undefined, run: () => Promise<void> | void) {
    const dir = mkdtempSync(join(tmpdir(), "paynet-fake-redis-"));
    if (fake !== undefined) {
      writeFileSync(join(dir, "redis-server"), fake);
      chmodSync(join(dir, "redis-server"), 0o755);
    }
    const saved = { PATH: process.env.PATH, CI: process.env.CI };
    process.env.PATH = dir;
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
    try {
      await run();
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.CI === undefined) delete process.env.CI;
      else process.env.CI = saved.CI;
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("missing: the suites fail under CI=true, and say why they skip elsewhere", async () => {
    await withPath(undefined, "true", () => {
      expect(() => redisMissing()).toThrow(/redis-server is not installed.*must run under CI/);
    });
    await withPath(undefined, undefined, () => {
      expect(redisMissing()).toMatch(/redis-server is not installed \(apt-get install redis-server\)/);
    });
  });

  it("installed but unable to start: the setup fails (never a skip)", async () => {
    const broken =
      '#!/bin/sh\n[ "$1" = --version ] && { echo "Redis server v=7.0.15"; exit 0; }\necho "Fatal: cannot start" >&2\nexit 1\n';
    await withPath(`${broken}`, "true", async () => {
      expect(redisMissing()).toBeUndefined();
      await expect(startRedis()).rejects.toThrow(/redis-server exited with 1/);
    });
  });
});
