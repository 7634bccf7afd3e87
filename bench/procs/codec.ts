/**
 * Codec micro-benchmark: the generated SDK's static codecs vs protobufjs static code (`pbjs -t
 * static-module`) on the same paybox messages, alternating A/B rounds in one process.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { childConfig, serveRpc } from "../lib/child.js";
import type { CodecLike, PayboxSdk } from "../lib/sdk-types.js";
import { median } from "../lib/stats.js";

interface PbjsType {
  encode(message: Record<string, unknown>): { finish(): Uint8Array };
  decode(bytes: Uint8Array): unknown;
}

const config = childConfig<{ sdkDir: string; pbjsFile: string }>();
const sdk = (await import(pathToFileURL(`${config.sdkDir}/index.ts`).href)) as PayboxSdk;
const pbjs = createRequire(import.meta.url)(config.pbjsFile) as { paybox: Record<string, PbjsType> };

/** Messages and their values: generated form (bigint for 64-bit) and protobufjs form (number). */
const cases: Array<{
  name: string;
  generated: Record<string, unknown>;
  protobufjs: Record<string, unknown>;
}> = [
  {
    name: "QueryRsp",
    generated: {
      orderId: "bench-order-0000000000000000000000000000000000000000000000",
      state: 2,
      progress: 100,
    },
    protobufjs: {
      orderId: "bench-order-0000000000000000000000000000000000000000000000",
      state: 2,
      progress: 100,
    },
  },
  {
    name: "Ping",
    generated: { timestamp: 1_732_000_000_000n, uptime: 86_400, signal: -71, ip: "10.20.30.40" },
    protobufjs: { timestamp: 1_732_000_000_000, uptime: 86_400, signal: -71, ip: "10.20.30.40" },
  },
  {
    name: "CoinAck",
    generated: { orderId: "order-000123", state: 1, progress: 40, error: "coin jam in hopper 2" },
    protobufjs: { orderId: "order-000123", state: 1, progress: 40, error: "coin jam in hopper 2" },
  },
  {
    name: "LoginReq",
    generated: { deviceId: "device-000001", token: "0123456789abcdef0123456789abcdef", version: "1.4.2" },
    protobufjs: { deviceId: "device-000001", token: "0123456789abcdef0123456789abcdef", version: "1.4.2" },
  },
];

/** Operations per second of `op`, measured over about `ms` milliseconds. */
function opsPerSec(op: () => unknown, ms: number): number {
  let sink = 0;
  let ops = 0;
  const started = performance.now();
  let now = started;
  while (now - started < ms) {
    for (let i = 0; i < 2_000; i++) if (op() !== undefined) sink++;
    ops += 2_000;
    now = performance.now();
  }
  if (sink < 0) console.log(sink);
  return (ops / (now - started)) * 1000;
}

serveRpc({
  run: (args: { rounds: number; ms: number }) => {
    const results = [];
    for (const c of cases) {
      const gen = sdk.codecs[c.name] as CodecLike<Record<string, unknown>>;
      const pb = pbjs.paybox[c.name]!;
      const genBytes = gen.encode(c.generated);
      const pbBytes = pb.encode(c.protobufjs).finish();
      if (Buffer.compare(Buffer.from(genBytes), Buffer.from(pbBytes)) !== 0) {
        throw new Error(`${c.name}: generated and protobufjs encodings differ`);
      }
      const samples = {
        genEncode: [] as number[],
        pbEncode: [] as number[],
        genDecode: [] as number[],
        pbDecode: [] as number[],
      };
      for (let r = 0; r < args.rounds; r++) {
        samples.genEncode.push(opsPerSec(() => gen.encode(c.generated), args.ms));
        samples.pbEncode.push(opsPerSec(() => pb.encode(c.protobufjs).finish(), args.ms));
        samples.genDecode.push(opsPerSec(() => gen.decode(genBytes), args.ms));
        samples.pbDecode.push(opsPerSec(() => pb.decode(pbBytes), args.ms));
      }
      results.push({
        message: c.name,
        bytes: genBytes.length,
        generatedEncode: median(samples.genEncode),
        protobufjsEncode: median(samples.pbEncode),
        generatedDecode: median(samples.genDecode),
        protobufjsDecode: median(samples.pbDecode),
      });
    }
    return results;
  },
});
