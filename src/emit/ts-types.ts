/**
 * How proto types appear in the generated TypeScript: property types, default values and doc
 * comments. Shared by the message-type emitter and the codec emitter so both agree on one shape.
 */

import { OBJECT_PROTOTYPE_NAMES } from "../model/reserved-names.js";
import type {
  EnumModel,
  FieldModel,
  MessageModel,
  ProtoModel,
  ScalarType,
  ValueType,
} from "../model/types.js";
import type { EmitOptions } from "./types.js";

/** Lookups the emitters need while walking one model. */
export interface TypeContext {
  readonly int64: EmitOptions["int64"];
  readonly messages: ReadonlyMap<string, MessageModel>;
  readonly enums: ReadonlyMap<string, EnumModel>;
  /** Full names of closed enums (declared in proto2 files). */
  readonly closedEnums: ReadonlySet<string>;
}

export function typeContext(model: ProtoModel, options: EmitOptions): TypeContext {
  const closedEnums = new Set(
    model.enums.filter((enumModel) => enumModel.syntax === "proto2").map((enumModel) => enumModel.fullName),
  );
  return {
    int64: options.int64,
    messages: new Map(model.messages.map((message) => [message.fullName, message])),
    enums: new Map(model.enums.map((enumModel) => [enumModel.fullName, enumModel])),
    closedEnums,
  };
}

/**
 * Reads property `name` of `object` as TS source. A property named like a member every object
 * inherits (`constructor`, `toString`) is read only when it is the object's own: an absent field must
 * read as `undefined`, not as `Object.prototype.toString`.
 */
export function ownProperty(object: string, name: string): string {
  if (!OBJECT_PROTOTYPE_NAMES.has(name)) return `${object}.${name}`;
  return `(Object.hasOwn(${object}, ${JSON.stringify(name)}) ? ${object}.${name} : undefined)`;
}

export function isInt64(scalar: ScalarType): boolean {
  return (
    scalar === "int64" ||
    scalar === "uint64" ||
    scalar === "sint64" ||
    scalar === "fixed64" ||
    scalar === "sfixed64"
  );
}

export function isFloat(scalar: ScalarType): boolean {
  return scalar === "double" || scalar === "float";
}

export function lookupMessage(context: TypeContext, fullName: string): MessageModel {
  const message = context.messages.get(fullName);
  if (message === undefined) throw new Error(`internal: message ${fullName} is not in the model`);
  return message;
}

export function lookupEnum(context: TypeContext, fullName: string): EnumModel {
  const enumModel = context.enums.get(fullName);
  if (enumModel === undefined) throw new Error(`internal: enum ${fullName} is not in the model`);
  return enumModel;
}

/** TypeScript type of one value (a singular field, an element, or a map value). */
export function valueTsType(value: ValueType, context: TypeContext): string {
  switch (value.kind) {
    case "scalar":
      return scalarTsType(value.scalar, context);
    case "message":
      return lookupMessage(context, value.fullName).tsName;
    case "enum": {
      const name = lookupEnum(context, value.fullName).tsName;
      // Open (proto3) enums decode unknown numbers as they are; `number & {}` keeps editor completion
      // of the known names while admitting any number.
      return context.closedEnums.has(value.fullName) ? name : `${name} | (number & {})`;
    }
  }
}

function scalarTsType(scalar: ScalarType, context: TypeContext): string {
  if (isInt64(scalar)) return context.int64 === "bigint" ? "bigint" : "string";
  switch (scalar) {
    case "bool":
      return "boolean";
    case "string":
      return "string";
    case "bytes":
      return "Uint8Array";
    default:
      return "number";
  }
}

/** TypeScript type of a field's property (before optionality). */
export function fieldTsType(field: FieldModel, context: TypeContext): string {
  const element = valueTsType(field.value, context);
  if (field.mapKey !== undefined) return `Record<string, ${element}>`;
  if (field.repeated) return element.includes("|") ? `(${element})[]` : `${element}[]`;
  return element;
}

/**
 * Whether the property is `?:` (absent = not set) rather than always filled by decoders: singular
 * fields with explicit presence, and every singular message field (even a proto2 `required` one, which
 * has no literal default; decoding still fails when it is missing).
 */
