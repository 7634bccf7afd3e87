/**
 * The codec source of the C SDK (`paybox.c`): per message `_init` (defaults), `_size`, `_encode`
 * (fields in number order, bounds checked, the bytes protobufjs writes) and `_read`/`_decode`
 * (unknown fields skipped, both packed and unpacked repeated scalars accepted, values over their
 * bound refused with PN_ERR_BOUND, closed proto2 enums dropping unknown numbers like the
 * TypeScript SDK).
 */
import type { FieldModel, MessageModel, ProtoModel, ValueType } from "../../model/types.js";
import { hasFlag, mapEntryName } from "./messages.js";
import {
  boundMacro,
  type CServiceNames,
  enumCName,
  enumValueCName,
  memberName,
  messageCName,
} from "./names.js";
import { varintSize } from "./sizes.js";
import { cString, indent } from "./text.js";
import {
  isLengthDelimited,
  isSetCondition,
  isSizedScalar,
  rawSize,
  readRaw,
  WIRE_LEN,
  wireTypeOf,
  writeRaw,
} from "./values.js";

interface Context {
  readonly model: ProtoModel;
  readonly closedEnums: ReadonlySet<string>;
  /** Closed enums whose guard the source uses. */
  readonly usedGuards: Set<string>;
}

function tagBytes(fieldNumber: number): number {
  return varintSize(fieldNumber * 8);
}

function byNumber(message: MessageModel): FieldModel[] {
  return [...message.fields].sort((a, b) => a.number - b.number);
}

/** `m->name`, or `m->oneof.name` for a oneof member. */
function access(field: FieldModel): string {
  return field.oneof === undefined
    ? `m->${memberName(field.protoName)}`
    : `m->${memberName(field.oneof)}.${memberName(field.protoName)}`;
}

function isPackable(value: ValueType): boolean {
  return !isLengthDelimited(value);
}

function sizeBound(message: MessageModel, field: FieldModel, value: ValueType, expr: string): string[] {
  return isSizedScalar(value)
    ? [`if (${expr}.len > ${boundMacro(message, field, "MAX_SIZE")}) return PN_ERR_BOUND;`]
    : [];
}

// ---- init ----------------------------------------------------------------------------------------

function defaultLiteral(ctx: Context, field: FieldModel): string[] {
  const target = access(field);
  const value = field.defaultValue;
  if (field.value.kind === "enum") {
    const enumModel = ctx.model.enums.find(
      (candidate) => candidate.fullName === (field.value as { fullName: string }).fullName,
    )!;
    const name = value === undefined ? enumModel.values[0]?.protoName : String(value);
    return name === undefined ? [] : [`${target} = ${enumValueCName(enumModel, name)};`];
  }
  if (value === undefined || field.value.kind !== "scalar") return [];
  const scalar = field.value.scalar;
  if (scalar === "string" || scalar === "bytes") {
    const text = String(value);
    const length = Buffer.byteLength(text, "utf8");
    if (length === 0) return [];
    return [`memcpy(${target}.data, ${cString(text)}, ${length}u);`, `${target}.len = ${length}u;`];
  }
  if (scalar === "bool") return value === true ? [`${target} = true;`] : [];
  if (typeof value === "string") {
    // 64-bit defaults arrive as exact decimal strings.
    if (value === "-9223372036854775808") return [`${target} = INT64_MIN;`];
    return [
      `${target} = ${scalar.startsWith("u") || scalar === "fixed64" ? `UINT64_C(${value})` : `INT64_C(${value})`};`,
    ];
  }
  const number = Number(value);
  if (scalar === "float" || scalar === "double") {
    const suffix = scalar === "float" ? "F" : "";
    if (Number.isNaN(number)) return [`${target} = NAN;`];
    if (!Number.isFinite(number)) return [`${target} = ${number < 0 ? "-" : ""}HUGE_VAL${suffix};`];
    const text = Number.isInteger(number) ? `${number}.0` : String(number);
    return number === 0 && 1 / number > 0 ? [] : [`${target} = ${text}${suffix.toLowerCase()};`];
  }
  if (number === 0) return [];
  if (scalar === "int32" && number === -2147483648) return [`${target} = INT32_MIN;`];
  return [`${target} = ${number}${scalar.startsWith("u") || scalar === "fixed32" ? "u" : ""};`];
}

