/**
 * Peers that send the 5-byte header of a 64 KiB frame and stop, against a server in its own process
 * (test/stress/procs/prelogin-server.ts): what they cost the server, measured after full GCs against
 * the same number of idle TLS peers measured in the same run, and that a server with the default
 * pre-login limit refuses them all at once.
 */

import { connect, createSecureContext, type TLSSocket } from "node:tls";
import { fileURLToPath } from "node:url";
import { BenchProcess } from "../../../bench/lib/proc.js";
import { encodeFrame } from "../../../runtime/src/frame/encoder.js";
import { PingDef } from "../../helpers/messages.js";
import type { TestPki } from "../../helpers/pki.js";

const SERVER = fileURLToPath(new URL("../procs/prelogin-server.ts", import.meta.url));

/** Server memory per peer: RSS, and JS heap plus buffers (`heapUsed + arrayBuffers`). */
export interface PerPeer {
  rss: number;
  heap: number;
}

export interface HeaderOnlyReport {
  peers: number;
  /** Each idle peer: handshake, one Ping, then silence. */
  idle: PerPeer;
  /** Each header-only peer: handshake, one Ping and the header of a 64 KiB Ping, then silence. */
  headerOnly: PerPeer;
  /** With the default `preLogin.maxFrame`: header-only peers refused, still open, warn lines. */
  strict: { refused: number; open: number; warnLines: number };
}

interface Memory {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
}

interface ServerStats {
  connections: number;
  framesIn: number;
  preLogin: { oversizeFrames: number };
  logCounts: { warn: number };
}

const PING = encodeFrame(PingDef.type, PingDef.codec.encode({ timestamp: 1 }));
/** The header of a 64 KiB Ping frame (Len 65 536; over the default `preLogin.maxFrame`). */
const HEADER_64K = (() => {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(65_536, 0);
  header[4] = PingDef.type;
  return header;
})();

export async function measureHeaderOnlyPeers(pki: TestPki, peers: number): Promise<HeaderOnlyReport> {
  const server = await BenchProcess.start(
    "prelogin-server",
    SERVER,
    { cert: pki.server.cert, key: pki.server.key },
    { fdLimit: 3 * peers + 1_000 },
  );
  const context = createSecureContext({ ca: pki.ca.cert });
  const open: TLSSocket[] = [];
  const liftedPort = server.ready.liftedPort as number;
  const strictPort = server.ready.strictPort as number;
  const stats = () => server.call<ServerStats>("stats", "lifted");
  const strictStats = () => server.call<ServerStats>("stats", "strict");
  try {
    // Warm-up on both servers, so what a process pays once (compiled code, V8's young generation
    // growing) is not counted per peer.
    const warm = await connectPeers(liftedPort, context, 100, (i) =>
      i % 2 === 0 ? PING : Buffer.concat([PING, HEADER_64K]),
    );
    await until(async () => (await stats()).framesIn >= 100, "warm-up frames");
    for (const socket of warm) socket.destroy();
    await until(async () => (await stats()).connections === 0, "warm-up peers gone");

    const m0 = await server.call<Memory>("mem");
    open.push(...(await connectPeers(liftedPort, context, peers, () => PING)));
    await until(async () => (await stats()).framesIn >= 100 + peers, "idle peers' pings");
    const m1 = await server.call<Memory>("mem");
    open.push(...(await connectPeers(liftedPort, context, peers, () => Buffer.concat([PING, HEADER_64K]))));
    // The header travels in the Ping's TLS record: once the Ping is counted, the header was read.
    await until(async () => (await stats()).framesIn >= 100 + 2 * peers, "header-only peers' pings");
    const m2 = await server.call<Memory>("mem");
    if ((await stats()).connections !== 2 * peers) throw new Error("header-only run: peers were closed");

    const strictPeers = await connectPeers(strictPort, context, peers, () =>
      Buffer.concat([PING, HEADER_64K]),
    );
    await until(async () => (await strictStats()).preLogin.oversizeFrames >= peers, "strict refusals");
    await until(async () => (await strictStats()).connections === 0, "strict peers closed");
    const strict = await strictStats();
    for (const socket of strictPeers) socket.destroy();
    return {
      peers,
      idle: perPeer(m0, m1, peers),
      headerOnly: perPeer(m1, m2, peers),
      strict: {
        refused: strict.preLogin.oversizeFrames,
        open: strict.connections,
        warnLines: strict.logCounts.warn,
      },
    };
  } finally {
    for (const socket of open) socket.destroy();
    await server.stop();
  }
}

function perPeer(before: Memory, after: Memory, peers: number): PerPeer {
  return {
    rss: (after.rss - before.rss) / peers,
    heap: (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / peers,
  };
}

/** Opens `count` TLS peers (50 handshakes at a time), each writing `bytes(i)` once connected. */
async function connectPeers(
  port: number,
  secureContext: ReturnType<typeof createSecureContext>,
  count: number,
  bytes: (i: number) => Buffer,
): Promise<TLSSocket[]> {
  const sockets: TLSSocket[] = [];
  for (let start = 0; start < count; start += 50) {
    const wave = Array.from(
      { length: Math.min(50, count - start) },
      (_, k) =>
        new Promise<TLSSocket>((resolve, reject) => {
          const socket = connect({ port, host: "127.0.0.1", servername: "localhost", secureContext });
          socket.once("secureConnect", () => {
            socket.write(bytes(start + k));
            resolve(socket);
          });
          socket.once("error", reject);
        }),
    );
    for (const socket of await Promise.all(wave)) {
      socket.on("error", () => {});
      sockets.push(socket);
    }
  }
  return sockets;
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`header-only peers: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
