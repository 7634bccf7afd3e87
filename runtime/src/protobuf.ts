/**
 * @packageDocumentation
 * `@paynet/runtime/protobuf`: what generated codecs are built on. `Reader` is protobufjs's
 * (`protobufjs/minimal`, configured once with the `long` package so that its own 64-bit reads are
 * exact); `Writer` is paynet's own direct-to-buffer writer with the same method names and bytes
 * (`./protobuf/writer.ts`). `encodeMessage` / `decodeMessage` run a generated encoder / decoder on
 * a reused writer / reader, `readMessage` decodes a range of a buffer in place, and `readString`
 * reads strings with a bounds check protobufjs's `Buffer` reader lacks. Generated code reads 64-bit
 * integers with the `read*64` helpers below, which decode straight from the reader's buffer into
 * `bigint` (no `Long` objects on the way), and writes them through `int64Value`. Fields with a
 * size bound are checked through `checkStringSize` / `boundExceeded` (`./protobuf/bounds.ts`).
 */
import Long from "long";
import type { Long as ProtobufLong, Reader as ProtobufReader } from "protobufjs/minimal.js";
import protobuf from "protobufjs/minimal.js";
import type { MessageCodec } from "./codec.js";
import { DecodeError } from "./errors.js";
import type { Writer } from "./protobuf/writer.js";

export { boundExceeded, checkStringSize, truncateUtf8 } from "./protobuf/bounds.js";
export { encodeMessage, type Int64Input, Writer } from "./protobuf/writer.js";

// protobufjs/minimal is CommonJS: its default import is the whole module object (Node ESM and
// tsc NodeNext agree on that), while named imports are not detectable by Node's CJS lexer.
protobuf.util.Long = Long as unknown as typeof protobuf.util.Long;
protobuf.configure();

/** protobufjs's binary reader. */
export const Reader: typeof ProtobufReader = protobuf.Reader;
export type Reader = ProtobufReader;

/** The two 32-bit halves of a 64-bit integer, as protobufjs's writer accepts them. */
export type LongBits = ProtobufLong;

/**
 * A static codec of a generated SDK. `encode` also accepts partial messages: absent fields are
 * simply not written, which decodes to their defaults.
 */
export interface StaticCodec<T> extends MessageCodec<T> {
  encode(message: Partial<T>): Uint8Array;
  /** The generated encoder itself: writes the message into `writer`. */
  write(message: Partial<T>, writer: Writer): Writer;
  /** The generated decoder itself: reads a message of `length` bytes at `reader.pos`. */
  read(reader: Reader, length: number): T;
  decode(bytes: Uint8Array): T;
}

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
    return int64ToLong(value);
  }
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  return int64ToLong(value);
}

/**
 * The two 32-bit halves of a 64-bit integer (two's complement for negative values).
 * @throws RangeError when the value does not fit in 64 bits.
 */
export function int64ToLong(value: bigint | string | number): LongBits {
  const big = typeof value === "bigint" ? value : BigInt(value);
  if (big < MIN_INT64 || big > MAX_UINT64) {
    throw new RangeError(`64-bit integer out of range: ${big}`);
  }
  const bits = BigInt.asUintN(64, big);
  return { low: Number(bits & LOW_32) | 0, high: Number(bits >> 32n) | 0, unsigned: big >= 0n };
}

/** A protobufjs `Long` (or a plain number) as a `bigint`. */
export function longToBigInt(value: LongBits | number, unsigned: boolean): bigint {
  if (typeof value === "number") return BigInt(value);
  return bitsToBigInt(value.low >>> 0, value.high >>> 0, !unsigned);
}

/** A protobufjs `Long` (or a plain number) as a decimal string. */
export function longToString(value: LongBits | number, unsigned: boolean): string {
  return longToBigInt(value, unsigned).toString();
}

/**
 * Reads a `string` field value. Unlike protobufjs's `Buffer` reader, which cuts a string whose
 * length prefix runs past the end of the message short without a word, this throws.
 */
export function readString(reader: Reader): string {
  const before = reader.pos;
  const length = reader.uint32();
  const start = reader.pos;
  const end = start + length;
  if (end > reader.len) throw outOfRange(reader, length);
  const buf = reader.buf as Buffer & { utf8Slice?: (start: number, end: number) => string };
  if (buf.utf8Slice === undefined) {
    // A plain Uint8Array: protobufjs's own string read checks its bounds.
    reader.pos = before;
    return reader.string();
  }
  reader.pos = end;
  return buf.utf8Slice(start, end);
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

/**
 * A fresh map object for decoded `map<…>` fields. It has no prototype, so a key such as
 * `__proto__` from the wire is an ordinary entry instead of replacing the object's prototype.
 */
export function newMap<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

/** The `bytes` default of decoded messages (shared: a zero-length array cannot be mutated). */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** One reader reused by {@link readMessage} for Node `Buffer`s; taken while in use. */
let pooledReader: Reader | undefined = Reader.create(Buffer.alloc(0));

/**
 * Decodes `bytes` with a generated decoder (`decodeX(reader, length)`). A `Buffer` (what the runtime
 * hands over) is read with one reused reader instead of a new one per message; other byte arrays
 * get a reader of their own.
 */
export function decodeMessage<T>(read: (reader: Reader, length: number) => T, bytes: Uint8Array): T {
  return Buffer.isBuffer(bytes)
    ? readMessage(read, bytes, 0, bytes.length)
    : read(Reader.create(bytes), bytes.length);
}

/**
 * Decodes the message in `buffer[start, end)` with a generated decoder, reading the buffer in place
 * (the runtime's inbound path: a range of the socket's chunk, no view allocated).
 */
export function readMessage<T>(
  read: (reader: Reader, length: number) => T,
  buffer: Buffer,
  start: number,
  end: number,
): T {
  const reader = pooledReader;
  if (reader === undefined) return read(Reader.create(buffer.subarray(start, end)), end - start);
  pooledReader = undefined;
  reader.buf = buffer;
  reader.pos = start;
  reader.len = end;
  try {
    return read(reader, end - start);
  } finally {
    // Do not keep the socket chunk alive through the reader.
    reader.buf = EMPTY_BYTES;
    reader.len = 0;
    pooledReader = reader;
  }
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

/** Same error as protobufjs's own reads past the end. */
function outOfRange(reader: Reader, length = 1): RangeError {
  return new RangeError(`index out of range: ${reader.pos} + ${length} > ${reader.len}`);
}

/** A proto2 `required` field was absent from the decoded bytes. */
export function missingRequired(messageName: string, field: string): DecodeError {
  return new DecodeError(`missing required field '${field}'`, { messageName });
}

/** A length-delimited message ended past the bytes its length prefix announced. */
export function lengthOverrun(messageName: string): DecodeError {
  return new DecodeError("message overruns its length prefix", { messageName });
}
