/**
 * Fuzz a live server over TLS: many connections send hostile frame streams while one healthy,
 * logged-in device keeps doing ping/pong round trips. Everything the server reports must be a typed
 * `PaynetError`; the healthy session must never go offline; memory must stay bounded.
 */
import { connect } from "node:tls";
import { PaynetError } from "../../../runtime/src/errors.js";
import { encodeFrame } from "../../../runtime/src/frame/encoder.js";
import { PaynetServer } from "../../../runtime/src/server/server.js";
import type { Session } from "../../../runtime/src/server/types.js";
import { LoginReqDef, LoginRspDef, loginPingAckRegistry, PingDef, PongDef } from "../../helpers/messages.js";
import type { TestPki } from "../../helpers/pki.js";
import { RawDevice } from "../../helpers/raw-device.js";
import { testErrorMessage } from "../../helpers/test-server.js";
import { countingLogger } from "./counting-logger.js";
import { contentFrame, framingViolation } from "./fuzz-frames.js";
import { Prng } from "./prng.js";

export interface FuzzOptions {
  /** Total hostile frames to send. */
  frames: number;
  /** Frames per connection before it ends (or breaks its framing). */
  framesPerConnection?: number;
  /** Connections in parallel. */
  parallel?: number;
  seed?: number;
}

export interface FuzzReport {
  framesSent: number;
  connections: number;
  byKind: Record<string, number>;
  errorsByCode: Record<string, number>;
  offlineByCode: Record<string, number>;
  untypedErrors: string[];
  healthyRoundTrips: number;
  healthyWentOffline: boolean;
  heapStart: number | undefined;
  heapEnd: number | undefined;
  logWarnings: number;
  openSessionsAtEnd: number;
  elapsedMs: number;
}

const MAX_FRAME = 4_096;
const HEALTHY_ID = "healthy-device";

function gcHeap(): number | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return undefined;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Runs the fuzz campaign and reports what happened; assertions are the caller's. */
export async function runFuzz(pki: TestPki, options: FuzzOptions): Promise<FuzzReport> {
  const perConnection = options.framesPerConnection ?? 1_000;
  const parallel = options.parallel ?? 4;
  const rng = new Prng(options.seed ?? 0xc0ffee);
  const logger = countingLogger();
  const registry = loginPingAckRegistry();
  const server = new PaynetServer({
    tls: { cert: pki.server.cert, key: pki.server.key },
    registry,
    logger,
    errorMessage: testErrorMessage,
    maxFrame: MAX_FRAME,
    readTimeoutMs: 2_000,
    // Every fuzz connection logs in first and then sends hundreds of hostile frames: the decoders
    // are what is fuzzed here, so the bad-frame limit (tested by the hostile-peer suite) is lifted.
    badFrames: { maxPerWindow: 1_000_000 },
  });
  const errorsByCode: Record<string, number> = {};
  const offlineByCode: Record<string, number> = {};
  const untypedErrors: string[] = [];
  let healthySession: Session | undefined;
  let healthyWentOffline = false;
  server.on("error", (error) => {
    if (!(error instanceof PaynetError)) {
      if (untypedErrors.length < 10) untypedErrors.push(String(error));
      return;
    }
    errorsByCode[error.code] = (errorsByCode[error.code] ?? 0) + 1;
  });
  server.on("offline", (session, reason) => {
    offlineByCode[reason.code] = (offlineByCode[reason.code] ?? 0) + 1;
    if (session === healthySession) healthyWentOffline = true;
  });
  server.on("online", (session) => {
    if (session.deviceId === HEALTHY_ID) healthySession = session;
  });
  const { port } = await server.start();
  const started = performance.now();
  const healthy = await RawDevice.connect({ port, ca: pki.ca.cert });
  let healthyRoundTrips = 0;
  const byKind: Record<string, number> = {};
  let framesSent = 0;
  let connections = 0;
  let heapStart: number | undefined;
  let offlineDuringRun = true;
  try {
    healthy.send(LoginReqDef, { deviceId: HEALTHY_ID, token: "t" });
    await healthy.next(LoginRspDef);
    const roundTrip = async () => {
      healthy.send(PingDef, { timestamp: Date.now() });
      await healthy.next(PongDef, 10_000);
      healthyRoundTrips++;
    };

    const oneConnection = async (frames: number) => {
      const socket = connect({ port, host: "127.0.0.1", servername: "localhost", ca: pki.ca.cert });
      socket.on("error", () => {});
      socket.resume();
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      await new Promise<void>((resolve) => {
        socket.once("secureConnect", () => resolve());
        socket.once("close", () => resolve());
      });
      connections++;
      // Logged in first: before login only the login flow's Types are accepted (any other closes).
      let batch: Buffer[] = [
        encodeFrame(
          LoginReqDef.type,
          LoginReqDef.codec.encode({ deviceId: `fuzz-${connections}`, token: "t" }),
        ),
      ];
      for (let i = 0; i < frames && !socket.destroyed; i++) {
        const { kind, bytes } = contentFrame(rng);
        byKind[kind] = (byKind[kind] ?? 0) + 1;
        batch.push(bytes);
        framesSent++;
        if (batch.length === 100 || i === frames - 1) {
          const ok = socket.write(Buffer.concat(batch));
          batch = [];
          if (!ok)
            await new Promise<void>((resolve) => {
              socket.once("drain", () => resolve());
              socket.once("close", () => resolve());
            });
        }
      }
      if (!socket.destroyed && rng.next() < 0.5) {
        const { kind, bytes } = framingViolation(rng, MAX_FRAME);
        byKind[kind] = (byKind[kind] ?? 0) + 1;
        framesSent++;
        socket.write(bytes);
      }
      socket.end();
      // A peer that stops reading must not keep the run waiting: the server's read timeout or our
      // own bound ends it.
      const timer = setTimeout(() => socket.destroy(), 5_000);
      await closed;
      clearTimeout(timer);
    };

    let remaining = options.frames;
    let round = 0;
    while (remaining > 0) {
      const wave: Promise<void>[] = [];
      for (let i = 0; i < parallel && remaining > 0; i++) {
        const frames = Math.min(perConnection, remaining);
        remaining -= frames;
        wave.push(oneConnection(frames));
      }
      await Promise.all(wave);
      await roundTrip();
      if (round++ === 0) heapStart = gcHeap();
    }
    await roundTrip();
    offlineDuringRun = healthyWentOffline;
  } finally {
    healthy.destroy();
  }
  // Let the server see the healthy device's close before counting what is still open.
  await healthy.closed;
  await new Promise((resolve) => setTimeout(resolve, 50));
  const heapEnd = gcHeap();
  const openSessionsAtEnd = server.stats().connections.current;
  await server.stop({ graceMs: 0 });
  return {
    framesSent,
    connections,
    byKind,
    errorsByCode,
    offlineByCode,
    untypedErrors,
    healthyRoundTrips,
    healthyWentOffline: offlineDuringRun,
    heapStart,
    heapEnd,
    logWarnings: logger.counts.warn,
    openSessionsAtEnd,
    elapsedMs: performance.now() - started,
  };
}
