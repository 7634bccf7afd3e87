/**
 * `_read` and `_decode` of each message: unknown fields skipped, packed and unpacked repeated
 * scalars both accepted, values over their bound refused with PN_ERR_BOUND, map entries merged by
 * key, and closed proto2 enums dropping unknown numbers like the TypeScript SDK (with the `_known`
 * guards of the enums the decoders use).
 */
import type { FieldModel, MessageModel, ValueType } from "../../model/types.js";
import { access, byNumber, type CodecContext, isPackable } from "./codec-fields.js";
import { hasFlag, mapEntryName } from "./messages.js";
import { boundMacro, enumCName, messageCName } from "./names.js";
import { indent } from "./text.js";
import { isSizedScalar, readRaw, WIRE_LEN, wireTypeOf } from "./values.js";

function guardName(ctx: CodecContext, fullName: string): string {
  ctx.usedGuards.add(fullName);
  return `${enumCName({ fullName })}_known`;
}

/** Statements storing one read value: `store(expr)` gets the C expression to store. */
function readInto(
  ctx: CodecContext,
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

function decodeCase(ctx: CodecContext, message: MessageModel, field: FieldModel): string[] {
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

function mapEntryRead(ctx: CodecContext, message: MessageModel, field: FieldModel): string[] {
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

export function readFunction(ctx: CodecContext, message: MessageModel): string[] {
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

export function enumGuards(ctx: CodecContext): string[] {
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
