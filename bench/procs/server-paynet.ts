/**
 * The paynet server under test, built only from the generated SDK (`createPayboxServer`): every
 * frame goes frame decode → protobuf decode → typed dispatch → handler → encoded reply.
 */
import { pathToFileURL } from "node:url";
import { childConfig, cpuMicros, memoryAfterGc, serveRpc } from "../lib/child.js";
import { type BenchPkiFiles, pem } from "../lib/pki.js";
import type { PayboxSdk } from "../lib/sdk-types.js";

interface Config {
  pki: BenchPkiFiles;
  sdkDir: string;
  ticketKeys: string;
  readTimeoutMs: number;
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
  { port },
);
