/**
 * Test harness of the message layer: builds a `ProtoModel` and a protobufjs reflection root from
 * the same .proto text, writes generated files into `test/.tmp/` (inside the repository, so vitest
 * transpiles them and resolves `@paynet/runtime/protobuf` through its alias), type-checks them with
 * the strictest compiler options a user might have, and converts between the generated TypeScript
 * shape and protobufjs's reflection objects.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import protobuf from "protobufjs";
import ts from "typescript";
import { emitCodecs, emitMessageTypes } from "../../src/emit/messages.js";
import type { EmitOptions } from "../../src/emit/types.js";
import type {
  EnumModel,
  FieldModel,
  MessageModel,
  OneofModel,
  ProtoModel,
  ScalarType,
  ValueType,
} from "../../src/model/types.js";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export const DEFAULT_OPTIONS: EmitOptions = { target: "both", int64: "bigint", generatorVersion: "0.0.0-test" };

// ---- model from protobufjs reflection ---------------------------------------------------------

export interface Fixture {
  readonly model: ProtoModel;
  readonly root: protobuf.Root;
}

/**
 * Parses one .proto text into a reflection root and the equivalent `ProtoModel` (what `loadModel()`
 * gives for it; annotations are irrelevant to the message layer).
 */
export function fixtureFromProto(source: string, file = "fixture.proto"): Fixture {
  const root = new protobuf.Root();
  protobuf.parse(source, root, { keepCase: true, alternateCommentMode: true });
  root.resolveAll();
  const messages: MessageModel[] = [];
  const enums: EnumModel[] = [];
  collect(root, "", file, messages, enums);
  messages.sort((a, b) => compare(a.fullName, b.fullName));
  enums.sort((a, b) => compare(a.fullName, b.fullName));
  const model: ProtoModel = {
    inputs: [file],
    messages,
    enums,
    wire: [],
    roles: {},
    sourceHash: "0".repeat(64),
    serviceName: "Fixture",
    warnings: [],
  };
  return { model, root };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function collect(
  namespace: protobuf.NamespaceBase,
  packageName: string,
  file: string,
  messages: MessageModel[],
  enums: EnumModel[],
): void {
  for (const nested of namespace.nestedArray) {
    if (nested instanceof protobuf.Type) {
      messages.push(messageModel(nested, packageName, file));
      collect(nested, packageName, file, messages, enums);
    } else if (nested instanceof protobuf.Enum) {
      enums.push(enumModel(nested, packageName, file));
    } else if (nested instanceof protobuf.Namespace) {
      collect(nested, packageName === "" ? nested.name : `${packageName}.${nested.name}`, file, messages, enums);
    }
  }
}

const position = (file: string) => ({ file, line: 1, column: 1 });

function names(object: protobuf.ReflectionObject, packageName: string): { fullName: string; tsName: string } {
  const fullName = object.fullName.slice(1);
  const relative = packageName === "" ? fullName : fullName.slice(packageName.length + 1);
  return { fullName, tsName: relative.replace(/\./g, "_") };
}

function syntaxOf(object: protobuf.ReflectionObject): "proto2" | "proto3" {
  for (let current: protobuf.ReflectionObject | null = object; current !== null; current = current.parent) {
    const edition = (current as unknown as { _edition: string | null })._edition;
    if (edition === "proto2" || edition === "proto3") return edition;
  }
  return "proto2";
}

function optionalComment(comment: string | null | undefined): { comment?: string } {
  return comment === null || comment === undefined || comment === "" ? {} : { comment };
}

function messageModel(type: protobuf.Type, packageName: string, file: string): MessageModel {
  const realOneofs = type.oneofsArray.filter(
    (oneof) => !oneof.fieldsArray.every((field) => field.options?.proto3_optional === true),
  );
  const fields: FieldModel[] = type.fieldsArray.map((field) => {
    const value = valueType(field.resolvedType, field.type);
    const oneof = field.partOf !== null && realOneofs.includes(field.partOf) ? field.partOf.name : undefined;
    const declaredDefault = field.options?.default as string | number | boolean | undefined;
    return {
      protoName: field.name,
      tsName: protobuf.util.camelCase(field.name),
      number: field.id,
      value,
      repeated: field.repeated,
      packed: field.repeated && field.packed,
      hasPresence: field.hasPresence,
      required: field.required,
      ...(field instanceof protobuf.MapField ? { mapKey: field.keyType as ScalarType } : {}),
      ...(oneof === undefined ? {} : { oneof }),
      correlation: false,
      ...(declaredDefault === undefined ? {} : { defaultValue: declaredDefault }),
      ...optionalComment(field.comment),
      position: position(file),
    };
  });
  const oneofs: OneofModel[] = realOneofs.map((oneof) => ({
    protoName: oneof.name,
    tsName: protobuf.util.camelCase(oneof.name),
    fieldNumbers: oneof.fieldsArray.map((field) => field.id),
    ...optionalComment(oneof.comment),
  }));
  return {
    ...names(type, packageName),
    packageName,
    syntax: syntaxOf(type),
    fields,
    oneofs,
    ...optionalComment(type.comment),
    position: position(file),
  };
}

function valueType(resolved: protobuf.Type | protobuf.Enum | null, type: string): ValueType {
  if (resolved instanceof protobuf.Type) return { kind: "message", fullName: resolved.fullName.slice(1) };
  if (resolved instanceof protobuf.Enum) return { kind: "enum", fullName: resolved.fullName.slice(1) };
  return { kind: "scalar", scalar: type as ScalarType };
}

function enumModel(enumType: protobuf.Enum, packageName: string, file: string): EnumModel {
  return {
    ...names(enumType, packageName),
    packageName,
    values: Object.entries(enumType.values).map(([protoName, number]) => ({
      protoName,
      number,
      ...optionalComment(enumType.comments[protoName]),
    })),
    ...optionalComment(enumType.comment),
    position: position(file),
  };
}

// ---- generated files on disk ------------------------------------------------------------------

export interface GeneratedSdk {
  readonly dir: string;
  readonly typesPath: string;
  readonly codecsPath: string;
  readonly remove: () => void;
}

/** Emits `types.ts` and `codecs.ts` into a fresh directory under `test/.tmp/`. */
export function writeGenerated(model: ProtoModel, name: string, options: EmitOptions = DEFAULT_OPTIONS): GeneratedSdk {
  const dir = join(REPO_ROOT, "test", ".tmp", `${name}-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir, { recursive: true });
  const files = [emitMessageTypes(model, options), emitCodecs(model, options)];
  for (const file of files) writeFileSync(join(dir, file.path), file.content);
  return {
    dir,
    typesPath: join(dir, "types.ts"),
    codecsPath: join(dir, "codecs.ts"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Type-checks files with the project's strict options plus the extra strictness users may turn on,
 * resolving `@paynet/runtime[/protobuf]` to the runtime's sources. Returns formatted diagnostics.
 */
export function typeCheck(files: readonly string[]): string[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2022.d.ts"],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    exactOptionalPropertyTypes: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    noImplicitOverride: true,
    noImplicitReturns: true,
    noFallthroughCasesInSwitch: true,
    noUncheckedIndexedAccess: true,
    noPropertyAccessFromIndexSignature: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
    skipLibCheck: true,
    noEmit: true,
    types: ["node"],
    baseUrl: REPO_ROOT,
    paths: {
      "@paynet/runtime/protobuf": ["runtime/src/protobuf.js"],
      // Only the codec contract: the rest of the runtime is irrelevant to messages.
      "@paynet/runtime": ["runtime/src/codec.js"],
    },
  };
  const program = ts.createProgram([...files], options);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
    if (diagnostic.file === undefined || diagnostic.start === undefined) return text;
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `${diagnostic.file.fileName}:${line + 1}:${character + 1}: ${text}`;
  });
}

// ---- values: arbitraries, reflection conversion, comparison -----------------------------------

/** A decoded message in the generated TypeScript shape. */
export type TsMessage = Record<string, unknown>;

export interface OneofValue {
  readonly case: string;
  readonly value: unknown;
}

const INT64_EXTREMES = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n, -(2n ** 53n) - 1n, 2n ** 32n];
const UINT64_EXTREMES = [0n, 1n, 2n ** 64n - 1n, 2n ** 63n, 2n ** 53n + 1n, 2n ** 32n - 1n];

function scalarArbitrary(scalar: ScalarType): fc.Arbitrary<unknown> {
  switch (scalar) {
    case "double":
      return fc.double();
    case "float":
      return fc.float();
    case "int32":
    case "sfixed32":
    case "sint32":
      return fc.oneof(fc.constantFrom(0, -1, 2147483647, -2147483648), fc.integer());
    case "uint32":
    case "fixed32":
      return fc.oneof(fc.constantFrom(0, 4294967295), fc.integer({ min: 0, max: 4294967295 }));
    case "int64":
    case "sint64":
    case "sfixed64":
      return fc.oneof(fc.constantFrom(...INT64_EXTREMES), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }));
    case "uint64":
    case "fixed64":
      return fc.oneof(fc.constantFrom(...UINT64_EXTREMES), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
    case "bool":
      return fc.boolean();
    case "string":
      return fc.string({ unit: "binary", maxLength: 12 });
    case "bytes":
      return fc.uint8Array({ maxLength: 12 });
  }
}

export interface ArbitraryOptions {
  /** Nesting depth of message-typed values. */
  readonly depth: number;
  /** Map key types to leave empty (e.g. `bool`, whose `false` key protobufjs mis-encodes). */
  readonly skipMapKeys?: readonly ScalarType[];
  /** When set, 64-bit values are decimal strings (the `int64: "string"` option). */
  readonly int64AsString?: boolean;
}

/** Arbitrary messages in the generated shape: every always-present field set, others sometimes. */
export function messageArbitrary(
  model: ProtoModel,
  fullName: string,
  options: ArbitraryOptions,
): fc.Arbitrary<TsMessage> {
  const message = findMessage(model, fullName);
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  const optionalKeys: string[] = [];
  for (const field of message.fields) {
    if (field.oneof !== undefined) continue;
    const element = valueArbitrary(model, field.value, options);
    if (field.mapKey !== undefined) {
      const keyType = field.mapKey;
      parts[field.tsName] =
        options.skipMapKeys?.includes(keyType) || element === undefined
          ? fc.constant({})
          : fc
              .array(fc.tuple(mapKeyArbitrary(keyType), element), { maxLength: 3 })
              .map((entries) => Object.fromEntries(entries));
    } else if (field.repeated) {
      parts[field.tsName] = element === undefined ? fc.constant([]) : fc.array(element, { maxLength: 4 });
    } else if (element === undefined) {
      continue;
    } else {
      parts[field.tsName] = element;
      if (field.hasPresence && !field.required) optionalKeys.push(field.tsName);
    }
  }
  for (const oneof of message.oneofs) {
    const cases = oneof.fieldNumbers.flatMap((number) => {
      const member = findField(message, number);
      const element = valueArbitrary(model, member.value, options);
      return element === undefined ? [] : [element.map((value): OneofValue => ({ case: member.tsName, value }))];
    });
    if (cases.length === 0) continue;
    parts[oneof.tsName] = fc.oneof(...cases);
    optionalKeys.push(oneof.tsName);
  }
  const requiredKeys = Object.keys(parts).filter((key) => !optionalKeys.includes(key));
  return fc.record(parts, { requiredKeys }) as fc.Arbitrary<TsMessage>;
}

function valueArbitrary(
  model: ProtoModel,
  value: ValueType,
  options: ArbitraryOptions,
): fc.Arbitrary<unknown> | undefined {
  switch (value.kind) {
    case "scalar": {
      const arbitrary = scalarArbitrary(value.scalar);
      return options.int64AsString && isInt64(value.scalar) ? arbitrary.map((big) => String(big)) : arbitrary;
    }
    case "enum":
      return fc.constantFrom(...findEnum(model, value.fullName).values.map((enumValue) => enumValue.number));
    case "message":
      if (options.depth <= 0) return undefined;
      return messageArbitrary(model, value.fullName, { ...options, depth: options.depth - 1 });
  }
}

function mapKeyArbitrary(keyType: ScalarType): fc.Arbitrary<string> {
  if (keyType === "string") return fc.string({ unit: "binary", maxLength: 6 }).filter((key) => key !== "__proto__");
  if (keyType === "bool") return fc.constantFrom("true", "false");
  return scalarArbitrary(keyType).map((key) => String(key));
}

export function isInt64(scalar: ScalarType): boolean {
  return ["int64", "uint64", "sint64", "fixed64", "sfixed64"].includes(scalar);
}

export function findMessage(model: ProtoModel, fullName: string): MessageModel {
  const message = model.messages.find((candidate) => candidate.fullName === fullName);
  if (message === undefined) throw new Error(`no message ${fullName}`);
  return message;
}

function findEnum(model: ProtoModel, fullName: string): EnumModel {
  const found = model.enums.find((candidate) => candidate.fullName === fullName);
  if (found === undefined) throw new Error(`no enum ${fullName}`);
  return found;
}

function findField(message: MessageModel, number: number): FieldModel {
  const field = message.fields.find((candidate) => candidate.number === number);
  if (field === undefined) throw new Error(`no field ${number} in ${message.fullName}`);
  return field;
}

/**
 * The plain object protobufjs's reflection encoder takes for the same message. Implicit-presence
 * fields at their default are left out: protobufjs writes every own property, the generated
 * encoder skips defaults (as protobuf specifies for proto3).
 */
export function toReflection(model: ProtoModel, fullName: string, message: TsMessage): Record<string, unknown> {
  const type = findMessage(model, fullName);
  const out: Record<string, unknown> = {};
  for (const field of type.fields) {
    if (field.oneof !== undefined) {
      const oneof = type.oneofs.find((candidate) => candidate.protoName === field.oneof);
      const set = oneof === undefined ? undefined : (message[oneof.tsName] as OneofValue | undefined);
      if (set !== undefined && set.case === field.tsName) out[field.protoName] = valueToReflection(model, field.value, set.value);
      continue;
    }
    const value = message[field.tsName];
    if (value === undefined) continue;
    if (field.mapKey !== undefined) {
      const map: Record<string, unknown> = {};
      for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
        map[key] = valueToReflection(model, field.value, entry);
      }
      out[field.protoName] = map;
    } else if (field.repeated) {
      out[field.protoName] = (value as unknown[]).map((element) => valueToReflection(model, field.value, element));
    } else {
      if (!field.hasPresence && !field.required && isDefaultValue(field.value, value)) continue;
      out[field.protoName] = valueToReflection(model, field.value, value);
    }
  }
  return out;
}

function isDefaultValue(value: ValueType, actual: unknown): boolean {
  if (value.kind === "enum") return actual === 0;
  if (value.kind === "message") return false;
  if (actual instanceof Uint8Array) return actual.length === 0;
  if (typeof actual === "number") return Object.is(actual, 0);
  return actual === 0n || actual === "0" || actual === "" || actual === false;
}

function valueToReflection(model: ProtoModel, value: ValueType, actual: unknown): unknown {
  if (value.kind === "message") return toReflection(model, value.fullName, actual as TsMessage);
  if (value.kind === "scalar" && isInt64(value.scalar)) {
    const unsigned = value.scalar === "uint64" || value.scalar === "fixed64";
    return protobuf.util.Long.fromString(String(actual), unsigned);
  }
  return actual;
}

/** A message decoded by protobufjs reflection, in the generated TypeScript shape. */
export function fromReflection(
  model: ProtoModel,
  fullName: string,
  decoded: Record<string, unknown>,
  int64AsString = false,
): TsMessage {
  const type = findMessage(model, fullName);
  const out: TsMessage = {};
  const own = (name: string) => Object.hasOwn(decoded, name);
  for (const field of [...type.fields].sort((a, b) => a.number - b.number)) {
    const value = decoded[field.protoName];
    if (field.oneof !== undefined) {
      const oneof = type.oneofs.find((candidate) => candidate.protoName === field.oneof) as OneofModel;
      if (own(field.protoName)) {
        out[oneof.tsName] = { case: field.tsName, value: valueFromReflection(model, field.value, value, int64AsString) };
      }
      continue;
    }
    if (field.mapKey !== undefined) {
      const map: Record<string, unknown> = {};
      for (const [key, entry] of Object.entries((value ?? {}) as Record<string, unknown>)) {
        const tsKey = isInt64(field.mapKey)
          ? String(longValue(protobuf.util.longFromHash(key, field.mapKey === "uint64" || field.mapKey === "fixed64")))
          : key;
        map[tsKey] = valueFromReflection(model, field.value, entry, int64AsString);
      }
      out[field.tsName] = map;
    } else if (field.repeated) {
      out[field.tsName] = ((value ?? []) as unknown[]).map((element) =>
        valueFromReflection(model, field.value, element, int64AsString),
      );
    } else if (field.hasPresence && !field.required) {
      if (own(field.protoName)) out[field.tsName] = valueFromReflection(model, field.value, value, int64AsString);
    } else {
      out[field.tsName] = valueFromReflection(model, field.value, value, int64AsString);
    }
  }
  return out;
}

function longValue(value: protobuf.Long | number): bigint {
  if (typeof value === "number") return BigInt(value);
  const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return value.unsigned ? bits : BigInt.asIntN(64, bits);
}

function valueFromReflection(model: ProtoModel, value: ValueType, actual: unknown, int64AsString: boolean): unknown {
  if (value.kind === "message") {
    return fromReflection(model, value.fullName, actual as Record<string, unknown>, int64AsString);
  }
  if (value.kind === "scalar" && isInt64(value.scalar)) {
    const big = longValue(actual as protobuf.Long | number);
    return int64AsString ? String(big) : big;
  }
  return actual;
}

/**
 * A canonical text of a message value for equality: keys sorted, bigint, -0, NaN and bytes spelled
 * out (so `Buffer` and `Uint8Array`, or null-prototype and plain objects, compare equal).
 */
export function canonical(value: unknown): string {
  return JSON.stringify(canonicalValue(value));
}

function canonicalValue(value: unknown): unknown {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number") {
    if (Object.is(value, -0)) return "-0";
    if (!Number.isFinite(value)) return String(value);
    return value;
  }
  if (value instanceof Uint8Array) return `bytes:${Buffer.from(value).toString("hex")}`;
  if (Array.isArray(value)) return value.map(canonicalValue);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = canonicalValue((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}
