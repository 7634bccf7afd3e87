/**
 * Reading side of generated codecs: protobufjs's binary `Reader` (used as it is: nothing here
 * changes protobufjs's global configuration, which belongs to the application), a string read with
 * the bounds check protobufjs's `Buffer` reader lacks, and the decode entry points that reuse one
 * reader for the runtime's inbound path.
 */
// The module binding, not the global: optimised code reads a global `Buffer` through an IC per call.
import { Buffer } from "node:buffer";
import type { Reader as ProtobufReader } from "protobufjs/minimal.js";
import protobuf from "protobufjs/minimal.js";
import { DecodeError } from "../errors.js";

// protobufjs/minimal is CommonJS: its default import is the whole module object (Node ESM and
// tsc NodeNext agree on that), while named imports are not detectable by Node's CJS lexer.
/** protobufjs's binary reader. */
export const Reader: typeof ProtobufReader = protobuf.Reader;
export type Reader = ProtobufReader;

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
  const buf = reader.buf;
  if (!(buf instanceof Buffer)) {
    // A plain Uint8Array: protobufjs's own string read checks its bounds.
    reader.pos = before;
    return reader.string();
  }
  reader.pos = end;
  return utf8Slice.call(buf, start, end);
}

/**
 * `Buffer.prototype.utf8Slice`, taken once: called as `buf.utf8Slice()` it is a load from the
 * Buffer prototype per string that optimised code does not inline.
 */
const utf8Slice = (Buffer.prototype as Buffer & { utf8Slice(start: number, end: number): string }).utf8Slice;

/**
 * A fresh map object for decoded `map<…>` fields. It has no prototype, so a key such as
 * `__proto__` from the wire is an ordinary entry instead of replacing the object's prototype.
 */
export function newMap<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

/** The `bytes` default of decoded messages (shared: a zero-length array cannot be mutated). */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/**
 * One reader reused by {@link readMessage} for Node `Buffer`s, made on first use (importing the
 * runtime calls nothing of protobufjs).
 */
let pooledReader: Reader | undefined;
/** A decoder may decode a nested payload itself: the pooled reader is then taken. */
let pooledReaderInUse = false;

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
  if (pooledReaderInUse) return read(Reader.create(buffer.subarray(start, end)), end - start);
  pooledReaderInUse = true;
  pooledReader ??= Reader.create(buffer);
  const reader = pooledReader;
  reader.buf = buffer;
  reader.pos = start;
  reader.len = end;
  try {
    return read(reader, end - start);
  } finally {
    // Do not keep the socket chunk alive through the reader.
    reader.buf = EMPTY_BYTES;
    reader.len = 0;
    pooledReaderInUse = false;
  }
}

/** Same error as protobufjs's own reads past the end. */
export function outOfRange(reader: Reader, length = 1): RangeError {
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
