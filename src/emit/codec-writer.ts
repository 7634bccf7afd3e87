/**
 * Source text of the static encode/decode functions of one message: straight-line code per field,
 * tags precomputed as numbers, no closures and no allocation beyond the message itself. The code
 * writes through the runtime's `Writer` (protobufjs's method names and bytes) and reads through
 * protobufjs's `Reader`, both as `$pb.*` (`@paynet/runtime/protobuf`, imported as a namespace so
 * that no proto name can shadow it).
 */
import type { FieldModel, MessageModel, ScalarType, ValueType } from "../model/types.js";
import { guarded, indent, wrapLoop } from "./code-lines.js";
import { countCheck, sizeCheck, stringBound } from "./codec-bounds.js";
import {
  INT64_READERS,
  isPackable,
  mapKeyArgument,
  mapKeyDefault,
  mapKeyRead,
  SCALAR_WIRE,
  tagOf,
  WIRE_LENGTH_DELIMITED,
  wireTypeOf,
  writerMethod,
} from "./codec-wire.js";
import {
  fieldDefault,
  isFloat,
  isInt64,
  isOptionalProperty,
  lookupEnum,
  lookupMessage,
  ownProperty,
  type TypeContext,
  valueDefault,
  valueTsType,
} from "./ts-types.js";

export function encoderName(message: MessageModel): string {
  return `encode${message.tsName}`;
}

export function decoderName(message: MessageModel): string {
  return `decode${message.tsName}`;
}

/** Name of the generated type guard of a closed enum. */
export function enumGuardName(enumTsName: string): string {
  return `isKnown${enumTsName}`;
}

/**
 * Writes the functions of one model's messages, remembering which enum types and closed-enum guards
 * the code referred to (the codecs file imports and defines exactly those).
 */
export class CodecWriter {
  /** tsNames of enums referenced as types. */
  readonly usedEnumTypes = new Set<string>();
  /** Full names of closed enums whose guard the code calls. */
  readonly usedGuards = new Set<string>();

  constructor(private readonly context: TypeContext) {}

  /** `export function encodeX(m: Partial<X>, w: $pb.Writer): $pb.Writer { … }` */
  encodeFunction(message: MessageModel): string {
    const fields = [...message.fields].sort((a, b) => a.number - b.number);
    const body: string[] = [];
    for (let index = 0; index < fields.length; ) {
      const field = fields[index] as FieldModel;
      if (field.oneof === undefined) {
        body.push(...this.encodeField(message, field));
        index += 1;
        continue;
      }
      // A run of consecutive members of one oneof is written by one switch, at its number position.
      let end = index + 1;
      while (end < fields.length && fields[end]?.oneof === field.oneof) end += 1;
      body.push(...this.encodeOneofRun(message, fields.slice(index, end)));
      index = end;
    }
    const param = fields.length === 0 ? "_m" : "m";
    return [
      `/** Writes a \`${message.fullName}\`; absent fields (and proto3 fields at their default) are skipped. */`,
      `export function ${encoderName(message)}(${param}: Partial<${message.tsName}>, w: $pb.Writer): $pb.Writer {`,
      ...indent(body, 1),
      "  return w;",
      "}",
    ].join("\n");
  }

  /** `export function decodeX(r: $pb.Reader, length: number): X { … }` */
  decodeFunction(message: MessageModel): string {
    const fields = [...message.fields].sort((a, b) => a.number - b.number);
    const defaults = fields
      .filter((field) => field.oneof === undefined && !isOptionalProperty(field))
      .map((field) => `${field.tsName}: ${fieldDefault(field, this.context, "decode")}`);
    const required = fields.filter((field) => field.required);
    const cases: string[] = [];
    for (const field of fields) cases.push(...this.decodeCases(message, field));
    return [
      `/** Reads a \`${message.fullName}\` of \`length\` bytes; unknown fields are skipped. */`,
      `export function ${decoderName(message)}(r: $pb.Reader, length: number): ${message.tsName} {`,
      "  const end = r.pos + length;",
      `  const m: ${message.tsName} = {${defaults.length === 0 ? "" : ` ${defaults.join(", ")} `}};`,
      ...required.map((field) => `  let has${field.number} = false;`),
      "  while (r.pos < end) {",
      "    const tag = r.uint32();",
      "    switch (tag) {",
      ...indent(cases, 3),
      "      default:",
      "        r.skipType(tag & 7);",
      "        break;",
      "    }",
      "  }",
      `  if (r.pos !== end) throw $pb.lengthOverrun(${JSON.stringify(message.fullName)});`,
      ...required.map(
        (field) =>
          `  if (!has${field.number}) throw $pb.missingRequired(${JSON.stringify(message.fullName)}, ${JSON.stringify(field.protoName)});`,
      ),
      "  return m;",
      "}",
    ].join("\n");
  }

