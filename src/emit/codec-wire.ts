/**
 * Protobuf wire facts generated codecs are written from: wire types and tags, which values pack,
 * the writer method of each scalar and the reads of 64-bit values and map keys.
 */
import type { ScalarType, ValueType } from "../model/types.js";
import { isInt64 } from "./ts-types.js";

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

export const SCALAR_WIRE: Readonly<Record<ScalarType, number>> = {
  double: WIRE_FIXED64,
  float: WIRE_FIXED32,
  int32: WIRE_VARINT,
  uint32: WIRE_VARINT,
  sint32: WIRE_VARINT,
  fixed32: WIRE_FIXED32,
  sfixed32: WIRE_FIXED32,
  int64: WIRE_VARINT,
  uint64: WIRE_VARINT,
  sint64: WIRE_VARINT,
  fixed64: WIRE_FIXED64,
  sfixed64: WIRE_FIXED64,
  bool: WIRE_VARINT,
  string: WIRE_LENGTH_DELIMITED,
  bytes: WIRE_LENGTH_DELIMITED,
};

/** `$pb.read*64` helper per 64-bit scalar (they decode straight to bigint). */
export const INT64_READERS: Readonly<Partial<Record<ScalarType, string>>> = {
  int64: "readInt64",
  uint64: "readUint64",
  sint64: "readSint64",
  fixed64: "readFixed64",
  sfixed64: "readSfixed64",
};

/** The key of a tag: `(field number << 3) | wire type`, as an unsigned 32-bit number. */
export function tagOf(fieldNumber: number, wireType: number): number {
  return fieldNumber * 8 + wireType;
}

export function wireTypeOf(value: ValueType): number {
  if (value.kind === "scalar") return SCALAR_WIRE[value.scalar];
  return value.kind === "enum" ? WIRE_VARINT : WIRE_LENGTH_DELIMITED;
}

/** Whether repeated values of this type may be packed (all but strings, bytes and messages). */
export function isPackable(value: ValueType): boolean {
  return wireTypeOf(value) !== WIRE_LENGTH_DELIMITED;
}

/** protobufjs `Writer` method of a scalar or enum. */
export function writerMethod(value: ValueType): string {
  if (value.kind === "scalar") return value.scalar;
  if (value.kind === "enum") return "int32";
  throw new Error("internal: messages are written by their encoder");
}

/** Map keys are strings in TypeScript; this turns one back into the wire key type. */
export function mapKeyArgument(keyType: ScalarType): string {
  if (keyType === "string") return "k";
  if (keyType === "bool") return 'k === "true"';
  if (isInt64(keyType)) return "$pb.int64Value(k)";
  return "Number(k)";
}

export function mapKeyRead(keyType: ScalarType): string {
  if (keyType === "string") return "$pb.readString(r)";
  const int64Reader = INT64_READERS[keyType];
  if (int64Reader !== undefined) return `String($pb.${int64Reader}(r))`;
  return `String(r.${keyType}())`;
}

export function mapKeyDefault(keyType: ScalarType): string {
  if (keyType === "string") return '""';
  return keyType === "bool" ? '"false"' : '"0"';
}
