/**
 * Frame encoding: `Len(uint32 BE) | Type(1 byte) | payload`, header and payload written into one
 * allocation so a frame always reaches the socket as a single write.
 */
import { InvalidOptionsError } from "../errors.js";
import type { LengthMode } from "./options.js";

/** Bytes before the payload: 4 for Len, 1 for Type. */
export const FRAME_HEADER_SIZE = 5;

/** Largest value the uint32 Len field can carry. */
const MAX_LEN_FIELD = 0xffff_ffff;

/** Bytes a frame with a payload of `payloadLength` bytes occupies on the wire. */
export function frameSize(payloadLength: number): number {
  return FRAME_HEADER_SIZE + payloadLength;
}

/**
 * The value of the Len field for a payload of `payloadLength` bytes: `1 + payloadLength` in the
 * default `type+payload` mode, `payloadLength` in `payload` mode.
 */
export function lengthFieldFor(payloadLength: number, lengthMode: LengthMode = "type+payload"): number {
  return lengthMode === "payload" ? payloadLength : payloadLength + 1;
}

/**
 * Writes one frame into `target` at `offset` and returns the offset just past it. Used to coalesce
 * several frames into one buffer; `target` must have `frameSize(payload.length)` bytes free.
 * Throws `InvalidOptionsError` for a Type outside 0..255 or a payload the Len field cannot express.
 */
export function writeFrameInto(
  target: Buffer,
  offset: number,
  type: number,
  payload: Uint8Array,
  lengthMode: LengthMode = "type+payload",
): number {
  checkFrameType(type);
  const len = lengthFieldFor(payload.length, lengthMode);
  if (len > MAX_LEN_FIELD) {
    throw new InvalidOptionsError("payload", `${payload.length} bytes do not fit a uint32 Len field`);
  }
  writeFrameHeader(target, offset, len, type);
  target.set(payload, offset + FRAME_HEADER_SIZE);
  return offset + FRAME_HEADER_SIZE + payload.length;
}

/** Writes a frame header (`Len` big-endian, then `Type`) at `offset`; `target` must have 5 bytes free there. */
export function writeFrameHeader(target: Uint8Array, offset: number, len: number, type: number): void {
  target[offset] = len >>> 24;
  target[offset + 1] = (len >>> 16) & 255;
  target[offset + 2] = (len >>> 8) & 255;
  target[offset + 3] = len & 255;
  target[offset + 4] = type;
}

/** Encodes one frame (header and payload) into a single freshly allocated buffer. */
export function encodeFrame(
  type: number,
  payload: Uint8Array,
  lengthMode: LengthMode = "type+payload",
): Buffer {
  const frame = Buffer.allocUnsafe(frameSize(payload.length));
  writeFrameInto(frame, 0, type, payload, lengthMode);
  return frame;
}

/** Throws `InvalidOptionsError` unless `type` is a Type byte (an integer 0..255). */
export function checkFrameType(type: number): void {
  if (!Number.isInteger(type) || type < 0 || type > 255) {
    throw new InvalidOptionsError("type", `expected an integer 0..255, got ${type}`);
  }
}