  /** `function isKnownE(value: number): value is E` for a closed enum. */
  enumGuard(fullName: string): string {
    const enumModel = lookupEnum(this.context, fullName);
    const numbers = [...new Set(enumModel.values.map((value) => value.number))].sort((a, b) => a - b);
    const first = numbers[0] ?? 0;
    const last = numbers[numbers.length - 1] ?? 0;
    // Dense enums (the usual case) need only a range check.
    const test =
      numbers.length === last - first + 1
        ? `value >= ${first} && value <= ${last}`
        : numbers.map((number) => `value === ${number}`).join(" || ");
    return [
      `/** Whether \`value\` is declared in the closed enum \`${fullName}\` (others are dropped on decode, as proto2 requires). */`,
      `function ${enumGuardName(enumModel.tsName)}(value: number): value is ${enumModel.tsName} {`,
      `  return ${numbers.length === 0 ? "false" : test};`,
      "}",
    ].join("\n");
  }

  // ---- encoding -------------------------------------------------------------------------------

  private encodeField(message: MessageModel, field: FieldModel): string[] {
    const local = `v${field.number}`;
    const head = `const ${local} = ${ownProperty("m", field.tsName)};`;
    if (field.mapKey !== undefined) return [head, ...this.encodeMap(message, field, local)];
    if (field.repeated) return [head, ...this.encodeRepeated(message, field, local)];
    const write = [
      ...sizeCheck(message, field, field.value, local),
      this.writeValue(field.value, field.number, local, stringBound(message, field, field.value)),
    ];
    const condition =
      field.value.kind === "message" || field.hasPresence || field.required
        ? `${local} != null`
        : this.isSetCondition(field.value, local);
    return [head, ...guarded(`if (${condition})`, write)];
  }

  /** Implicit presence (proto3): a field at its zero value is not written. */
  private isSetCondition(value: ValueType, local: string): string {
    if (value.kind !== "scalar") return `${local} != null && ${local} !== 0`;
    const scalar = value.scalar;
    if (scalar === "bool") return `${local} === true`;
    if (scalar === "string") return `${local} != null && ${local} !== ""`;
    if (scalar === "bytes") return `${local} != null && ${local}.length !== 0`;
    if (isInt64(scalar)) {
      return `${local} != null && ${local} !== ${this.context.int64 === "bigint" ? "0n" : '"0"'}`;
    }
    // -0 is not the default: its bits differ, and decoding must give it back.
    if (isFloat(scalar)) return `${local} != null && (${local} !== 0 || 1 / ${local} < 0)`;
    return `${local} != null && ${local} !== 0`;
  }

  private encodeRepeated(message: MessageModel, field: FieldModel, local: string): string[] {
    const count = countCheck(message, field, `${local}.length`);
    if (field.packed && isPackable(field.value)) {
      const method = writerMethod(field.value);
      return [
        `if (${local} != null && ${local}.length !== 0) {`,
        ...indent(count, 1),
        `  w.uint32(${tagOf(field.number, WIRE_LENGTH_DELIMITED)}).fork();`,
        `  for (const x of ${local}) w.${method}(${this.writerArgument(field.value, "x")});`,
        "  w.ldelim();",
        "}",
      ];
    }
    const write = this.writeValue(field.value, field.number, "x", stringBound(message, field, field.value));
    const element = sizeCheck(message, field, field.value, "x");
    if (count.length === 0 && element.length === 0)
      return [`if (${local} != null) for (const x of ${local}) ${write}`];
    return [
      `if (${local} != null) {`,
      ...indent(count, 1),
      ...indent(guarded(`for (const x of ${local})`, [...element, write]), 1),
      "}",
    ];
  }

