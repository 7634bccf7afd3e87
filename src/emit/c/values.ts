/**
 * C source fragments per protobuf value: its C type, how it is written, sized and read. Shared by
 * the struct layout and the codec functions so that the two always agree.
 */
import type { FieldModel, MessageModel, ScalarType, ValueType } from "../../model/types.js";
import { boundMacro, messageCName } from "./names.js";

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const C_SCALAR: Readonly<Record<ScalarType, string>> = {
  double: "double",
  float: "float",
  int32: "int32_t",
  uint32: "uint32_t",
  sint32: "int32_t",
  fixed32: "uint32_t",
  sfixed32: "int32_t",
  int64: "int64_t",
  uint64: "uint64_t",
  sint64: "int64_t",
  fixed64: "uint64_t",
  sfixed64: "int64_t",
  bool: "bool",
  string: "",
  bytes: "",
};

export function wireTypeOf(value: ValueType): number {
  if (value.kind === "enum") return WIRE_VARINT;
  if (value.kind === "message") return WIRE_LEN;
  switch (value.scalar) {
    case "double":
    case "fixed64":
    case "sfixed64":
      return WIRE_FIXED64;
    case "float":
    case "fixed32":
    case "sfixed32":
      return WIRE_FIXED32;
    case "string":
    case "bytes":
      return WIRE_LEN;
    default:
      return WIRE_VARINT;
  }
}

export function isLengthDelimited(value: ValueType): boolean {
  return wireTypeOf(value) === WIRE_LEN;
}

export function isSizedScalar(value: ValueType): value is { kind: "scalar"; scalar: "string" | "bytes" } {
  return value.kind === "scalar" && (value.scalar === "string" || value.scalar === "bytes");
}

/** The C type of a value: `uint32_t`, `paybox_Item`, or a bounded string/bytes struct. */
export function cType(value: ValueType, message: MessageModel, field: FieldModel): string {
  if (value.kind === "enum") return "int32_t";
  if (value.kind === "message") return messageCName({ fullName: value.fullName });
  if (value.scalar === "string")
    return `struct { uint32_t len; char data[${boundMacro(message, field, "MAX_SIZE")} + 1]; }`;
  if (value.scalar === "bytes")
    return `struct { uint32_t len; uint8_t data[${boundMacro(message, field, "MAX_SIZE")}]; }`;
  return C_SCALAR[value.scalar];
}

/** The varint a value is written as (value types on the varint wire only). */
function varintOf(value: ValueType, expr: string): string {
  if (value.kind === "enum") return `pn_int32_varint(${expr})`;
  switch ((value as { scalar: ScalarType }).scalar) {
    case "int32":
      return `pn_int32_varint(${expr})`;
    case "sint32":
      return `(uint64_t)pn_zigzag32(${expr})`;
    case "sint64":
      return `pn_zigzag64(${expr})`;
    case "bool":
      return `(uint64_t)(${expr} ? 1u : 0u)`;
    case "uint64":
      return expr;
    default:
      return `(uint64_t)${expr}`;
  }
}

/** A statement writing the value without a tag (`PN_TRY(...);`). */
export function writeRaw(value: ValueType, expr: string): string {
  if (value.kind === "message") {
    const name = messageCName({ fullName: value.fullName });
    return `PN_TRY(pn_write_varint(w, (uint64_t)${name}_size(&${expr}))); PN_TRY(${name}_encode(&${expr}, w));`;
  }
  if (value.kind === "scalar") {
    switch (value.scalar) {
      case "double":
        return `PN_TRY(pn_write_double(w, ${expr}));`;
      case "float":
        return `PN_TRY(pn_write_float(w, ${expr}));`;
      case "fixed32":
      case "sfixed32":
        return `PN_TRY(pn_write_fixed32(w, (uint32_t)${expr}));`;
      case "fixed64":
      case "sfixed64":
        return `PN_TRY(pn_write_fixed64(w, (uint64_t)${expr}));`;
      case "string":
        return `PN_TRY(pn_write_len_bytes(w, (const uint8_t *)${expr}.data, ${expr}.len));`;
      case "bytes":
        return `PN_TRY(pn_write_len_bytes(w, ${expr}.data, ${expr}.len));`;
      default:
        break;
    }
  }
  return `PN_TRY(pn_write_varint(w, ${varintOf(value, expr)}));`;
}

