/**
 * Builds message and enum models from protobufjs reflection objects, resolving field types with
 * protobuf scoping. Only what the inputs reach ends up in the model: every type declared in an
 * input file, every annotated message, and the types their fields use (transitively).
 */
import protobuf from "protobufjs";
import type { MessageAnnotation } from "./annotations.js";
import type { FieldBounds } from "./bounds.js";
import { normalizeComment } from "./comments.js";
import type { DiagnosticBag } from "./diagnostics.js";
import { ownFields } from "./extensions.js";
import { positionIn } from "./files.js";
import type { EnumFinals } from "./finals.js";
import { fieldKey } from "./source-index.js";
import type { EnumSymbol, MessageSymbol, SymbolTable, TypeSymbol } from "./symbols.js";
import type {
  EnumModel,
  EnumValueModel,
  FieldModel,
  MessageModel,
  OneofModel,
  ScalarType,
  ValueType,
} from "./types.js";

const SCALARS: ReadonlySet<string> = new Set<ScalarType>([
  "double",
  "float",
  "int32",
  "uint32",
  "sint32",
  "fixed32",
  "sfixed32",
  "int64",
  "uint64",
  "sint64",
  "fixed64",
  "sfixed64",
  "bool",
  "string",
  "bytes",
]);
const INT64: ReadonlySet<string> = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
/** A model before TypeScript names are assigned (they depend on every other name). */
export type MessageDraft = Omit<MessageModel, "tsName" | "wire">;
export type EnumDraft = Omit<EnumModel, "tsName">;

export interface Drafts {
  readonly messages: Map<string, MessageDraft>;
  readonly enums: Map<string, EnumDraft>;
}

export function buildDrafts(
  symbols: SymbolTable,
  annotations: ReadonlyMap<string, MessageAnnotation>,
  bounds: ReadonlyMap<string, FieldBounds>,
  finals: EnumFinals,
  diagnostics: DiagnosticBag,
): Drafts {
  const messages = new Map<string, MessageDraft>();
  const enums = new Map<string, EnumDraft>();
  const allSymbols = [...symbols.all()];

  // Every user file is checked (protoc would too), even where its types are not used.
  for (const symbol of allSymbols) {
    if (symbol.kind !== "message" || symbol.file.bundled) continue;
    if ((symbol.type as { group?: boolean }).group === true) {
      diagnostics.error(
        "unsupported-group",
        `group ${symbol.fullName}: groups are not supported; use a nested message field`,
        symbol.position,
      );
    }
    for (const field of ownFields(symbol.type)) resolveFieldType(symbol, field, symbols, diagnostics);
  }

  const queue: TypeSymbol[] = allSymbols.filter(
    (s) => (s.file.isInput && !s.file.bundled) || annotations.has(s.fullName),
  );
  const seen = new Set<string>(queue.map((s) => s.fullName));
  const quiet = { error() {}, warning() {} } as unknown as DiagnosticBag;
  while (queue.length > 0) {
    const symbol = queue.shift()!;
    if (symbol.kind === "enum") {
      enums.set(symbol.fullName, buildEnum(symbol, finals));
      continue;
    }
    const message = buildMessage(symbol, symbols, annotations.get(symbol.fullName), bounds);
    messages.set(symbol.fullName, message);
    for (const field of ownFields(symbol.type)) {
      const used = resolveFieldType(symbol, field, symbols, quiet);
      if (used !== undefined && !seen.has(used.fullName)) {
        seen.add(used.fullName);
        queue.push(used);
      }
    }
  }
  return { messages, enums };
}

function resolveFieldType(
  owner: MessageSymbol,
  field: protobuf.Field,
  symbols: SymbolTable,
  diagnostics: DiagnosticBag,
): TypeSymbol | undefined {
  const where = owner.file.proto.index?.fields.get(fieldKey(owner.fullName, field.name));
  const position = positionIn(owner.file, where?.typePlace ?? where?.place ?? { line: 1, column: 1 });
  if (SCALARS.has(field.type)) return undefined;
  const found = symbols.resolve(field.type, owner.fullName);
  if (found === undefined) {
    diagnostics.error(
      "unresolved-type",
      `field ${owner.fullName}.${field.name}: unknown type "${field.type}"${maybeDefinedIn(owner.file.unreadableImports)}`,
      position,
    );
  }
  return found;
}

/** Hint for an unknown type in a file some of whose imports could not be read. */
function maybeDefinedIn(unreadableImports: readonly string[]): string {
  if (unreadableImports.length === 0) return "";
  return ` (it may be defined in ${unreadableImports.join(" or ")}, which could not be read)`;
}

function valueTypeOf(owner: MessageSymbol, typeName: string, symbols: SymbolTable): ValueType {
  if (SCALARS.has(typeName)) return { kind: "scalar", scalar: typeName as ScalarType };
  const found = symbols.resolve(typeName, owner.fullName);
  // Unresolved types were reported; the draft keeps a placeholder and the model is never returned.
  if (found === undefined) return { kind: "message", fullName: typeName.replace(/^\./, "") };
  return { kind: found.kind, fullName: found.fullName };
}

