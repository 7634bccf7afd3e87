/**
 * The paynet server under test, built only from the generated SDK (`createPayboxServer`): every
 * frame goes frame decode → protobuf decode → typed dispatch → handler → encoded reply.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { registerServerMetrics } from "@paynet/metrics";
import { collectDefaultMetrics, Registry } from "prom-client";
import { childConfig, cpuMicros, memoryAfterGc, serveRpc } from "../lib/child.js";
import { type BenchPkiFiles, pem } from "../lib/pki.js";
import type { PayboxSdk } from "../lib/sdk-types.js";

interface Config {
  pki: BenchPkiFiles;
  sdkDir: string;
  ticketKeys: string;
  readTimeoutMs: number;
  /** Attach the Prometheus exporter (process defaults included) and serve it on `/metrics`. */
  metrics?: boolean;
}

const config = childConfig<Config>();
const sdk = (await import(pathToFileURL(`${config.sdkDir}/index.ts`).href)) as PayboxSdk;

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
if (config.metrics === true) {
  const registry = new Registry();
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
    online: () => online,
    connections: () => server.runtime.stats().connections.current,
    handshakes: () => server.runtime.stats().handshakes,
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