  private encodeMap(message: MessageModel, field: FieldModel, local: string): string[] {
    const keyType = field.mapKey as ScalarType;
    const key: ValueType = { kind: "scalar", scalar: keyType };
    const keyWrite = `uint32(${tagOf(1, SCALAR_WIRE[keyType])}).${writerMethod(key)}(${mapKeyArgument(keyType)})`;
    const count = countCheck(message, field, "keys.length");
    return [
      `if (${local} != null) {`,
      ...(count.length === 0
        ? [`  for (const k of Object.keys(${local})) {`]
        : [`  const keys = Object.keys(${local});`, ...indent(count, 1), "  for (const k of keys) {"]),
      `    const x = ${local}[k]!;`,
      ...indent(sizeCheck(message, field, key, "k", true), 2),
      ...indent(sizeCheck(message, field, field.value, "x"), 2),
      `    w.uint32(${tagOf(field.number, WIRE_LENGTH_DELIMITED)}).fork().${keyWrite};`,
      `    ${this.writeValue(field.value, 2, "x", stringBound(message, field, field.value))}`,
      "    w.ldelim();",
      "  }",
      "}",
    ];
  }

  private encodeOneofRun(message: MessageModel, members: readonly FieldModel[]): string[] {
    const first = members[0] as FieldModel;
    const oneof = message.oneofs.find((candidate) => candidate.protoName === first.oneof);
    if (oneof === undefined) throw new Error(`internal: oneof ${first.oneof} missing in ${message.fullName}`);
    const local = `o${first.number}`;
    const lines = [
      `const ${local} = ${ownProperty("m", oneof.tsName)};`,
      `if (${local} != null) {`,
      `  switch (${local}.case) {`,
    ];
    for (const member of members) {
      lines.push(
        `    case ${JSON.stringify(member.tsName)}:`,
        ...indent(sizeCheck(message, member, member.value, `${local}.value`), 3),
        `      ${this.writeValue(member.value, member.number, `${local}.value`, stringBound(message, member, member.value))}`,
        "      break;",
      );
    }
    lines.push("  }", "}");
    return lines;
  }

  /** One complete statement writing tag and value; `bound`: the `boundedString` arguments of a bounded string. */
  private writeValue(value: ValueType, fieldNumber: number, expression: string, bound?: string): string {
    if (value.kind === "message") {
      const target = lookupMessage(this.context, value.fullName);
      return `${encoderName(target)}(${expression}, w.uint32(${tagOf(fieldNumber, WIRE_LENGTH_DELIMITED)}).fork()).ldelim();`;
    }
    const tag = tagOf(fieldNumber, wireTypeOf(value));
    if (bound !== undefined) return `w.uint32(${tag}).boundedString(${expression}, ${bound});`;
    return `w.uint32(${tag}).${writerMethod(value)}(${this.writerArgument(value, expression)});`;
  }

  private writerArgument(value: ValueType, expression: string): string {
    return value.kind === "scalar" && isInt64(value.scalar) ? `$pb.int64Value(${expression})` : expression;
  }

  // ---- decoding -------------------------------------------------------------------------------

