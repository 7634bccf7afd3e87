/**
 * One node of the cluster chaos suites (started with `node --import examples/register.mjs`, so the
 * runtime and the cluster come from source, as one copy): a PaynetServer with the test protocol
 * on a `redisCluster`. The driver asks it over IPC to deliver commands, at least once as a cloud
 * service would (a push the cluster refused with CLUSTER_UNAVAILABLE is retried until the cluster
 * took it; the outcome is read from Redis, not from this process, which may be killed). SIGTERM
 * drains it (sessions told SERVER_DRAINING, closed, the node leaves the cluster) and exits 0.
 */

import { childConfig, emitToDriver, serveRpc } from "../../../bench/lib/child.js";
import { redisCluster } from "../../../cluster/src/index.js";
import { PaynetError } from "../../../runtime/src/errors.js";
import { PaynetServer } from "../../../runtime/src/server/server.js";
import { ackIsFinal, commandSpec, loginPingAckRegistry, testErrorMessage } from "../../helpers/messages.js";
import { countingLogger } from "../lib/counting-logger.js";
import { countErrorsByCode, startRetrying } from "./server-process.js";

interface Config {
  nodeId: string;
  redisUrl: string;
  port: number;
  ticketKeys: string;
  cert: string;
  key: string;
  reconcileMs: number;
  leaseMs: number;
  /** Deadline of each delivery (long: the suites expect every command to complete). */
  deadlineMs: number;
}

const config = childConfig<Config>();
const counting = countingLogger();
/** The first warnings and errors with their fields, for the report of a failed run. */
const firstProblems: string[] = [];
const keep =
  (level: "warn" | "error") =>
  (fields: Record<string, unknown>, message: string): void => {
    counting[level](fields, message);
    if (firstProblems.length < 10) firstProblems.push(`${level}: ${message} ${JSON.stringify(fields)}`);
  };
const logger = { ...counting, warn: keep("warn"), error: keep("error") };
const spec = { ...commandSpec, isFinal: ackIsFinal };
const cluster = redisCluster({
  url: config.redisUrl,
  nodeId: config.nodeId,
  specs: [spec],
  reconcileMs: config.reconcileMs,
  leaseMs: config.leaseMs,
});
const server = new PaynetServer({
  port: config.port,
  tls: { cert: config.cert, key: config.key, ticketKeys: Buffer.from(config.ticketKeys, "hex") },
  registry: loginPingAckRegistry(),
  errorMessage: testErrorMessage,
  logger,
  readTimeoutMs: 30_000,
  cluster,
});
const errors = countErrorsByCode(server);

const bound = await startRetrying(server, 100);

let refusals = 0;

/** deliver() until the cluster has the command (the first reply, or a "pending already" answer). */
async function deliverOne(deviceId: string, orderId: string, coins: number): Promise<void> {
  for (;;) {
    try {
      for await (const _ of server.deliver(
        deviceId,
        spec,
        { orderId, coins },
        { deadlineMs: config.deadlineMs },
      )) {
        // Replies are recorded in Redis by the node holding the device; the driver reads them there.
      }
      emitToDriver("acked", { orderId });
      return;
    } catch (error) {
      const code = error instanceof PaynetError ? error.code : String(error);
      if (code === "CLUSTER_UNAVAILABLE") {
        // Not taken (Redis away): a cloud service retries; an ambiguous one answers "pending" next.
        refusals++;
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      if (code === "INVALID_OPTIONS" && /already pending/.test(String(error))) {
        emitToDriver("taken", { orderId });
        return;
      }
      emitToDriver("failed", { orderId, code });
      return;
    }
  }
}

process.on("SIGTERM", () => {
  void server.drain({ evictPerSecond: 500 }).then(
    () => process.exit(0),
    () => process.exit(1),
  );
});

serveRpc(
  {
    deliver: (args: { orders: Array<{ deviceId: string; orderId: string; coins: number }> }) => {
      for (const order of args.orders) void deliverOne(order.deviceId, order.orderId, order.coins);
      return args.orders.length;
    },
    stats: () => ({
      online: server.stats().connections.online,
      errors,
      refusals,
      logCounts: counting.counts,
      firstProblems,
      // What went wrong, by message (the lines themselves are not kept in a long run).
      problems: Object.fromEntries(
        [...counting.byMessage].filter(([line]) => line.startsWith("warn") || line.startsWith("error")),
      ),
    }),
  },
  { port: bound.port, nodeId: cluster.nodeId },
);