/** An expression: bytes of the value without a tag (length prefix included). */
export function rawSize(value: ValueType, expr: string): string {
  if (value.kind === "message")
    return `pn_len_size(${messageCName({ fullName: value.fullName })}_size(&${expr}))`;
  if (isSizedScalar(value)) return `pn_len_size(${expr}.len)`;
  switch (wireTypeOf(value)) {
    case WIRE_FIXED32:
      return "4u";
    case WIRE_FIXED64:
      return "8u";
    default:
      if (value.kind === "scalar" && value.scalar === "bool") return "1u";
      return `pn_varint_size(${varintOf(value, expr)})`;
  }
}

/**
 * Statements reading one value into `target` (`r` is the reader; length-delimited values take a
 * sub-reader). String and bytes values over `maxMacro` are refused with PN_ERR_BOUND.
 */
export function readRaw(value: ValueType, target: string, maxMacro: string, r = "r"): string[] {
  if (value.kind === "message") {
    const name = messageCName({ fullName: value.fullName });
    return [
      "size_t n;",
      `PN_TRY(pn_read_len(${r}, &n));`,
      "pn_reader sub;",
      `pn_reader_init(&sub, ${r}->p + ${r}->pos, n);`,
      `PN_TRY(${name}_read(&sub, &${target}));`,
      `${r}->pos += n;`,
    ];
  }
  if (isSizedScalar(value)) {
    const terminate = value.scalar === "string" ? [`${target}.data[n] = '\\0';`] : [];
    return [
      "size_t n;",
      `PN_TRY(pn_read_len(${r}, &n));`,
      `if (n > ${maxMacro}) return PN_ERR_BOUND;`,
      `if (n > 0) memcpy(${target}.data, ${r}->p + ${r}->pos, n);`,
      ...terminate,
      `${target}.len = (uint32_t)n;`,
      `${r}->pos += n;`,
    ];
  }
  const scalar = value.kind === "enum" ? "enum" : value.scalar;
  switch (scalar) {
    case "double":
      return [`PN_TRY(pn_read_double(${r}, &${target}));`];
    case "float":
      return [`PN_TRY(pn_read_float(${r}, &${target}));`];
    case "fixed32":
      return [`PN_TRY(pn_read_fixed32(${r}, &${target}));`];
    case "fixed64":
      return [`PN_TRY(pn_read_fixed64(${r}, &${target}));`];
    case "sfixed32":
      return ["uint32_t u;", `PN_TRY(pn_read_fixed32(${r}, &u));`, `${target} = (int32_t)u;`];
    case "sfixed64":
      return ["uint64_t u;", `PN_TRY(pn_read_fixed64(${r}, &u));`, `${target} = (int64_t)u;`];
    default:
      return ["uint64_t v;", `PN_TRY(pn_read_varint(${r}, &v));`, `${target} = ${fromVarint(scalar, "v")};`];
  }
}

function fromVarint(scalar: string, v: string): string {
  switch (scalar) {
    case "int32":
    case "enum":
      return `(int32_t)(uint32_t)${v}`;
    case "uint32":
      return `(uint32_t)${v}`;
    case "sint32":
      return `pn_unzigzag32((uint32_t)${v})`;
    case "int64":
      return `(int64_t)${v}`;
    case "sint64":
      return `pn_unzigzag64(${v})`;
    case "bool":
      return `${v} != 0`;
    default:
      return v;
  }
}

/** Condition under which a proto3 implicit-presence value is written (it differs from its default). */
export function isSetCondition(value: ValueType, expr: string): string {
  if (value.kind === "scalar") {
    if (value.scalar === "bool") return expr;
    if (isSizedScalar(value)) return `${expr}.len != 0`;
    // -0.0 is not the default: its bits differ, and decoding must give it back.
    if (value.scalar === "float") return `pn_float_bits(${expr}) != 0u`;
    if (value.scalar === "double") return `pn_double_bits(${expr}) != 0u`;
  }
  return `${expr} != 0`;
}
