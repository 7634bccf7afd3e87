/**
 * 64-bit integers of generated codecs: `int64Value` turns a `bigint` (or decimal string, or number)
 * into what the writer's 64-bit methods take, and the `read*64` functions decode a varint or fixed
 * 64-bit value straight from the reader's buffer into a `bigint`, with no `Long` object on the way.
 */
import { outOfRange, type Reader } from "./reader.js";
import type { LongBits } from "./writer.js";

const TWO_32 = 4294967296;
const MIN_INT64 = -0x8000000000000000n;
const MAX_UINT64 = 0xffffffffffffffffn;
const LOW_32 = 0xffffffffn;

/**
 * What generated encoders hand to `Writer#int64/uint64/sint64/fixed64/sfixed64`: a plain number
 * when the value is exactly representable (protobufjs splits it without allocating bigints), else
 * the two 32-bit halves.
 * @throws RangeError when the value does not fit in 64 bits (it would be silently truncated).
 */
export function int64Value(value: bigint | string | number): number | LongBits {
  if (typeof value === "bigint") {
    // Values of 2^53 and beyond round to a number that is no longer a safe integer.
    const number = Number(value);
    if (Number.isSafeInteger(number)) return number;
    return int64Halves(value);
  }
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  return int64Halves(value);
}

/**
 * The two 32-bit halves of a 64-bit integer (two's complement for negative values).
 * @throws RangeError when the value does not fit in 64 bits.
 */
function int64Halves(value: bigint | string | number): LongBits {
  const big = typeof value === "bigint" ? value : BigInt(value);
  if (big < MIN_INT64 || big > MAX_UINT64) {
    throw new RangeError(`64-bit integer out of range: ${big}`);
  }
  const bits = BigInt.asUintN(64, big);
  return { low: Number(bits & LOW_32) | 0, high: Number(bits >> 32n) | 0, unsigned: big >= 0n };
}

/** Reads an `int64` field value. */
export function readInt64(reader: Reader): bigint {
  readVarintBits(reader);
  return bitsToBigInt(bitsLow, bitsHigh, true);
}

/** Reads a `uint64` field value. */
export function readUint64(reader: Reader): bigint {
  readVarintBits(reader);
  return bitsToBigInt(bitsLow, bitsHigh, false);
}

/** Reads a `sint64` field value (zigzag-encoded). */
export function readSint64(reader: Reader): bigint {
  readVarintBits(reader);
  const mask = -(bitsLow & 1);
  const low = (((bitsLow >>> 1) | (bitsHigh << 31)) ^ mask) >>> 0;
  const high = ((bitsHigh >>> 1) ^ mask) >>> 0;
  return bitsToBigInt(low, high, true);
}

/** Reads a `fixed64` field value. */
export function readFixed64(reader: Reader): bigint {
  readFixedBits(reader);
  return bitsToBigInt(bitsLow, bitsHigh, false);
}

/** Reads an `sfixed64` field value. */
export function readSfixed64(reader: Reader): bigint {
  readFixedBits(reader);
  return bitsToBigInt(bitsLow, bitsHigh, true);
}

// The last 64-bit value read, as unsigned 32-bit halves; module state keeps reads allocation-free.
let bitsLow = 0;
let bitsHigh = 0;

function bitsToBigInt(low: number, high: number, signed: boolean): bigint {
  if (high < 0x200000) return BigInt(high * TWO_32 + low);
  if (signed && high >= 0xffe00000) return BigInt((high - TWO_32) * TWO_32 + low);
  const big = (BigInt(high) << 32n) | BigInt(low);
  return signed ? BigInt.asIntN(64, big) : big;
}

function readVarintBits(reader: Reader): void {
  const buf = reader.buf;
  const len = reader.len;
  let pos = reader.pos;
  let low = 0;
  let high = 0;
  let byte = 0;
  // Bytes 1-4 carry bits 0-27.
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= len) throw outOfRange(reader);
    byte = buf[pos++];
    low |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      finishBits(reader, pos, low, 0);
      return;
    }
  }
  // Byte 5 carries bits 28-34: four into the low half, three into the high half.
  if (pos >= len) throw outOfRange(reader);
  byte = buf[pos++];
  low |= (byte & 0x7f) << 28;
  high = (byte & 0x7f) >> 4;
  if (byte < 0x80) {
    finishBits(reader, pos, low, high);
    return;
  }
  // Bytes 6-10 carry bits 35-63.
  for (let shift = 3; shift < 32; shift += 7) {
    if (pos >= len) throw outOfRange(reader);
    byte = buf[pos++];
    high |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      finishBits(reader, pos, low, high);
      return;
    }
  }
  throw new Error("invalid varint encoding");
}

function finishBits(reader: Reader, pos: number, low: number, high: number): void {
  reader.pos = pos;
  bitsLow = low >>> 0;
  bitsHigh = high >>> 0;
}

function readFixedBits(reader: Reader): void {
  const buf = reader.buf;
  const pos = reader.pos;
  if (pos + 8 > reader.len) throw outOfRange(reader, 8);
  bitsLow = (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0;
  bitsHigh = (buf[pos + 4] | (buf[pos + 5] << 8) | (buf[pos + 6] << 16) | (buf[pos + 7] << 24)) >>> 0;
  reader.pos = pos + 8;
}
