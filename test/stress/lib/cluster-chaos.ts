/**
 * Cluster chaos run: a private redis-server (AOF, appendfsync always), three cluster node
 * processes, a fleet process whose devices spread over the nodes (each device knows every node and
 * moves round the list on failure), and commands pushed through random nodes, at least once. One
 * node is SIGKILLed mid-flow; later redis-server itself is SIGKILLed and restarted. The verdict is
 * read from Redis (the outcome of each command, by key and in the outcome stream) and from the
 * fleet (how often each command ran).
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { type RedisCluster, redisCluster } from "@paynet/cluster";
import { BenchProcess } from "../../../bench/lib/proc.js";
import type { TestPki } from "../../helpers/pki.js";
import { startRedis, type TestRedis } from "../../helpers/redis-server.js";

const NODE = fileURLToPath(new URL("../procs/cluster-node.ts", import.meta.url));
const FLEET = fileURLToPath(new URL("../procs/chaos-fleet.ts", import.meta.url));
/** Runtime and cluster from source, one copy of each (tsx with examples/tsconfig.json paths). */
const FROM_SOURCE = ["--import", "./examples/register.mjs"];
/** Sessions online this long count as stable (`reconnect.stableAfterMs`; the runtime's default is 30 s). */
const STABLE_AFTER_MS = 3_000;

export interface ClusterChaosOptions {
  devices: number;
  /** Commands per phase (before the node kill, and around the Redis kill). */
  commands: number;
  /** Up to how many milliseconds a device takes to run a command (between ACCEPTED and DONE). */
  commandDelayMs?: number;
}

/** What happened to one command. */
export interface OrderVerdict {
  readonly orderId: string;
  /** State of its record in Redis (`undefined`: no record). */
  readonly state: string | undefined;
  /** Entries of the outcome stream for it. */
  readonly outcomes: number;
  /** How often the device ran it. */
  readonly executions: number;
}

export interface ClusterChaosReport {
  devices: number;
  /** From the node kill to the last of its devices logged in on another node. */
  allOnlineAfterKillMs: number;
  onlineAfterKill: number;
  /** Connection attempts after the node kill, and the largest share of the fleet in one 100 ms window. */
  reconnects: number;
  reconnectSpread: number;
  onlineAtEnd: number;
  /** CLUSTER_UNAVAILABLE answers the nodes got (and retried) while Redis was down. */
  refusals: number;
  orders: OrderVerdict[];
  /** Executions of order ids nobody pushed (must be none). */
  strayExecutions: string[];
  nodeErrors: Record<string, number>;
  nodeProblems: Record<string, number>;
}

interface OnlineState {
  online: number;
  allOnlineMs: number;
  reconnects: number;
  peakReconnectsPer100ms: number;
}

interface Node {
  proc: BenchProcess;
  port: number;
  alive: boolean;
}

export interface ClusterRig {
  /** When the whole fleet was online (Date.now()). */
  readonly onlineAt: number;
  readonly redis: TestRedis;
  readonly nodes: Node[];
  readonly fleet: BenchProcess;
  /** A cluster client of the driver (never started as a node): reads outcomes as an operator would. */
  readonly reader: RedisCluster;
  /** Starts node `i` again on its port (after a kill or a drain). */
  restartNode(i: number): Promise<void>;
  /** Pushes `orders` through random live nodes. */
  push(orders: readonly Order[]): Promise<void>;
  /** Waits until every order has a final record, pushing again those the cluster never took. */
  settle(orders: readonly Order[], timeoutMs: number): Promise<void>;
  /** Per order: record state, outcome stream entries, executions. */
  verdicts(orders: readonly Order[]): Promise<{ orders: OrderVerdict[]; stray: string[] }>;
  /** What a failed run looked like: the nodes' warnings, and the records of some open commands. */
  diagnose(orders: readonly Order[]): Promise<string>;
  nodeStats(): Promise<{
    errors: Record<string, number>;
    problems: Record<string, number>;
    refusals: number;
  }>;
  stop(): Promise<void>;
}

export interface Order {
  deviceId: string;
  orderId: string;
  coins: number;
}

