/**
 * The protobuf binary writer generated encoders use. It speaks the subset of protobufjs's `Writer`
 * API that generated code calls (same method names, same bytes), but writes straight into one
 * growable buffer instead of recording an operation list that `finish()` replays: an encode is then
 * a few array stores, and `finish()` one copy. A nested message reserves one length byte at
 * `fork()`; `ldelim()` fills it in, moving the body only when it is 128 bytes or longer.
 */

import { BoundExceededError } from "../errors.js";

/** The two 32-bit halves of a 64-bit integer, as protobufjs's `Long` carries them. */
export interface LongBits {
  low: number;
  high: number;
  unsigned?: boolean;
}

/** What the 64-bit write methods accept: a safe integer, the two halves, a bigint or a decimal string. */
export type Int64Input = number | LongBits | bigint | string;

const TWO_32 = 4294967296;
/** Fresh writers start this small: most paybox messages are well under 100 bytes. */
const INITIAL_CAPACITY = 64;
/** The pooled writer keeps a grown buffer up to this size; a larger one is left to the GC. */
const MAX_POOLED_CAPACITY = 64 * 1024;
/** Strings shorter than this are written by a JS loop when ASCII (a native call costs more). */
const SHORT_STRING = 32;

type Utf8Buffer = Buffer & { utf8Write(value: string, offset: number, length?: number): number };
/**
 * `Buffer.prototype.utf8Write`, taken once: called as `buf.utf8Write()` it is a load from the
 * Buffer prototype per string that optimised code does not inline.
 */
const utf8Write = (Buffer.prototype as Utf8Buffer).utf8Write;

/** A protobuf binary writer: the methods generated encoders call, then {@link finish}. */
export class Writer {
  /** The bytes written so far are `buf[0, len)`. */
  buf: Utf8Buffer;
  /** Bytes written so far. */
  len = 0;
  /**
   * @internal Offsets of the reserved length bytes of the open `fork()`s. Not `#private` (nor
   * `private`): the class must stay structurally the same type when imported from source and from
   * `dist`, whose declarations leave it out (`stripInternal`); hence optional.
   */
  openForks?: number[] | undefined;

  constructor(capacity = INITIAL_CAPACITY) {
    this.buf = Buffer.allocUnsafe(capacity) as Utf8Buffer;
  }

  /** A new writer (protobufjs's factory name, kept so generated code reads the same). */
  static create(): Writer {
    return new Writer();
  }

  /** Writes an unsigned 32-bit varint (`uint32`, tags, lengths, enums ≥ 0). */
  uint32(value: number): Writer {
    if (this.len + 5 > this.buf.length) grow(this, 5);
    this.len = putVarint32(this.buf, this.len, value >>> 0);
    return this;
  }

  /** Writes an `int32` (and enum) varint; negative values take ten bytes, as the spec says. */
  int32(value: number): Writer {
    if (value >= 0) return this.uint32(value);
    splitNumber(value);
    return writeVarint64(this, splitLow, splitHigh);
  }

  /** Writes a zigzag-encoded `sint32`. */
  sint32(value: number): Writer {
    return this.uint32(((value << 1) ^ (value >> 31)) >>> 0);
  }

  /** Writes a `bool` as one byte. */
  bool(value: boolean): Writer {
    if (this.len + 1 > this.buf.length) grow(this, 1);
    this.buf[this.len++] = value ? 1 : 0;
    return this;
  }

  /** Writes a little-endian `fixed32`. */
  fixed32(value: number): Writer {
    if (this.len + 4 > this.buf.length) grow(this, 4);
    writeFixed32At(this.buf, value >>> 0, this.len);
    this.len += 4;
    return this;
  }

  /** Writes a little-endian `sfixed32` (two's complement, same bytes as `fixed32`). */
  sfixed32(value: number): Writer {
    return this.fixed32(value);
  }

  /** Writes a little-endian IEEE 754 `float`. */
  float(value: number): Writer {
    if (this.len + 4 > this.buf.length) grow(this, 4);
    this.buf.writeFloatLE(value, this.len);
    this.len += 4;
    return this;
  }

  /** Writes a little-endian IEEE 754 `double`. */
  double(value: number): Writer {
    if (this.len + 8 > this.buf.length) grow(this, 8);
    this.buf.writeDoubleLE(value, this.len);
    this.len += 8;
    return this;
  }

  /** Writes an `int64` varint (two's complement: negative values take ten bytes). */
  int64(value: Int64Input): Writer {
    splitInt64(value);
    return writeVarint64(this, splitLow, splitHigh);
  }

