/**
 * Device fleet of the resumption scenario, built only from the generated SDK (`createPayboxClient`):
 * every client logs in, heartbeats, caches TLS tickets and reconnects with the runtime's jittered
 * backoff. Reports how many (re)connections resumed their TLS session.
 */
import { pathToFileURL } from "node:url";
import { childConfig, serveRpc } from "../lib/child.js";
import { type BenchPkiFiles, pem } from "../lib/pki.js";
import type { PayboxClientLike, PayboxSdk } from "../lib/sdk-types.js";

interface Config {
  pki: BenchPkiFiles;
  sdkDir: string;
  port: number;
  n: number;
  idPrefix: string;
  heartbeatMs: number;
  reconnect: { initialDelayMs: number; maxDelayMs: number; jitter: number };
}

const config = childConfig<Config>();
const sdk = (await import(pathToFileURL(`${config.sdkDir}/index.ts`).href)) as PayboxSdk;
const ca = pem(config.pki.ca);
const clients: PayboxClientLike[] = [];
let online = 0;
/** Since the last `mark`: online events, how many resumed, and when each client came back. */
let phase = { onlineEvents: 0, resumed: 0, startedAt: performance.now(), times: [] as number[] };

for (let i = 0; i < config.n; i++) {
  const client = sdk.createPayboxClient({
    host: "127.0.0.1",
    port: config.port,
    tls: { ca, servername: "localhost" },
    login: () => ({ deviceId: `${config.idPrefix}-${i}`, token: "bench" }),
    heartbeat: { intervalMs: config.heartbeatMs },
    reconnect: config.reconnect,
  });
  client.runtime.on("online", ({ resumed }) => {
    online++;
    phase.onlineEvents++;
    if (resumed) phase.resumed++;
    phase.times.push(performance.now() - phase.startedAt);
  });
  client.runtime.on("offline", () => {
    online--;
  });
  clients.push(client);
}

serveRpc({
  start: () => {
    for (const client of clients) client.start();
    return null;
  },
  /** Resets the phase counters (before the server drops every session). */
  mark: () => {
    phase = { onlineEvents: 0, resumed: 0, startedAt: performance.now(), times: [] };
    return null;
  },
  /** Waits until every client is online and at least `minEvents` online events happened since `mark`. */
  waitOnline: async (args: { minEvents: number; timeoutMs: number }) => {
    const deadline = performance.now() + args.timeoutMs;
    while ((online < config.n || phase.onlineEvents < args.minEvents) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const times = phase.times;
    return {
      online,
      onlineEvents: phase.onlineEvents,
      resumed: phase.resumed,
      allOnlineMs: times.length === 0 ? Number.NaN : Math.max(...times),
    };
  },
  stopAll: async () => {
    await Promise.all(clients.map((client) => client.stop()));
    return null;
  },
});
