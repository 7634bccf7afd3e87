/**
 * Idle-fleet load of the connection-scale scenario: N lightweight TLS connections (the same client
 * code against every server), optionally logged in with a LoginReq, then heartbeating with a Ping
 * every `heartbeatMs` (spread evenly). Also measures full vs resumed handshake cost.
 */
import { childConfig, cpuMicros, memoryAfterGc, serveRpc } from "../lib/child.js";
import { FrameSocket } from "../lib/frame-client.js";
import {
  COIN_COMMAND_TYPE,
  coinAckDone,
  frame,
  LOGIN_REQ_TYPE,
  LOGIN_RSP_TYPE,
  PING_TYPE,
  pingPayload,
  stringField1,
} from "../lib/payload.js";
import { type BenchPkiFiles, pem } from "../lib/pki.js";
import { percentile } from "../lib/stats.js";

interface Config {
  pki: BenchPkiFiles;
  /** Prefix of device ids (unique per fleet process). */
  idPrefix: string;
}

interface ConnectArgs {
  /** Server port; with `ports`, device i connects to `ports[i % ports.length]`. */
  port: number;
  ports?: number[];
  n: number;
  concurrency: number;
  login: boolean;
  localAddresses: string[];
  /** Answer every CoinCommand with its final CoinAck (a device executing commands at once). */
  autoAck?: boolean;
  /** Device ids are `<idPrefix>-<i>` (default: the process's prefix). */
  idPrefix?: string;
  /** Resume TLS sessions with a ticket of an earlier connection to the same port (cheap handshakes). */
  resume?: boolean;
}

const config = childConfig<Config>();
const ca = pem(config.pki.ca);
const sockets: FrameSocket[] = [];
let heartbeatTimer: NodeJS.Timeout | undefined;
let framesIn = 0;
/** Handshakes of `connect` that resumed a TLS session. */
let resumed = 0;
/** Pings written since the start. */
let pingsSent = 0;

serveRpc({
  connect: (args: ConnectArgs) => connectAll(args),
  heartbeat: (args: { intervalMs: number }) => startHeartbeats(args.intervalMs),
  status: () => ({ open: sockets.filter((s) => !s.socket.destroyed).length, framesIn, resumed, pingsSent }),
  mem: () => memoryAfterGc(),
  cpu: () => cpuMicros(),
  stopHeartbeats: () => {
    if (heartbeatTimer !== undefined) clearInterval(heartbeatTimer);
    heartbeatTimer = undefined;
    return null;
  },
  closeAll: () => {
    if (heartbeatTimer !== undefined) clearInterval(heartbeatTimer);
    for (const socket of sockets.splice(0)) socket.close();
    return null;
  },
  handshakes: (args: { port: number; count: number; resume: boolean }) =>
    handshakes(args.port, args.count, args.resume),
});

async function connectAll(
  args: ConnectArgs,
): Promise<{ elapsedMs: number; connected: number; failed: number; firstError: string | null }> {
  const started = performance.now();
  let next = 0;
  let failed = 0;
  let firstError: string | null = null;
  const worker = async () => {
    while (next < args.n) {
      const i = next++;
      const localAddress =
        args.localAddresses.length === 0 ? undefined : args.localAddresses[i % args.localAddresses.length];
      const port = args.ports === undefined ? args.port : args.ports[i % args.ports.length]!;
      try {
        const session = args.resume === true ? tickets.get(port) : undefined;
        const client = await FrameSocket.connect({
          port,
          ca,
          ...(localAddress === undefined ? {} : { localAddress }),
          ...(session === undefined ? {} : { session }),
        });
        if (args.resume === true && session === undefined) await waitForTicket(client);
        if (args.resume === true && client.ticket !== undefined && !tickets.has(port))
          tickets.set(port, client.ticket);
        if (client.resumed) resumed++;
        client.onFrame =
          args.autoAck === true
            ? (type, payload) => {
                framesIn++;
                if (type !== COIN_COMMAND_TYPE) return;
                const ack = coinAckDone(payload);
                if (ack !== undefined) client.write(ack);
              }
            : () => {
                framesIn++;
              };
        if (args.login) {
          const reply = client.next(LOGIN_RSP_TYPE);
          client.write(frame(LOGIN_REQ_TYPE, stringField1(`${args.idPrefix ?? config.idPrefix}-${i}`)));
          await reply;
        }
        sockets.push(client);
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: args.concurrency }, worker));
  return { elapsedMs: performance.now() - started, connected: sockets.length, failed, firstError };
}

/** One Ping per socket per interval, sent in 20 slices so the load is even. */
function startHeartbeats(intervalMs: number): null {
  if (heartbeatTimer !== undefined) clearInterval(heartbeatTimer);
  const slices = 20;
  let tick = 0;
  const started = Date.now();
  heartbeatTimer = setInterval(() => {
    const slice = tick++ % slices;
    const ping = frame(PING_TYPE, pingPayload(Date.now(), Math.floor((Date.now() - started) / 1000)));
    for (let i = slice; i < sockets.length; i += slices) {
      sockets[i]!.write(ping);
      pingsSent++;
    }
  }, intervalMs / slices);
  return null;
}

/** Latest ticket per server port (tickets of one server do not resume on another). */
const tickets = new Map<number, Buffer>();

/**
 * `count` sequential handshakes, full (no ticket) or resumed (each with the latest ticket, which an
 * earlier call must have received). Client-side latency; the driver reads the server's CPU around it.
 */
async function handshakes(port: number, count: number, resume: boolean) {
  const latencies: number[] = [];
  let notResumed = 0;
  for (let i = 0; i < count; i++) {
    const session = resume ? tickets.get(port) : undefined;
    const t0 = performance.now();
    const client = await FrameSocket.connect({ port, ca, ...(session === undefined ? {} : { session }) });
    latencies.push(performance.now() - t0);
    if (resume && !client.resumed) notResumed++;
    // Stateless TLS 1.3 tickets can be reused; only wait for one when none is known yet (a resumed
    // handshake may not bring a new one, and waiting would dominate the run).
    if (!tickets.has(port)) await waitForTicket(client);
    if (client.ticket !== undefined) tickets.set(port, client.ticket);
    client.close();
  }
  return {
    p50Ms: percentile(latencies, 50),
    meanMs: latencies.reduce((a, b) => a + b, 0) / Math.max(1, count),
    notResumed,
  };
}

/** TLS 1.3 tickets arrive after the handshake; wait briefly for one. */
function waitForTicket(client: FrameSocket): Promise<void> {
  if (client.ticket !== undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 500);
    client.socket.once("session", () => {
      clearTimeout(timer);
      setImmediate(resolve);
    });
  });
}