  /** Writes a `uint64` varint. */
  uint64(value: Int64Input): Writer {
    return this.int64(value);
  }

  /** Writes a zigzag-encoded `sint64`. */
  sint64(value: Int64Input): Writer {
    splitInt64(value);
    const sign = splitHigh >> 31;
    const high = ((splitHigh << 1) | (splitLow >>> 31)) ^ sign;
    const low = (splitLow << 1) ^ sign;
    return writeVarint64(this, low >>> 0, high >>> 0);
  }

  /** Writes a little-endian `fixed64`. */
  fixed64(value: Int64Input): Writer {
    splitInt64(value);
    if (this.len + 8 > this.buf.length) grow(this, 8);
    writeFixed32At(this.buf, splitLow, this.len);
    writeFixed32At(this.buf, splitHigh, this.len + 4);
    this.len += 8;
    return this;
  }

  /** Writes a little-endian `sfixed64` (same bytes as `fixed64`). */
  sfixed64(value: Int64Input): Writer {
    return this.fixed64(value);
  }

  /** Writes a length-prefixed `bytes` field value (a base64 string is decoded first, as protobufjs does). */
  bytes(value: Uint8Array | string): Writer {
    const data = typeof value === "string" ? Buffer.from(value, "base64") : value;
    const length = data.length;
    this.uint32(length);
    if (length === 0) return this;
    if (this.len + length > this.buf.length) grow(this, length);
    this.buf.set(data, this.len);
    this.len += length;
    return this;
  }

  /** Writes a length-prefixed UTF-8 `string`. */
  string(value: string): Writer {
    writeString(this, value);
    return this;
  }

  /**
   * Writes a length-prefixed UTF-8 `string` of at most `maxSize` bytes (a `(paynet.max_size)`
   * field): the size written is the check, so the string is gone over once. Throws
   * {@link BoundExceededError} naming `messageName` and `field` when it is larger; what this call
   * wrote is taken back then.
   */
  boundedString(value: string, maxSize: number, messageName: string, field: string): Writer {
    const start = this.len;
    const size = writeString(this, value);
    if (size > maxSize) {
      this.len = start;
      throw new BoundExceededError(messageName, field, "max_size", maxSize, size);
    }
    return this;
  }

  /** Appends `length` bytes to be filled in later (a frame header); returns their offset in `buf`. */
  reserve(length: number): number {
    if (this.len + length > this.buf.length) grow(this, length);
    const offset = this.len;
    this.len += length;
    return offset;
  }

  /** Appends `bytes` as they are (no length prefix): a frame payload encoded elsewhere. */
  raw(bytes: Uint8Array): Writer {
    const length = bytes.length;
    if (this.len + length > this.buf.length) grow(this, length);
    this.buf.set(bytes, this.len);
    this.len += length;
    return this;
  }

  /** Starts a length-delimited part (a nested message, a packed field, a map entry). */
  fork(): Writer {
    if (this.len + 1 > this.buf.length) grow(this, 1);
    if (this.openForks === undefined) this.openForks = [];
    this.openForks.push(this.len);
    this.len += 1;
    return this;
  }

  /** Ends the part the last {@link fork} started, writing its length in front of it. */
  ldelim(): Writer {
    const mark = this.openForks?.pop();
    if (mark === undefined) throw new Error("ldelim() without a matching fork()");
    const start = mark + 1;
    const length = this.len - start;
    if (length < 128) {
      this.buf[mark] = length;
      return this;
    }
    const extra = varintSize(length) - 1;
    if (this.len + extra > this.buf.length) grow(this, extra);
    this.buf.copyWithin(start + extra, start, this.len);
    putVarint32(this.buf, mark, length);
    this.len += extra;
    return this;
  }

  /** The bytes written, in a buffer of their own; the writer is empty again afterwards. */
  finish(): Uint8Array {
    const out = Buffer.allocUnsafe(this.len);
    this.buf.copy(out, 0, 0, this.len);
    this.reset();
    return out;
  }

  /** Forgets everything written (and any open fork). */
  reset(): Writer {
    return this.truncate(0);
  }

  /** Forgets what was written after the first `length` bytes, and any open fork. */
  truncate(length: number): Writer {
    this.len = length;
    if (this.openForks !== undefined) this.openForks.length = 0;
    return this;
  }
}

/** One writer reused by {@link encodeMessage}; taken while in use, so a nested call gets its own. */
let pooled: Writer | undefined = new Writer(1024);

/**
 * Encodes `message` with a generated encoder into a buffer of its own. Reuses one writer across
 * calls (no allocation but the result), and is safe when an encoder throws or calls back in.
 */