export function isOptionalProperty(field: FieldModel): boolean {
  if (field.repeated || field.mapKey !== undefined) return false;
  return field.value.kind === "message" || (field.hasPresence && !field.required);
}

/** Where a default is used: `createX()` builds fresh values, decoders may share immutable ones. */
export type DefaultUse = "create" | "decode";

/**
 * TypeScript expression of the value a required (always-filled) property starts with: the zero
 * value, or the proto2 `[default = …]`.
 */
export function fieldDefault(field: FieldModel, context: TypeContext, use: DefaultUse): string {
  if (field.mapKey !== undefined) return use === "create" ? "{}" : "$pb.newMap()";
  if (field.repeated) return "[]";
  return valueDefault(field.value, context, use, field.defaultValue);
}

/** Zero value (or the given proto2 default) of one value as a TypeScript expression. */
export function valueDefault(
  value: ValueType,
  context: TypeContext,
  use: DefaultUse,
  declared?: string | number | boolean,
): string {
  switch (value.kind) {
    case "message":
      throw new Error("internal: message values have no literal default");
    case "enum":
      return String(enumDefault(lookupEnum(context, value.fullName), context, declared));
    case "scalar":
      return scalarDefault(value.scalar, context, use, declared);
  }
}

function enumDefault(
  enumModel: EnumModel,
  context: TypeContext,
  declared?: string | number | boolean,
): number {
  if (typeof declared === "number") return declared;
  if (typeof declared === "string") {
    const named = enumModel.values.find((value) => value.protoName === declared);
    if (named !== undefined) return named.number;
  }
  // proto2: the first declared value; proto3: always 0 (which is required to be the first).
  if (context.closedEnums.has(enumModel.fullName)) return enumModel.values[0]?.number ?? 0;
  return 0;
}

function scalarDefault(
  scalar: ScalarType,
  context: TypeContext,
  use: DefaultUse,
  declared?: string | number | boolean,
): string {
  if (isInt64(scalar)) {
    const digits = declared === undefined ? "0" : BigInt(String(declared)).toString();
    return context.int64 === "bigint" ? `${digits}n` : JSON.stringify(digits);
  }
  switch (scalar) {
    case "bool":
      return declared === true || declared === "true" ? "true" : "false";
    case "string":
      return JSON.stringify(declared === undefined ? "" : String(declared));
    case "bytes":
      if (declared === undefined || declared === "")
        return use === "create" ? "new Uint8Array(0)" : "$pb.EMPTY_BYTES";
      return `new Uint8Array([${Array.from(String(declared), (char) => char.charCodeAt(0) & 0xff).join(", ")}])`;
    default:
      return numberLiteral(declared === undefined ? 0 : protoNumber(declared));
  }
}

/** A proto2 numeric default: a number, or its source text (`inf`, `-inf`, `nan`, `0x1F`, …). */
function protoNumber(declared: string | number | boolean): number {
  if (typeof declared !== "string") return Number(declared);
  const text = declared.trim().toLowerCase();
  if (text === "inf" || text === "+inf") return Number.POSITIVE_INFINITY;
  if (text === "-inf") return Number.NEGATIVE_INFINITY;
  if (text === "nan") return Number.NaN;
  return Number(text);
}

function numberLiteral(value: number): string {
  if (Number.isNaN(value)) return "Number.NaN";
  if (value === Number.POSITIVE_INFINITY) return "Number.POSITIVE_INFINITY";
  if (value === Number.NEGATIVE_INFINITY) return "Number.NEGATIVE_INFINITY";
  if (Object.is(value, -0)) return "-0";
  return String(value);
}

/**
 * A JSDoc block for `comment` plus extra tag lines, indented by `indent`; empty string when there
 * is nothing to say. `*\/` in proto comments cannot end the block early.
 */
export function docComment(
  comment: string | undefined,
  indent: string,
  tags: readonly string[] = [],
): string {
  const lines = [
    ...(comment === undefined ? [] : comment.replace(/\r\n?/g, "\n").trim().split("\n")),
    ...tags,
  ].map((line) => line.replace(/\*\//g, "*\\/").trimEnd());
  while (lines.length > 0 && lines[0] === "") lines.shift();
  if (lines.length === 0) return "";
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((line) => (line === "" ? `${indent} *` : `${indent} * ${line}`)).join("\n")}\n${indent} */\n`;
}
