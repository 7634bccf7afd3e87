/**
 * Load generator of the throughput/latency scenario. `pipelined`: `window` requests in flight on one
 * connection, each reply immediately replaced (replies of one chunk are replaced by one write);
 * `pingpong`: one request at a time, round-trip times recorded. Targets: a framed TLS server (raw echo
 * or paynet) or the gRPC server.
 */
import { credentials, makeGenericClientConstructor, type ServiceError } from "@grpc/grpc-js";
import { childConfig, serveRpc } from "../lib/child.js";
import { FrameSocket } from "../lib/frame-client.js";
import { benchService, type QueryReqMessage, type QueryRspMessage } from "../lib/grpc-service.js";
import {
  frame,
  LOGIN_REQ_TYPE,
  LOGIN_RSP_TYPE,
  ORDER_ID,
  QUERY_REQ_TYPE,
  queryReqPayload,
  stringField1,
} from "../lib/payload.js";
import { type BenchPkiFiles, pem } from "../lib/pki.js";
import { percentile } from "../lib/stats.js";

interface RunArgs {
  target: "frames" | "grpc";
  port: number;
  mode: "pipelined" | "pingpong";
  window: number;
  warmupMs: number;
  durationMs: number;
  /** Type of the expected reply frames (frames target). */
  expectType: number;
  /** Log in first (paynet accepts only the login flow's Types before login). */
  login?: boolean;
}

export interface LoadResult {
  messages: number;
  elapsedMs: number;
  perSec: number;
  p50Us: number;
  p99Us: number;
  errors: number;
  /** Reply frames per inbound chunk (how well the server batches its writes). */
  framesPerChunk: number;
}

const config = childConfig<{ pki: BenchPkiFiles }>();
const ca = pem(config.pki.ca);
const request = frame(QUERY_REQ_TYPE, queryReqPayload());
let logins = 0;

serveRpc({ run: (args: RunArgs) => (args.target === "grpc" ? runGrpc(args) : runFrames(args)) });

/** Runs `tick` while measuring between warm-up end and deadline. */
function phases(args: RunArgs): { measuring: () => boolean; over: () => boolean; startedAt: () => number } {
  const begin = performance.now();
  let started = 0;
  return {
    measuring: () => {
      const now = performance.now();
      if (now - begin < args.warmupMs) return false;
      if (started === 0) started = now;
      return now - begin < args.warmupMs + args.durationMs;
    },
    over: () => performance.now() - begin >= args.warmupMs + args.durationMs,
    startedAt: () => started,
  };
}

async function runFrames(args: RunArgs): Promise<LoadResult> {
  const client = await FrameSocket.connect({ port: args.port, ca });
  if (args.login === true) {
    const reply = client.next(LOGIN_RSP_TYPE);
    client.write(frame(LOGIN_REQ_TYPE, stringField1(`bench-load-${++logins}`)));
    await reply;
  }
  const batch = Buffer.concat(Array.from({ length: Math.max(args.window, 1) }, () => request));
  const clock = phases(args);
  let counted = 0;
  let errors = 0;
  const rtts: number[] = [];
  let sentAt = 0;
  let chunks = 0;
  await new Promise<void>((resolve) => {
    client.onFrame = (type) => {
      if (type !== args.expectType) errors++;
      if (args.mode === "pingpong" && clock.measuring()) rtts.push((performance.now() - sentAt) * 1000);
    };
    client.onChunk = (frames) => {
      if (clock.measuring()) {
        counted += frames;
        chunks++;
      }
      if (clock.over()) return resolve();
      if (args.mode === "pingpong") {
        sentAt = performance.now();
        client.write(request);
      } else {
        client.write(frames === args.window ? batch : batch.subarray(0, frames * request.length));
      }
    };
    client.socket.once("close", () => resolve());
    sentAt = performance.now();
    client.write(args.mode === "pingpong" ? request : batch);
  });
  client.close();
  const elapsedMs = performance.now() - clock.startedAt();
  const measuredMs = Math.min(elapsedMs, args.durationMs);
  return {
    messages: counted,
    elapsedMs: measuredMs,
    perSec: (counted / measuredMs) * 1000,
    p50Us: percentile(rtts, 50),
    p99Us: percentile(rtts, 99),
    errors,
    framesPerChunk: counted / Math.max(1, chunks),
  };
}

interface GrpcClient {
  query(
    request: QueryReqMessage,
    callback: (error: ServiceError | null, reply?: QueryRspMessage) => void,
  ): void;
  close(): void;
  waitForReady(deadline: number, callback: (error?: Error) => void): void;
}

async function runGrpc(args: RunArgs): Promise<LoadResult> {
  const Client = makeGenericClientConstructor(benchService, "Bench");
  const client = new Client(`127.0.0.1:${args.port}`, credentials.createSsl(Buffer.from(ca)), {
    "grpc.ssl_target_name_override": "localhost",
    "grpc.default_authority": "localhost",
  }) as unknown as GrpcClient;
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())),
  );
  const message: QueryReqMessage = { orderId: ORDER_ID };
  const clock = phases(args);
  let counted = 0;
  let errors = 0;
  const rtts: number[] = [];
  const inFlight = args.mode === "pingpong" ? 1 : args.window;
  await new Promise<void>((resolve) => {
    let active = inFlight;
    const one = () => {
      const sentAt = performance.now();
      client.query(message, (error) => {
        if (error) errors++;
        if (clock.measuring()) {
          counted++;
          if (args.mode === "pingpong") rtts.push((performance.now() - sentAt) * 1000);
        }
        if (clock.over()) {
          if (--active === 0) resolve();
          return;
        }
        one();
      });
    };
    for (let i = 0; i < inFlight; i++) one();
  });
  client.close();
  return {
    messages: counted,
    elapsedMs: args.durationMs,
    perSec: (counted / args.durationMs) * 1000,
    p50Us: percentile(rtts, 50),
    p99Us: percentile(rtts, 99),
    errors,
    framesPerChunk: Number.NaN,
  };
}
