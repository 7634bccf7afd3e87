/**
 * Fuzz input for a live server: streams of frames whose framing stays intact (so the server parses
 * every one) but whose contents are hostile — flipped bytes, unknown Types, invalid protobuf, random
 * payloads — each stream optionally ending with one framing violation (wrong Len, truncation, oversize
 * Len, Len 0) after which the server must close that connection and only that one.
 */
import { encodeFrame } from "../../../runtime/src/frame/encoder.js";
import { AckDef, LoginReqDef, PingDef } from "../../helpers/messages.js";
import type { Prng } from "./prng.js";

/** Types the test server registers (uplink), used for "valid Type, bad payload" frames. */
const KNOWN_TYPES = [LoginReqDef.type, PingDef.type, AckDef.type];

/** Valid payloads to mutate. */
const SEEDS: readonly Buffer[] = [
  Buffer.from(
    PingDef.codec.encode({ timestamp: 1_732_000_000_000, uptime: 3600, signal: -70, ip: "10.0.0.1" }),
  ),
  Buffer.from(AckDef.codec.encode({ orderId: "order-42", state: 2, progress: 100 })),
  Buffer.from(LoginReqDef.codec.encode({ deviceId: "fuzz-device", token: "t", version: "1" })),
];

export type ContentKind = "flipped" | "unknown-type" | "invalid-protobuf" | "random" | "empty" | "valid";
export type FramingKind = "len-too-big" | "len-too-small" | "truncated" | "oversize" | "len-zero" | "garbage";

/** One in-frame fuzz case: intact framing, hostile contents. */
export function contentFrame(rng: Prng): { kind: ContentKind; bytes: Buffer } {
  const roll = rng.int(100);
  if (roll < 35) {
    const seedIndex = rng.int(SEEDS.length);
    const payload = Buffer.from(SEEDS[seedIndex]!);
    const flips = 1 + rng.int(3);
    for (let i = 0; i < flips; i++) payload[rng.int(payload.length)] ^= 1 << rng.int(8);
    return { kind: "flipped", bytes: encodeFrame(rng.pick(KNOWN_TYPES), payload) };
  }
  if (roll < 50) {
    // Types nobody registered (the fuzz server registers 0x02, 0x03 and 0x84).
    let type = rng.int(256);
    while (KNOWN_TYPES.includes(type)) type = rng.int(256);
    return { kind: "unknown-type", bytes: encodeFrame(type, rng.bytes(rng.int(40))) };
  }
  if (roll < 70) {
    // Classic protobuf breakers: a length-delimited field longer than the payload, a bad wire type,
    // a truncated varint.
    const breakers = [
      Buffer.from([0x0a, 0x7f, 0x41]),
      Buffer.from([0x0f, 0x01]),
      Buffer.from([0x08, 0xff, 0xff]),
      Buffer.from([0x12, 0x05, 0x01]),
      Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    ];
    return { kind: "invalid-protobuf", bytes: encodeFrame(rng.pick(KNOWN_TYPES), rng.pick(breakers)) };
  }
  if (roll < 85) return { kind: "random", bytes: encodeFrame(rng.pick(KNOWN_TYPES), rng.bytes(rng.int(64))) };
  if (roll < 90) return { kind: "empty", bytes: encodeFrame(rng.pick(KNOWN_TYPES), Buffer.alloc(0)) };
  return { kind: "valid", bytes: encodeFrame(PingDef.type, SEEDS[0]!) };
}

/** One framing violation that must end the connection (or stall it until the read timeout). */
export function framingViolation(rng: Prng, maxFrame: number): { kind: FramingKind; bytes: Buffer } {
  const kind = rng.pick<FramingKind>([
    "len-too-big",
    "len-too-small",
    "truncated",
    "oversize",
    "len-zero",
    "garbage",
  ]);
  switch (kind) {
    case "len-too-big": {
      // Announces more than follows: the server waits for bytes that never come (read timeout).
      const frame = encodeFrame(PingDef.type, SEEDS[0]!);
      frame.writeUInt32BE(frame.readUInt32BE(0) + 1 + rng.int(100), 0);
      return { kind, bytes: frame };
    }
    case "len-too-small": {
      const frame = encodeFrame(PingDef.type, SEEDS[0]!);
      frame.writeUInt32BE(1 + rng.int(Math.max(1, frame.length - 5)), 0);
      return { kind, bytes: Buffer.concat([frame, rng.bytes(8)]) };
    }
    case "truncated":
      return { kind, bytes: encodeFrame(PingDef.type, SEEDS[0]!).subarray(0, 1 + rng.int(6)) };
    case "oversize": {
      const header = Buffer.alloc(5);
      header.writeUInt32BE(maxFrame + 1 + rng.int(0x7fff_0000), 0);
      header[4] = PingDef.type;
      return { kind, bytes: Buffer.concat([header, rng.bytes(16)]) };
    }
    case "len-zero":
      return { kind, bytes: Buffer.from([0, 0, 0, 0, PingDef.type]) };
    default:
      return { kind, bytes: rng.bytes(1 + rng.int(200)) };
  }
}