function buildMessage(
  symbol: MessageSymbol,
  symbols: SymbolTable,
  annotation: MessageAnnotation | undefined,
  bounds: ReadonlyMap<string, FieldBounds>,
): MessageDraft {
  const file = symbol.file;
  const syntax = file.proto.syntax;
  const oneofs: OneofModel[] = [];
  for (const oneof of symbol.type.oneofsArray) {
    const members = oneof.fieldsArray;
    if (members.length > 0 && members.every((f) => f.options?.proto3_optional === true)) continue;
    const comment = normalizeComment(oneof.comment);
    oneofs.push({
      protoName: oneof.name,
      tsName: protobuf.util.camelCase(oneof.name),
      fieldNumbers: members.map((f) => f.id),
      ...(comment === undefined ? {} : { comment }),
    });
  }
  const realOneofs = new Set(oneofs.map((o) => o.protoName));
  const fields = ownFields(symbol.type).map((field) => {
    const isMap = field instanceof protobuf.MapField;
    const value = valueTypeOf(symbol, field.type, symbols);
    const rule = (field as { rule?: string }).rule;
    const repeated = !isMap && rule === "repeated";
    const required = rule === "required";
    const oneof = field.partOf !== null && realOneofs.has(field.partOf.name) ? field.partOf.name : undefined;
    const explicitOptional = field.options?.proto3_optional === true;
    const singular = !repeated && !isMap;
    const hasPresence =
      singular &&
      !required &&
      (value.kind === "message" || explicitOptional || oneof !== undefined || syntax === "proto2");
    const packedOption = field.options?.packed as unknown;
    const packable =
      repeated &&
      (value.kind === "enum" ||
        (value.kind === "scalar" && value.scalar !== "string" && value.scalar !== "bytes"));
    const packed = packable && (syntax === "proto3" ? packedOption !== false : packedOption === true);
    const where = file.proto.index?.fields.get(fieldKey(symbol.fullName, field.name));
    const defaultValue = syntax === "proto2" ? defaultOf(symbol, field, value) : undefined;
    const comment = normalizeComment(field.comment);
    const { maxSize, maxCount } = bounds.get(fieldKey(symbol.fullName, field.name)) ?? {};
    const model: FieldModel = {
      protoName: field.name,
      tsName: protobuf.util.camelCase(field.name),
      number: field.id,
      value,
      repeated,
      packed,
      hasPresence,
      required,
      ...(isMap ? { mapKey: (field as protobuf.MapField).keyType as ScalarType } : {}),
      ...(oneof === undefined ? {} : { oneof }),
      correlation: annotation?.correlation?.value === field.name,
      ...(maxSize === undefined ? {} : { maxSize }),
      ...(maxCount === undefined ? {} : { maxCount }),
      ...(defaultValue === undefined ? {} : { defaultValue }),
      ...(comment === undefined ? {} : { comment }),
      position: where === undefined ? symbol.position : positionIn(file, where.place),
    };
    return model;
  });
  const comment = normalizeComment(symbol.type.comment);
  return {
    fullName: symbol.fullName,
    packageName: file.proto.packageName,
    syntax,
    fields,
    oneofs,
    ...(comment === undefined ? {} : { comment }),
    position: symbol.position,
  };
}

/**
 * proto2 `[default = …]` from the source tokens (exact for 64-bit values, which are given as decimal
 * strings), falling back to protobufjs's parsed value.
 */
function defaultOf(
  symbol: MessageSymbol,
  field: protobuf.Field,
  value: ValueType,
): string | number | boolean | undefined {
  const raw = symbol.file.proto.index?.options.find(
    (o) =>
      o.name === "default" &&
      o.target.kind === "field" &&
      o.target.message === symbol.fullName &&
      o.target.field === field.name,
  )?.value;
  const parsed = field.options?.default as unknown;
  if (raw === undefined) {
    return typeof parsed === "string" || typeof parsed === "number" || typeof parsed === "boolean"
      ? parsed
      : undefined;
  }
  if (raw.kind === "string") return raw.text;
  if (raw.kind === "ident") {
    if (value.kind === "scalar" && value.scalar === "bool") return raw.text === "true";
    if (/^[+-]?inf$/.test(raw.text)) return raw.text.startsWith("-") ? -Infinity : Infinity;
    if (/^[+-]?nan$/.test(raw.text)) return Number.NaN;
    return raw.text;
  }
  if (raw.kind === "number") {
    if (value.kind === "scalar" && INT64.has(value.scalar)) {
      const digits = /^0[xX]/.test(raw.text)
        ? BigInt(raw.text)
        : /^0[0-7]+$/.test(raw.text)
          ? BigInt(`0o${raw.text.slice(1)}`)
          : BigInt(raw.text);
      return (raw.negative ? -digits : digits).toString();
    }
    return typeof parsed === "number" ? parsed : Number(raw.text) * (raw.negative ? -1 : 1);
  }
  return undefined;
}

function buildEnum(symbol: EnumSymbol, finals: EnumFinals): EnumDraft {
  const enumType = symbol.enumType;
  const finalValues = finals.get(symbol.fullName);
  const values: EnumValueModel[] = Object.entries(enumType.values).map(([protoName, number]) => {
    const comment = normalizeComment(enumType.comments[protoName]);
    const final = finalValues?.has(protoName) === true;
    return { protoName, number, final, ...(comment === undefined ? {} : { comment }) };
  });
  const comment = normalizeComment(enumType.comment);
  return {
    fullName: symbol.fullName,
    packageName: symbol.file.proto.packageName,
    syntax: symbol.file.proto.syntax,
    values,
    ...(comment === undefined ? {} : { comment }),
    position: symbol.position,
  };
}
