/**
 * Device fleet process of the chaos and soak suites: N runtime `PaynetClient`s with the test
 * protocol and the runtime's default reconnect policy. Each executes CoinCommand-like commands
 * (counting executions per order id, so a double execution is visible) and answers with Acks.
 */
import { childConfig, memoryAfterGc, serveRpc } from "../../../bench/lib/child.js";
import { PaynetClient } from "../../../runtime/src/client/client.js";
import type { ClientContext, ReconnectOptions } from "../../../runtime/src/client/types.js";
import { Registry } from "../../../runtime/src/registry.js";
import {
  type Ack,
  AckDef,
  AckState,
  type Command,
  CommandDef,
  type LoginRsp,
  loginSpec,
  PingDef,
  PongDef,
  pingSpec,
} from "../../helpers/messages.js";

interface Config {
  port: number;
  /**
   * Several server ports (a cluster's nodes) instead of `port`: device i connects to them starting
   * at the i-th (so the fleet spreads over them) and moves round the list on failure.
   */
  ports?: number[];
  ca: string;
  n: number;
  idPrefix: string;
  heartbeatMs: number;
  commandDelayMs: number;
  /** Overrides of the runtime's reconnect defaults (none: the defaults are what is measured). */
  reconnect?: ReconnectOptions;
}

const config = childConfig<Config>();
const executions = new Map<string, number>();
const clients: PaynetClient[] = [];
let online = 0;
/**
 * Since the last `mark`: when each connection attempt started, when its device's backoff timer
 * was due (its `reconnecting` event plus the delay drawn; the start for an attempt without a
 * wait), and when each login succeeded.
 */
let phase = {
  startedAt: performance.now(),
  attempts: [] as number[],
  due: [] as number[],
  online: [] as number[],
};

for (let i = 0; i < config.n; i++) {
  const deviceId = `${config.idPrefix}-${i}`;
  const registry = new Registry<ClientContext>().register(PongDef).register<Command, Ack>(CommandDef, {
    reply: AckDef,
    idempotencyKey: (command) => command.orderId,
    handler: async (command, ctx) => {
      executions.set(command.orderId, (executions.get(command.orderId) ?? 0) + 1);
      await ctx.reply({ orderId: command.orderId, state: AckState.ACCEPTED });
      // A random run time, so some commands are always mid-way when the chaos strikes.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * config.commandDelayMs));
      return { orderId: command.orderId, state: AckState.DONE, progress: 100 };
    },
  });
  const ports = config.ports;
  const servers =
    ports === undefined
      ? { host: "127.0.0.1", port: config.port }
      : {
          addresses: ports.map((_, k) => ({ host: "127.0.0.1", port: ports[(i + k) % ports.length]! })),
        };
  const client = new PaynetClient({
    ...servers,
    tls: { ca: config.ca, servername: "localhost" },
    registry,
    login: {
      login: {
        spec: loginSpec,
        build: () => ({ deviceId, token: "chaos" }),
        accept: (reply) => ((reply as LoginRsp).code === 0 ? true : { code: (reply as LoginRsp).code }),
      },
    },
    heartbeat: { def: PingDef, build: () => ({ timestamp: Date.now() }), intervalMs: config.heartbeatMs },
    ...(config.reconnect === undefined ? {} : { reconnect: config.reconnect }),
  });
  // The attempt start is what a thundering herd is made of (the handshake completion times are
  // shaped by the server's and this process's own throughput instead). One process runs the whole
  // fleet, so under a burst of TLS handshakes its event loop lags and fires due timers late and
  // together; the due time is when the device's own policy sends it, as a box of its own would.
  let dueAt: number | undefined;
  client.on("reconnecting", (info) => {
    dueAt = performance.now() + info.delayMs;
  });
  client.on("connecting", () => {
    const now = performance.now();
    phase.attempts.push(now - phase.startedAt);
    phase.due.push((dueAt ?? now) - phase.startedAt);
    dueAt = undefined;
  });
  client.on("online", () => {
    online++;
    phase.online.push(performance.now() - phase.startedAt);
  });
  client.on("offline", () => {
    online--;
  });
  clients.push(client);
}

/** Largest number of events in any window of `windowMs`. */
function peakInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}

serveRpc({
  start: () => {
    for (const client of clients) client.start();
    return null;
  },
  mark: () => {
    phase = { startedAt: performance.now(), attempts: [], due: [], online: [] };
    return null;
  },
  waitOnline: async (args: { timeoutMs: number }) => {
    const deadline = performance.now() + args.timeoutMs;
    while (online < config.n && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    return {
      online,
      allOnlineMs: phase.online.length === 0 ? Number.NaN : Math.max(...phase.online),
      reconnects: phase.attempts.length,
      peakReconnectsPer100ms: peakInWindow(phase.attempts, 100),
      peakDueReconnectsPer100ms: peakInWindow(phase.due, 100),
      peakDueReconnectsPer1s: peakInWindow(phase.due, 1_000),
    };
  },
  /** Ping round trips from every client (mixed traffic for the soak). */
  pingAll: async () => {
    const results = await Promise.allSettled(
      clients
        .filter((c) => c.online)
        .map((c) => c.request(pingSpec, { timestamp: Date.now() }, { timeoutMs: 10_000 })),
    );
    return {
      ok: results.filter((r) => r.status === "fulfilled").length,
      failed: results.filter((r) => r.status === "rejected").length,
    };
  },
  executions: () => [...executions],
  online: () => online,
  mem: () => memoryAfterGc(),
  stopAll: async () => {
    await Promise.all(clients.map((client) => client.stop()));
    return null;
  },
});