function initFunction(ctx: Context, message: MessageModel): string[] {
  const name = messageCName(message);
  const defaults =
    message.syntax === "proto2"
      ? byNumber(message)
          .filter((f) => f.oneof === undefined && !f.repeated && f.mapKey === undefined)
          .flatMap((field) => defaultLiteral(ctx, field))
      : [];
  return [`void ${name}_init(${name} *m) {`, "  memset(m, 0, sizeof *m);", ...indent(defaults), "}", ""];
}

// ---- size / encode -------------------------------------------------------------------------------

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

function sizeFunction(message: MessageModel): string[] {
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

function encodeFunction(message: MessageModel): string[] {
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

// ---- decode ----------------------------------------------------------------------------------------

function guardName(ctx: Context, fullName: string): string {
  ctx.usedGuards.add(fullName);
  return `${enumCName({ fullName })}_known`;
}

/** Statements storing one read value: `store(expr)` gets the C expression to store. */
function readInto(
  ctx: Context,
  message: MessageModel,
  field: FieldModel,
  value: ValueType,
  target: string,
  after: string[],
  r = "r",
): string[] {
  const max = isSizedScalar(value) ? boundMacro(message, field, "MAX_SIZE") : "0u";
  if (value.kind === "enum" && ctx.closedEnums.has(value.fullName)) {
    // proto2 enums are closed: an unknown number is dropped, as if the field were absent.
    return [
      "int32_t number;",
      ...readRaw(value, "number", max, r),
      `if (${guardName(ctx, value.fullName)}(number)) {`,
      ...indent([`${target} = number;`, ...after]),
      "}",
    ];
  }
  return [...readRaw(value, target, max, r), ...after];
}

function decodeCase(ctx: Context, message: MessageModel, field: FieldModel): string[] {
  const target = access(field);
  const wire = wireTypeOf(field.value);
  const branches: { wire: number; body: string[] }[] = [];
  if (field.mapKey !== undefined) {
    branches.push({ wire: WIRE_LEN, body: mapEntryRead(ctx, message, field) });
  } else if (field.repeated) {
    const full = `if (${target}.count >= ${boundMacro(message, field, "MAX_COUNT")}) return PN_ERR_BOUND;`;
    const item = `${target}.items[${target}.count]`;
    branches.push({
      wire,
      body: [full, ...readInto(ctx, message, field, field.value, item, [`${target}.count++;`])],
    });
    if (isPackable(field.value)) {
      branches.push({
        wire: WIRE_LEN,
        body: [
          "size_t n;",
          "PN_TRY(pn_read_len(r, &n));",
          "pn_reader packed;",
          "pn_reader_init(&packed, r->p + r->pos, n);",
          "r->pos += n;",
          "while (packed.pos < packed.len) {",
          ...indent([
            full,
            ...readInto(ctx, message, field, field.value, item, [`${target}.count++;`], "(&packed)"),
          ]),
          "}",
        ],
      });
    }
  } else {
    const after =
      field.oneof !== undefined
        ? [`m->${field.oneof}_case = ${field.number}u;`]
        : hasFlag(field)
          ? [`m->has_${field.protoName} = true;`]
          : field.required
            ? [`seen_${field.number} = true;`]
            : [];
    branches.push({ wire, body: readInto(ctx, message, field, field.value, target, after) });
  }
  const lines = [`case ${field.number}u:`];
  branches.forEach((branch, index) => {
    lines.push(`  ${index === 0 ? "if" : "} else if"} (wt == ${branch.wire}u) {`, ...indent(branch.body, 2));
  });
  lines.push("  } else {", "    PN_TRY(pn_skip(r, wt, field));", "  }", "  break;");
  return lines;
}

function keysEqual(keyType: string, a: string, b: string): string {
  return keyType === "string"
    ? `${a}.len == ${b}.len && memcmp(${a}.data, ${b}.data, ${a}.len) == 0`
    : `${a} == ${b}`;
}

function mapEntryRead(ctx: Context, message: MessageModel, field: FieldModel): string[] {
  const target = access(field);
  const keyType: ValueType = { kind: "scalar", scalar: field.mapKey! };
  const valueInit =
    field.value.kind === "message"
      ? [`${messageCName({ fullName: field.value.fullName })}_init(&entry.value);`]
      : [];
  return [
    "size_t n;",
    "PN_TRY(pn_read_len(r, &n));",
    "pn_reader entry_reader;",
    "pn_reader_init(&entry_reader, r->p + r->pos, n);",
    "r->pos += n;",
    `${mapEntryName(message, field)} entry;`,
    "memset(&entry, 0, sizeof entry);",
    ...valueInit,
    "while (entry_reader.pos < entry_reader.len) {",
    "  uint32_t ef, ewt;",
    "  PN_TRY(pn_read_tag(&entry_reader, &ef, &ewt));",
    `  if (ef == 1u && ewt == ${wireTypeOf(keyType)}u) {`,
    ...indent(readInto(ctx, message, field, keyType, "entry.key", [], "(&entry_reader)"), 2),
    `  } else if (ef == 2u && ewt == ${wireTypeOf(field.value)}u) {`,
    ...indent(readInto(ctx, message, field, field.value, "entry.value", [], "(&entry_reader)"), 2),
    "  } else {",
    "    PN_TRY(pn_skip(&entry_reader, ewt, ef));",
    "  }",
    "}",
    "/* A key seen before takes the new value, as in every protobuf runtime. */",
    "uint32_t at = 0;",
    `while (at < ${target}.count && !(${keysEqual(field.mapKey!, `${target}.items[at].key`, "entry.key")})) at++;`,
    `if (at == ${target}.count) {`,
    `  if (${target}.count >= ${boundMacro(message, field, "MAX_COUNT")}) return PN_ERR_BOUND;`,
    `  ${target}.count++;`,
    "}",
    `${target}.items[at] = entry;`,
  ];
}

function readFunction(ctx: Context, message: MessageModel): string[] {
  const name = messageCName(message);
  const fields = byNumber(message);
  const required = fields.filter((field) => field.required);
  const cases = fields.flatMap((field) => decodeCase(ctx, message, field));
  const missing = required.map((field) => `!seen_${field.number}`).join(" || ");
  return [
    `pn_status ${name}_read(pn_reader *r, ${name} *m) {`,
    `  ${name}_init(m);`,
    ...required.map((field) => `  bool seen_${field.number} = false;`),
    "  while (r->pos < r->len) {",
    "    uint32_t field, wt;",
    "    PN_TRY(pn_read_tag(r, &field, &wt));",
    ...(cases.length === 0
      ? ["    PN_TRY(pn_skip(r, wt, field));"]
      : [
          "    switch (field) {",
          ...indent(cases, 3),
          "      default:",
          "        PN_TRY(pn_skip(r, wt, field));",
          "        break;",
          "    }",
        ]),
    "  }",
    ...(required.length === 0 ? [] : [`  if (${missing}) return PN_ERR_MISSING_REQUIRED;`]),
    "  return PN_OK;",
    "}",
    "",
    `pn_status ${name}_decode(const uint8_t *data, size_t len, ${name} *m) {`,
    "  pn_reader r;",
    "  pn_reader_init(&r, data, len);",
    `  return ${name}_read(&r, m);`,
    "}",
    "",
  ];
}

function enumGuards(ctx: Context): string[] {
  return [...ctx.usedGuards].sort().flatMap((fullName) => {
    const enumModel = ctx.model.enums.find((candidate) => candidate.fullName === fullName)!;
    const numbers = [...new Set(enumModel.values.map((value) => value.number))].sort((a, b) => a - b);
    const test = numbers.length === 0 ? "false" : numbers.map((number) => `v == ${number}`).join(" || ");
    return [
      `/* Whether v is declared in the closed enum ${fullName}. */`,
      `static bool ${enumCName(enumModel)}_known(int32_t v) {`,
      `  return ${test};`,
      "}",
      "",
    ];
  });
}

export function emitCodecSource(model: ProtoModel, service: CServiceNames, header: string): string[] {
  const ctx: Context = {
    model,
    closedEnums: new Set(model.enums.filter((e) => e.syntax === "proto2").map((e) => e.fullName)),
    usedGuards: new Set(),
  };
  const functions = model.messages.flatMap((message) => [
    ...initFunction(ctx, message),
    ...sizeFunction(message),
    ...encodeFunction(message),
    ...readFunction(ctx, message),
  ]);
  const needsMath = functions.some((line) => /\b(HUGE_VALF?|NAN)\b/.test(line));
  return [
    header,
    `/* Codecs of the messages in ${service.codecHeader}. */`,
    `#include "${service.codecHeader}"`,
    "",
    ...(needsMath ? ["#include <math.h>"] : []),
    "#include <string.h>",
    "",
    ...enumGuards(ctx),
    ...functions,
  ];
}
