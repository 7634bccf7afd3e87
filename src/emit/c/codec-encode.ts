/**
 * `_size` and `_encode` of each message: fields in number order, values over their bound refused
 * with PN_ERR_BOUND, and the bytes protobufjs writes (packed repeated scalars, map entries with
 * both key and value, proto3 defaults left out).
 */
import type { FieldModel, MessageModel, ValueType } from "../../model/types.js";
import { access, byNumber, isPackable } from "./codec-fields.js";
import { hasFlag } from "./messages.js";
import { boundMacro, messageCName } from "./names.js";
import { varintSize } from "./sizes.js";
import { indent } from "./text.js";
import { isSetCondition, isSizedScalar, rawSize, WIRE_LEN, wireTypeOf, writeRaw } from "./values.js";

function tagBytes(fieldNumber: number): number {
  return varintSize(fieldNumber * 8);
}

function sizeBound(message: MessageModel, field: FieldModel, value: ValueType, expr: string): string[] {
  return isSizedScalar(value)
    ? [`if (${expr}.len > ${boundMacro(message, field, "MAX_SIZE")}) return PN_ERR_BOUND;`]
    : [];
}

/** Statements adding a field's encoded size to `n` (size) or writing it (encode). */
function fieldCode(message: MessageModel, field: FieldModel, mode: "size" | "encode"): string[] {
  const target = access(field);
  const tag = tagBytes(field.number);
  const wire = wireTypeOf(field.value);
  const writeTag = (number: number, wireType: number) => `PN_TRY(pn_write_tag(w, ${number}u, ${wireType}u));`;
  if (field.mapKey !== undefined) return mapCode(message, field, mode);
  if (field.repeated) {
    const count = `${target}.count`;
    const item = `${target}.items[i]`;
    const checks =
      mode === "encode"
        ? [
            `if (${count} > ${boundMacro(message, field, "MAX_COUNT")}) return PN_ERR_BOUND;`,
            ...(isSizedScalar(field.value)
              ? [
                  `for (uint32_t i = 0; i < ${count}; i++) {`,
                  ...indent(sizeBound(message, field, field.value, item)),
                  "}",
                ]
              : []),
          ]
        : [];
    if (field.packed && isPackable(field.value)) {
      const payload = [
        `size_t payload = 0;`,
        `for (uint32_t i = 0; i < ${count}; i++) payload += ${rawSize(field.value, item)};`,
      ];
      const body =
        mode === "size"
          ? [...payload, `n += ${tag}u + pn_len_size(payload);`]
          : [
              ...payload,
              writeTag(field.number, WIRE_LEN),
              "PN_TRY(pn_write_varint(w, (uint64_t)payload));",
              `for (uint32_t i = 0; i < ${count}; i++) {`,
              `  ${writeRaw(field.value, item)}`,
              "}",
            ];
      return [...checks, `if (${count} > 0) {`, ...indent(body), "}"];
    }
    const each =
      mode === "size"
        ? [`n += ${tag}u + ${rawSize(field.value, item)};`]
        : [writeTag(field.number, wire), writeRaw(field.value, item)];
    return [...checks, `for (uint32_t i = 0; i < ${count}; i++) {`, ...indent(each), "}"];
  }
  const condition =
    field.oneof !== undefined
      ? `m->${field.oneof}_case == ${field.number}u`
      : hasFlag(field)
        ? `m->has_${field.protoName}`
        : field.required
          ? undefined
          : isSetCondition(field.value, target);
  const body =
    mode === "size"
      ? [`n += ${tag}u + ${rawSize(field.value, target)};`]
      : [
          ...(field.oneof === undefined ? [] : sizeBound(message, field, field.value, target)),
          writeTag(field.number, wire),
          writeRaw(field.value, target),
        ];
  // A bound is checked whether or not the field is written: a too long value is a caller's bug.
  const check =
    mode === "encode" && field.oneof === undefined ? sizeBound(message, field, field.value, target) : [];
  if (condition === undefined) return [...check, ...body];
  return [...check, `if (${condition}) {`, ...indent(body), "}"];
}

function mapCode(message: MessageModel, field: FieldModel, mode: "size" | "encode"): string[] {
  const target = access(field);
  const keyType: ValueType = { kind: "scalar", scalar: field.mapKey! };
  const key = `${target}.items[i].key`;
  const value = `${target}.items[i].value`;
  const entrySize = `size_t entry = 1u + ${rawSize(keyType, key)} + 1u + ${rawSize(field.value, value)};`;
  const body =
    mode === "size"
      ? [entrySize, `n += ${tagBytes(field.number)}u + pn_len_size(entry);`]
      : [
          ...sizeBound(message, field, keyType, key),
          ...sizeBound(message, field, field.value, value),
          entrySize,
          `PN_TRY(pn_write_tag(w, ${field.number}u, ${WIRE_LEN}u));`,
          "PN_TRY(pn_write_varint(w, (uint64_t)entry));",
          `PN_TRY(pn_write_tag(w, 1u, ${wireTypeOf(keyType)}u));`,
          writeRaw(keyType, key),
          `PN_TRY(pn_write_tag(w, 2u, ${wireTypeOf(field.value)}u));`,
          writeRaw(field.value, value),
        ];
  const check =
    mode === "encode"
      ? [`if (${target}.count > ${boundMacro(message, field, "MAX_COUNT")}) return PN_ERR_BOUND;`]
      : [];
  return [...check, `for (uint32_t i = 0; i < ${target}.count; i++) {`, ...indent(body), "}"];
}

export function sizeFunction(message: MessageModel): string[] {
  const name = messageCName(message);
  const body = byNumber(message).flatMap((field) => fieldCode(message, field, "size"));
  if (body.length === 0)
    return [`size_t ${name}_size(const ${name} *m) {`, "  (void)m;", "  return 0;", "}", ""];
  return [
    `size_t ${name}_size(const ${name} *m) {`,
    "  size_t n = 0;",
    ...indent(body),
    "  return n;",
    "}",
    "",
  ];
}

export function encodeFunction(message: MessageModel): string[] {
  const name = messageCName(message);
  const body = byNumber(message).flatMap((field) => fieldCode(message, field, "encode"));
  const unused = body.length === 0 ? ["  (void)m;", "  (void)w;"] : [];
  return [
    `pn_status ${name}_encode(const ${name} *m, pn_writer *w) {`,
    ...unused,
    ...indent(body),
    "  return PN_OK;",
    "}",
    "",
  ];
}
