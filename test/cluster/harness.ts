/**
 * Cluster test harness: a private redis-server per test file, server nodes (in this process, each
 * with its own {@link RedisCluster}, as separate processes would have) running the test login
 * protocol, and devices that log in on a chosen node.
 */

import { type RedisCluster, type RedisClusterOptions, redisCluster } from "@paynet/cluster";
import { afterAll, afterEach, beforeAll } from "vitest";
import type { Registry } from "../../runtime/src/registry.js";
import type { ServerContext, ServerOptions } from "../../runtime/src/server/types.js";
import {
  type Ack,
  AckDef,
  ackIsFinal,
  commandSpec,
  LoginReqDef,
  LoginRspDef,
  loginPingAckRegistry,
} from "../helpers/messages.js";
import { makeTestPki, type TestPki } from "../helpers/pki.js";
import type { RawDevice } from "../helpers/raw-device.js";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis-server.js";
import { startTestServer, stopAll, type TestServer } from "../helpers/test-server.js";

/** Command → Ack with finality, as the cluster must know it on every node. */
export const clusterCommandSpec = { ...commandSpec, isFinal: ackIsFinal };

/** Why this file's suites are skipped, or `undefined` (under CI a missing redis-server throws). */
export const skipRedis = redisMissing();

/** A node: a test server whose cluster is `cluster`. */
export type TestNode = TestServer & { readonly cluster: RedisCluster };

/**
 * Per-file setup: the test PKI and one private Redis (`env.redis`), flushed after each test; nodes
 * and devices are stopped after each test.
 */
export function setUpClusterTests(): { pki: () => TestPki; redis: () => TestRedis } {
  let pki: TestPki | undefined;
  let redis: TestRedis | undefined;
  beforeAll(async () => {
    if (skipRedis !== undefined) return;
    pki = await makeTestPki();
    redis = await startRedis();
  });
  afterEach(async () => {
    await stopAll();
    if (redis !== undefined) redis.cli("FLUSHALL");
  });
  afterAll(async () => {
    await redis?.stop();
  });
  return { pki: () => pki!, redis: () => redis! };
}

let nodeCount = 0;

/**
 * Starts a node on `redis` (one Redis, or the seed nodes of a Redis Cluster) with the stress-suite
 * registry (login, ping, Ack) unless `registry` is given.
 */
export async function startNode(
  pki: TestPki,
  redis:
    | TestRedis
    | { readonly nodes: readonly string[] }
    | { readonly sentinels: ReadonlyArray<{ host: string; port: number }>; readonly name: string },
  options: {
    cluster?: RedisClusterOptions;
    server?: Partial<ServerOptions>;
    registry?: Registry<ServerContext>;
  } = {},
): Promise<TestNode> {
  const cluster = redisCluster({
    ...("url" in redis
      ? { url: redis.url }
      : "nodes" in redis
        ? { nodes: redis.nodes }
        : { redis: { sentinels: [...redis.sentinels], name: redis.name } }),
    specs: [clusterCommandSpec],
    nodeId: `node-${++nodeCount}`,
    reconcileMs: 200,
    leaseMs: 1_500,
    ...options.cluster,
  });
  const server = await startTestServer(pki, {
    registry: options.registry ?? loginPingAckRegistry(),
    cluster,
    ...options.server,
  });
  return Object.assign(server, { cluster });
}

/**
 * Connects a device to `node` and logs it in as `deviceId` (answered with code 0); resolves once
 * the node holds the device cluster-wide (its claim is done).
 */
export async function loggedIn(node: TestServer, deviceId: string): Promise<RawDevice> {
  const device = await node.connect();
  device.send(LoginReqDef, { deviceId });
  const rsp = await device.next(LoginRspDef);
  if (rsp.code !== 0) throw new Error(`login of ${deviceId} refused: ${rsp.code}`);
  const session = [...node.server.sessions()].find(
    (s) => s.deviceId === deviceId && s.remotePort === device.socket.localPort,
  );
  await eventually(
    () => session !== undefined && node.server.session(deviceId) === session,
    5_000,
    `the claim of ${deviceId}`,
  );
  return device;
}

/** Resolves once `check` is true (polled); rejects after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "a condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sends one Ack from `device`. */
export function ack(device: RawDevice, orderId: string, state: number, progress = 0): void {
  device.send(AckDef, { orderId, state, progress } satisfies Ack);
}