  private decodeCases(message: MessageModel, field: FieldModel): string[] {
    const seen = field.required ? [`has${field.number} = true;`] : [];
    const target = `m.${field.tsName}`;
    if (field.mapKey !== undefined) return this.decodeMapCase(field, target);
    if (field.repeated) {
      const push = this.storeValue(field.value, (value) => `${target}.push(${value});`);
      const cases = this.caseClause(tagOf(field.number, wireTypeOf(field.value)), push);
      if (isPackable(field.value)) {
        // Both encodings are accepted, whatever the field's declared packing.
        cases.push(
          `case ${tagOf(field.number, WIRE_LENGTH_DELIMITED)}: {`,
          "  const n = r.uint32() + r.pos;",
          ...indent(wrapLoop(push), 1),
          "  break;",
          "}",
        );
      }
      return cases;
    }
    const oneof =
      field.oneof === undefined
        ? undefined
        : message.oneofs.find((candidate) => candidate.protoName === field.oneof);
    const store =
      oneof === undefined
        ? (value: string) => `${target} = ${value};`
        : (value: string) =>
            `m.${oneof.tsName} = { case: ${JSON.stringify(field.tsName)}, value: ${value} };`;
    return this.caseClause(tagOf(field.number, wireTypeOf(field.value)), [
      ...this.storeValue(field.value, store),
      ...seen,
    ]);
  }

  private decodeMapCase(field: FieldModel, target: string): string[] {
    const keyType = field.mapKey as ScalarType;
    const value = field.value;
    const valueType = valueTsType(value, this.context);
    this.noteEnumType(value);
    const valueIsMessage = value.kind === "message";
    const declaration = valueIsMessage
      ? `let x: ${valueType} | undefined;`
      : `let x: ${valueType} = ${valueDefault(value, this.context, "decode")};`;
    const finalValue = valueIsMessage
      ? // An absent value is the empty message: decoding zero bytes gives exactly that.
        `x ?? ${decoderName(lookupMessage(this.context, value.fullName))}(r, 0)`
      : "x";
    return [
      `case ${tagOf(field.number, WIRE_LENGTH_DELIMITED)}: {`,
      "  const n = r.uint32() + r.pos;",
      `  let k = ${mapKeyDefault(keyType)};`,
      `  ${declaration}`,
      "  while (r.pos < n) {",
      "    const t = r.uint32();",
      "    switch (t) {",
      `      case ${tagOf(1, SCALAR_WIRE[keyType])}:`,
      `        k = ${mapKeyRead(keyType)};`,
      "        break;",
      ...indent(
        this.caseClause(
          tagOf(2, wireTypeOf(value)),
          this.storeValue(value, (read) => `x = ${read};`),
        ),
        3,
      ),
      "      default:",
      "        r.skipType(t & 7);",
      "        break;",
      "    }",
      "  }",
      `  ${target}[k] = ${finalValue};`,
      "  break;",
      "}",
    ];
  }

  /** Statements reading one value and handing it to `store`; closed enums drop unknown numbers. */
  private storeValue(value: ValueType, store: (value: string) => string): string[] {
    if (value.kind === "enum" && this.context.closedEnums.has(value.fullName)) {
      const enumModel = lookupEnum(this.context, value.fullName);
      this.usedGuards.add(value.fullName);
      this.usedEnumTypes.add(enumModel.tsName);
      return ["const e = r.int32();", `if (${enumGuardName(enumModel.tsName)}(e)) ${store("e")}`];
    }
    return [store(this.readValue(value))];
  }

  /** `case TAG:` with its statements, in a block when they declare locals. */
  private caseClause(tag: number, statements: readonly string[]): string[] {
    const scoped = statements.some((line) => line.startsWith("const ") || line.startsWith("let "));
    if (!scoped) return [`case ${tag}:`, ...indent(statements, 1), "  break;"];
    return [`case ${tag}: {`, ...indent(statements, 1), "  break;", "}"];
  }

  private readValue(value: ValueType): string {
    switch (value.kind) {
      case "message":
        return `${decoderName(lookupMessage(this.context, value.fullName))}(r, r.uint32())`;
      case "enum":
        return "r.int32()";
      case "scalar": {
        if (value.scalar === "string") return "$pb.readString(r)";
        const int64Reader = INT64_READERS[value.scalar];
        if (int64Reader === undefined) return `r.${value.scalar}()`;
        const read = `$pb.${int64Reader}(r)`;
        return this.context.int64 === "bigint" ? read : `String(${read})`;
      }
    }
  }

  private noteEnumType(value: ValueType): void {
    if (value.kind === "enum") this.usedEnumTypes.add(lookupEnum(this.context, value.fullName).tsName);
  }
}
