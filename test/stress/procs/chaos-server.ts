/**
 * Server process of the chaos and soak suites (started with `node --import tsx`): the runtime's
 * PaynetServer with the test protocol; the driver asks it over IPC to deliver commands at least once,
 * drop sessions, and report memory. It can be SIGKILLed and started again on the same port.
 */
import { childConfig, emitToDriver, memoryAfterGc, serveRpc } from "../../../bench/lib/child.js";
import { PaynetError } from "../../../runtime/src/errors.js";
import { PaynetServer } from "../../../runtime/src/server/server.js";
import { ackIsFinal, commandSpec, loginPingAckRegistry } from "../../helpers/messages.js";
import { countingLogger } from "../lib/counting-logger.js";
import { countErrorsByCode, startRetrying } from "./server-process.js";

interface Config {
  port: number;
  ticketKeys: string;
  cert: string;
  key: string;
  readTimeoutMs: number;
}

const config = childConfig<Config>();
const logger = countingLogger();
const registry = loginPingAckRegistry();
const server = new PaynetServer({
  port: config.port,
  tls: { cert: config.cert, key: config.key, ticketKeys: Buffer.from(config.ticketKeys, "hex") },
  registry,
  logger,
  readTimeoutMs: config.readTimeoutMs,
  maxPendingDeliveries: 100_000,
});
const errors = countErrorsByCode(server);

const bound = await startRetrying(server, 50);

async function deliverOne(deviceId: string, orderId: string, coins: number): Promise<void> {
  try {
    let last: { state: number } | undefined;
    for await (const ack of server.deliver(
      deviceId,
      commandSpec,
      { orderId, coins },
      { deadlineMs: 120_000, isFinal: ackIsFinal },
    )) {
      last = ack;
    }
    emitToDriver("acked", { orderId, state: last?.state ?? -1 });
  } catch (error) {
    emitToDriver("failed", { orderId, code: error instanceof PaynetError ? error.code : String(error) });
  }
}

serveRpc(
  {
    online: () => server.stats().connections.online,
    stats: () => {
      const s = server.stats();
      return {
        connections: s.connections,
        handshakes: s.handshakes,
        delivery: s.delivery,
        outboundQueue: s.outboundQueue,
        errors,
      };
    },
    deliver: (args: { orders: Array<{ deviceId: string; orderId: string; coins: number }> }) => {
      for (const order of args.orders) void deliverOne(order.deviceId, order.orderId, order.coins);
      return args.orders.length;
    },
    dropAll: () => {
      for (const session of server.sessions()) session.close("chaos: network drop");
      return null;
    },
    /** Closes a random share of the sessions (a flaky 4G network). */
    dropSome: (args: { share: number }) => {
      let dropped = 0;
      for (const session of server.sessions()) {
        if (Math.random() < args.share) {
          session.close("soak: network drop");
          dropped++;
        }
      }
      return dropped;
    },
    mem: () => memoryAfterGc(),
    logCounts: () => logger.counts,
  },
  { port: bound.port },
);