export function encodeMessage<T>(encode: (message: T, writer: Writer) => Writer, message: T): Uint8Array {
  const writer = pooled ?? new Writer();
  pooled = undefined;
  try {
    return encode(message, writer).finish();
  } finally {
    writer.reset();
    if (writer.buf.length <= MAX_POOLED_CAPACITY) pooled = writer;
  }
}

/** Writes a length-prefixed UTF-8 string; returns its size in bytes (without the prefix). */
function writeString(writer: Writer, value: string): number {
  const chars = value.length;
  if (chars >= 128) return writeLongString(writer, value);
  // At most 3 bytes per UTF-16 unit, so the length fits two varint bytes: reserve one, fix up after.
  if (writer.len + 2 + chars * 3 > writer.buf.length) grow(writer, 2 + chars * 3);
  const buf = writer.buf;
  const start = writer.len + 1;
  let written = chars < SHORT_STRING ? writeAscii(buf, value, start) : -1;
  if (written < 0) written = utf8Write.call(buf, value, start);
  if (written < 128) {
    buf[start - 1] = written;
    writer.len = start + written;
  } else {
    buf.copyWithin(start + 1, start, start + written);
    buf[start - 1] = (written & 127) | 128;
    buf[start] = written >>> 7;
    writer.len = start + 1 + written;
  }
  return written;
}

function writeLongString(writer: Writer, value: string): number {
  const length = Buffer.byteLength(value, "utf8");
  writer.uint32(length);
  if (writer.len + length > writer.buf.length) grow(writer, length);
  writer.len += utf8Write.call(writer.buf, value, writer.len, length);
  return length;
}

function writeVarint64(writer: Writer, low: number, high: number): Writer {
  if (writer.len + 10 > writer.buf.length) grow(writer, 10);
  const buf = writer.buf;
  let pos = writer.len;
  let lo = low;
  let hi = high;
  while (hi !== 0) {
    buf[pos++] = (lo & 127) | 128;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  writer.len = putVarint32(buf, pos, lo);
  return writer;
}

/** Writes an unsigned 32-bit `value` as a varint at `pos` (room checked by the caller); returns the end. */
function putVarint32(buf: Buffer, pos: number, value: number): number {
  let v = value;
  let at = pos;
  while (v > 127) {
    buf[at++] = (v & 127) | 128;
    v >>>= 7;
  }
  buf[at++] = v;
  return at;
}

function writeFixed32At(buf: Buffer, value: number, pos: number): void {
  buf[pos] = value & 255;
  buf[pos + 1] = (value >>> 8) & 255;
  buf[pos + 2] = (value >>> 16) & 255;
  buf[pos + 3] = value >>> 24;
}

/** Moves the writer to a buffer with room for `needed` more bytes (at least twice the size). */
function grow(writer: Writer, needed: number): void {
  const size = Math.max(writer.buf.length * 2, writer.len + needed);
  const next = Buffer.allocUnsafe(size) as Utf8Buffer;
  writer.buf.copy(next, 0, 0, writer.len);
  writer.buf = next;
}

/** Writes an ASCII string at `pos`; returns the bytes written, or -1 at the first non-ASCII unit. */
function writeAscii(buf: Buffer, value: string, pos: number): number {
  const length = value.length;
  for (let i = 0; i < length; i++) {
    const unit = value.charCodeAt(i);
    if (unit > 127) return -1;
    buf[pos + i] = unit;
  }
  return length;
}

function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

// The halves of the last 64-bit value split, as unsigned 32-bit numbers (module state: no allocation).
let splitLow = 0;
let splitHigh = 0;

function splitInt64(value: Int64Input): void {
  if (typeof value === "number") {
    splitNumber(value);
  } else if (typeof value === "object") {
    splitLow = value.low >>> 0;
    splitHigh = value.high >>> 0;
  } else {
    const bits = BigInt.asUintN(64, BigInt(value));
    splitLow = Number(bits & 0xffffffffn);
    splitHigh = Number(bits >> 32n);
  }
}

/** Two's complement halves of an integer-valued number, as protobufjs's `LongBits.fromNumber`. */
function splitNumber(value: number): void {
  if (value === 0) {
    splitLow = 0;
    splitHigh = 0;
    return;
  }
  const negative = value < 0;
  const magnitude = negative ? -value : value;
  let low = magnitude >>> 0;
  let high = ((magnitude - low) / TWO_32) >>> 0;
  if (negative) {
    high = ~high >>> 0;
    low = ~low >>> 0;
    if (++low > 0xffffffff) {
      low = 0;
      if (++high > 0xffffffff) high = 0;
    }
  }
  splitLow = low;
  splitHigh = high;
}