export function makeOrders(prefix: string, count: number, devices: number): Order[] {
  return Array.from({ length: count }, (_, i) => ({
    deviceId: `cchaos-${(i * 7) % devices}`,
    orderId: `${prefix}-${i}`,
    coins: 1 + (i % 5),
  }));
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`cluster chaos: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Redis, `nodeCount` nodes and an online fleet of `devices`. */
export async function startClusterRig(
  pki: TestPki,
  options: { devices: number; nodes?: number; commandDelayMs?: number; reconcileMs?: number },
): Promise<ClusterRig> {
  const redis = await startRedis();
  const ticketKeys = randomBytes(48).toString("hex");
  const nodeConfig = (i: number, port: number) => ({
    nodeId: `chaos-node-${i}`,
    redisUrl: redis.url,
    port,
    ticketKeys,
    cert: pki.server.cert,
    key: pki.server.key,
    reconcileMs: options.reconcileMs ?? 500,
    leaseMs: 3_000,
    deadlineMs: 600_000,
  });
  const startNode = (i: number, port: number) =>
    BenchProcess.start(`cluster-node-${i}`, NODE, nodeConfig(i, port), { nodeFlags: FROM_SOURCE });
  const nodes: Node[] = [];
  for (let i = 0; i < (options.nodes ?? 3); i++) {
    const proc = await startNode(i, 0);
    nodes.push({ proc, port: proc.ready.port as number, alive: true });
  }
  const fleet = await BenchProcess.start("cluster-fleet", FLEET, {
    port: 0,
    ports: nodes.map((node) => node.port),
    ca: pki.ca.cert,
    n: options.devices,
    idPrefix: "cchaos",
    heartbeatMs: 10_000,
    commandDelayMs: options.commandDelayMs ?? 300,
    // The run is short: sessions count as stable (a drop spreads the reconnects over 5 s) sooner.
    reconnect: { stableAfterMs: STABLE_AFTER_MS },
  });
  const reader = redisCluster({ url: redis.url, nodeId: "chaos-driver" });
  await reader.redis.connect();
  await fleet.call("start");
  const initial = await fleet.call<OnlineState>("waitOnline", { timeoutMs: 120_000 });
  if (initial.online < options.devices)
    throw new Error(`only ${initial.online}/${options.devices} devices came online`);
  const onlineAt = Date.now();

  const live = () => nodes.filter((node) => node.alive);
  const recordState = async (order: Order) =>
    (await reader.outcome(order.deviceId, order.orderId).catch(() => null))?.state;

  const rig: ClusterRig = {
    onlineAt,
    redis,
    nodes,
    fleet,
    reader,
    async restartNode(i) {
      const node = nodes[i]!;
      node.proc = await startNode(i, node.port);
      node.alive = true;
    },
    async push(orders) {
      const byNode = new Map<Node, Order[]>();
      for (const order of orders) {
        const candidates = live();
        const node = candidates[Math.floor(Math.random() * candidates.length)]!;
        byNode.set(node, [...(byNode.get(node) ?? []), order]);
      }
      await Promise.all([...byNode].map(([node, list]) => node.proc.call("deliver", { orders: list })));
    },
    async settle(orders, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let open = [...orders];
      let lastPush = Date.now();
      while (open.length > 0) {
        if (Date.now() > deadline)
          throw new Error(
            `cluster chaos: ${open.length} commands not completed after ${timeoutMs} ms: ${open
              .slice(0, 5)
              .map((o) => o.orderId)
              .join(", ")}`,
          );
        const states = await Promise.all(open.map(recordState));
        // A command with no record was never taken (its node died before writing it): the cloud
        // pushes it again through a live node. Anything else is the cluster's to finish.
        if (Date.now() - lastPush > 5_000) {
          const untaken = open.filter((_, i) => states[i] === undefined);
          if (untaken.length > 0) await rig.push(untaken);
          lastPush = Date.now();
        }
        open = open.filter((_, i) => states[i] === undefined || states[i] === "pending");
        if (open.length > 0) await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    async verdicts(orders) {
      const executions = new Map(await fleet.call<Array<[string, number]>>("executions"));
      const outcomes = new Map<string, number>();
      for (let after: string | undefined; ; ) {
        const batch = await reader.outcomes({ count: 1_000, ...(after === undefined ? {} : { after }) });
        for (const event of batch) outcomes.set(event.key, (outcomes.get(event.key) ?? 0) + 1);
        if (batch.length < 1_000) break;
        after = batch.at(-1)!.id;
      }
      const pushed = new Set(orders.map((o) => o.orderId));
      const verdicts = await Promise.all(
        orders.map(async (order) => ({
          orderId: order.orderId,
          state: await recordState(order),
          outcomes: outcomes.get(order.orderId) ?? 0,
          executions: executions.get(order.orderId) ?? 0,
        })),
      );
      return { orders: verdicts, stray: [...executions.keys()].filter((id) => !pushed.has(id)) };
    },
    async diagnose(orders) {
      const stats = await rig.nodeStats().catch((error: unknown) => String(error));
      const open: unknown[] = [];
      for (const order of orders) {
        const record = await reader.outcome(order.deviceId, order.orderId).catch(() => undefined);
        if (record?.state === "completed") continue;
        const presence = await reader.redis.hgetall(`paynet:{${order.deviceId}}:at`);
        const sent = await reader.redis.hget(`paynet:{${order.deviceId}}:dl:${order.orderId}`, "sent");
        open.push({
          order: order.orderId,
          device: order.deviceId,
          ...record,
          payload: undefined,
          sent,
          presence,
        });
        if (open.length >= 8) break;
      }
      const executions = new Map(await fleet.call<Array<[string, number]>>("executions"));
      return JSON.stringify(
        { stats, open, executed: open.map((o) => executions.get((o as { order: string }).order)) },
        null,
        1,
      );
    },
    async nodeStats() {
      const errors: Record<string, number> = {};
      const problems: Record<string, number> = {};
      const first: string[] = [];
      let refusals = 0;
      for (const node of live()) {
        const stats = await node.proc.call<{
          errors: Record<string, number>;
          problems: Record<string, number>;
          refusals: number;
          firstProblems: string[];
        }>("stats");
        first.push(...stats.firstProblems);
        for (const [code, n] of Object.entries(stats.errors)) errors[code] = (errors[code] ?? 0) + n;
        for (const [line, n] of Object.entries(stats.problems)) problems[line] = (problems[line] ?? 0) + n;
        refusals += stats.refusals;
      }
      return { errors, problems, refusals, first };
    },
    async stop() {
      await fleet.call("stopAll").catch(() => null);
      await fleet.stop();
      await Promise.all(nodes.map((node) => node.proc.stop()));
      await reader.redis.quit().catch(() => reader.redis.disconnect());
      await redis.stop();
    },
  };
  return rig;
}

export async function runClusterChaos(
  pki: TestPki,
  options: ClusterChaosOptions,
): Promise<ClusterChaosReport> {
  const rig = await startClusterRig(pki, options);
  try {
    const { fleet, nodes } = rig;
    const executed = async () => (await fleet.call<Array<[string, number]>>("executions")).length;

    // Phase 1: commands flow through random nodes; one node is SIGKILLed once half of them ran.
    const phase1 = makeOrders("a", options.commands, options.devices);
    await rig.push(phase1);
    await until(async () => (await executed()) >= options.commands / 2, 120_000, "half of phase 1 executed");
    // Mid-run means sessions that have been online a while (stable: their drop spreads the reconnects).
    const stableAt = rig.onlineAt + STABLE_AFTER_MS + 500;
    if (Date.now() < stableAt) await new Promise((resolve) => setTimeout(resolve, stableAt - Date.now()));
    await fleet.call("mark");
    const victim = nodes[1]!;
    victim.alive = false;
    await victim.proc.kill();
    await until(
      async () => (await fleet.call<number>("online")) < options.devices,
      10_000,
      "the fleet noticing the node's death",
    );
    const back = await fleet.call<OnlineState>("waitOnline", { timeoutMs: 60_000 });

    // Phase 2: more commands; redis-server is SIGKILLed while they flow, then restarted.
    const phase2 = makeOrders("b", options.commands, options.devices);
    await rig.push(phase2);
    await until(
      async () => (await executed()) >= options.commands + options.commands / 4,
      120_000,
      "a quarter of phase 2 executed",
    );
    await rig.redis.kill();
    // Pushed while Redis is down: refused at once (CLUSTER_UNAVAILABLE), pushed again by the cloud.
    const phase3 = makeOrders("c", Math.ceil(options.commands / 4), options.devices);
    await rig.push(phase3);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await rig.redis.restart();

    const all = [...phase1, ...phase2, ...phase3];
    await rig.settle(all, 180_000).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await rig.diagnose(all)}`);
    });
    const online = await fleet.call<OnlineState>("waitOnline", { timeoutMs: 60_000 });
    const { orders, stray } = await rig.verdicts(all);
    const stats = await rig.nodeStats();
    return {
      devices: options.devices,
      allOnlineAfterKillMs: back.allOnlineMs,
      onlineAfterKill: back.online,
      reconnects: back.reconnects,
      reconnectSpread: back.peakReconnectsPer100ms / options.devices,
      onlineAtEnd: online.online,
      refusals: stats.refusals,
      orders,
      strayExecutions: stray,
      nodeErrors: stats.errors,
      nodeProblems: stats.problems,
    };
  } finally {
    await rig.stop();
  }
}
