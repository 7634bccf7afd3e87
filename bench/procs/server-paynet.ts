/**
 * The paynet server under test, built only from the generated SDK (`createPayboxServer`): every
 * frame goes frame decode → protobuf decode → typed dispatch → handler → encoded reply. With
 * `cluster` it is one node of a Redis cluster (`@paynet/cluster`) and can run deliveries of
 * CoinCommand to devices on any node.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { type RedisCluster, redisCluster } from "@paynet/cluster";
import { registerServerMetrics } from "@paynet/metrics";
import { collectDefaultMetrics, Registry } from "prom-client";
import { childConfig, cpuMicros, memoryAfterGc, serveRpc } from "../lib/child.js";
import { type BenchPkiFiles, pem } from "../lib/pki.js";
import type { PayboxSdk } from "../lib/sdk-types.js";
import { percentile } from "../lib/stats.js";

interface Config {
  pki: BenchPkiFiles;
  sdkDir: string;
  ticketKeys: string;
  readTimeoutMs: number;
  /** Attach the Prometheus exporter (process defaults included) and serve it on `/metrics`. */
  metrics?: boolean;
  /** Join a Redis cluster: `url` (one Redis) or `nodes` (Redis Cluster). */
  cluster?: { url?: string; nodes?: string[]; nodeId: string; shards?: number };
  /** Port to listen on (default: any free one). */
  port?: number;
}

/** What `deliverRun` measured. */
export interface DeliverRunResult {
  completed: number;
  failed: number;
  firstError: string | null;
  elapsedMs: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

const config = childConfig<Config>();
const sdk = (await import(pathToFileURL(`${config.sdkDir}/index.ts`).href)) as PayboxSdk;
let cluster: RedisCluster | undefined;
if (config.cluster !== undefined) {
  const { url, nodes, nodeId, shards } = config.cluster;
  cluster = redisCluster({
    ...(nodes === undefined ? (url === undefined ? {} : { url }) : { nodes }),
    ...(shards === undefined ? {} : { shards }),
    nodeId,
    specs: [sdk.CoinCommandRequest],
  });
}

let online = 0;
const server = sdk.createPayboxServer(
  {
    host: "127.0.0.1",
    port: 0,
    tls: {
      cert: pem(config.pki.serverCert),
      key: pem(config.pki.serverKey),
      ticketKeys: Buffer.from(config.ticketKeys, "hex"),
    },
    readTimeoutMs: config.readTimeoutMs,
    maxConnections: 1_000_000,
    ...(config.port === undefined ? {} : { port: config.port }),
    ...(cluster === undefined ? {} : { cluster }),
  },
  {
    LoginReq: (message, ctx) => {
      ctx.session.login(message.deviceId);
      return { code: 0 };
    },
    Ping: (message) => ({ timestamp: message.timestamp }),
    QueryReq: (message) => ({ orderId: message.orderId, state: 2, progress: 100 }),
  },
);
server.on("online", () => online++);
server.on("offline", (session) => {
  if (session.deviceId !== undefined) online--;
});
const { port } = await server.start();

/** The exporter's HTTP port, when attached: the driver scrapes it while the load runs. */
let metricsPort: number | undefined;
/** CPU µs of one scrape (mean of `rounds`), measured with nothing else running: the exporter's own cost. */
let scrapeCost: ((rounds: number) => Promise<number>) | undefined;
if (config.metrics === true) {
  const registry = new Registry();
  scrapeCost = async (rounds) => {
    const before = cpuMicros();
    for (let i = 0; i < rounds; i++) await registry.metrics();
    return (cpuMicros() - before) / rounds;
  };
  collectDefaultMetrics({ register: registry });
  registerServerMetrics(registry, server.runtime);
  const http = createServer((_request, response) => {
    registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  metricsPort = (http.address() as AddressInfo).port;
}

serveRpc(
  {
    mem: () => memoryAfterGc(),
    cpu: () => cpuMicros(),
    scrapeCost: (rounds: number) => scrapeCost?.(rounds) ?? Number.NaN,
    online: () => online,
    connections: () => server.runtime.stats().connections.current,
    handshakes: () => server.runtime.stats().handshakes,
    /** Redis round trips of this node so far. */
    roundTrips: () => cluster?.redisRoundTrips() ?? 0,
    /** Sessions logged in on this node. */
    sessions: () => server.runtime.stats().connections.online,
    deliverRun: (args: { devices: string[]; count: number; concurrency: number; tag: string }) =>
      deliverRun(args),
    dropAll: () => {
      for (const session of server.runtime.sessions()) session.close("benchmark: fleet reconnect");
      return null;
    },
    reloadTls: () => {
      server.runtime.reloadTls({ cert: pem(config.pki.server2Cert), key: pem(config.pki.server2Key) });
      return null;
    },
  },
  metricsPort === undefined ? { port } : { port, metricsPort },
);

let orderSeq = 0;

/**
 * `count` deliveries of CoinCommand to `devices` (round robin), `concurrency` at a time, each timed
 * from `deliver()` to its final CoinAck reaching this node.
 */
async function deliverRun(args: {
  devices: string[];
  count: number;
  concurrency: number;
  tag: string;
}): Promise<DeliverRunResult> {
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  let firstError: string | null = null;
  const started = performance.now();
  const worker = async () => {
    while (next < args.count) {
      const i = next++;
      const deviceId = args.devices[i % args.devices.length]!;
      // 62 characters at most (one-byte length on the device side).
      const orderId = `${args.tag}-${process.pid}-${++orderSeq}`;
      const t0 = performance.now();
      try {
        for await (const _ack of server.deliverCoinCommand(
          deviceId,
          { orderId, coins: 1 },
          { deadlineMs: 30_000 },
        )) {
          // The final CoinAck ends the iteration.
        }
        latencies.push(performance.now() - t0);
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: args.concurrency }, worker));
  const elapsedMs = performance.now() - started;
  return {
    completed: latencies.length,
    failed,
    firstError,
    elapsedMs,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    meanMs: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
  };
}
