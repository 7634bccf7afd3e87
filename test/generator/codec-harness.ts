/**
 * Test harness of the message layer: loads a `ProtoModel` (via `loadModel()`) and a protobufjs
 * reflection root from the same .proto files, writes generated files into `test/.tmp/` (inside the repository, so vitest
 * transpiles them and resolves `@paynet/runtime/protobuf` through its alias), type-checks them with
 * the strictest compiler options a user might have, and converts between the generated TypeScript
 * shape and protobufjs's reflection objects.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import Long from "long";
import protobuf from "protobufjs";
import ts from "typescript";
import { emitCodecs, emitMessageTypes } from "../../src/emit/messages.js";
import type { EmitOptions } from "../../src/emit/types.js";
import { formatDiagnostic, loadModel, PAYNET_PROTO_DIR } from "../../src/model/index.js";
import { PROTOBUFJS_DIR } from "../../src/model/paths.js";
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

export const DEFAULT_OPTIONS: EmitOptions = {
  target: "both",
  int64: "bigint",
  generatorVersion: "0.0.0-test",
};

// ---- fixtures: the model from loadModel(), and protobufjs reflection of the same files --------

export interface Fixture {
  readonly model: ProtoModel;
  readonly root: protobuf.Root;
}

/** Where the multi-file fixture (imports, nesting, oneof, map, int64, WKT, proto2) lives. */
export const MULTI_FIXTURE = {
  inputs: [join(REPO_ROOT, "test", "fixtures", "protos", "multi", "shop.proto")],
  protoPaths: [join(REPO_ROOT, "test", "fixtures", "protos", "multi", "include")],
};

/**
 * Loads .proto files twice: through `loadModel()` (what the generator emits from) and through
 * protobufjs reflection (the reference the generated codecs are compared with).
 */
export async function loadFixtureFiles(
  inputs: readonly string[],
  protoPaths: readonly string[] = [],
): Promise<Fixture> {
  const { model, diagnostics } = await loadModel({
    inputs: [...inputs],
    protoPaths: [...protoPaths],
    cwd: REPO_ROOT,
  });
  if (model === undefined)
    throw new Error(diagnostics.map((diagnostic) => formatDiagnostic(diagnostic)).join("\n"));
  const searchPath = [
    ...inputs.map((input) => dirname(input)),
    ...protoPaths,
    PAYNET_PROTO_DIR,
    PROTOBUFJS_DIR,
  ];
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (isAbsolute(target)) return target;
    const found = searchPath.map((dir) => join(dir, target)).find((candidate) => existsSync(candidate));
    return found ?? protobuf.util.path.resolve(origin, target);
  };
  root.loadSync([...inputs], { keepCase: true, alternateCommentMode: true });
  root.resolveAll();
  return { model, root };
}

/** Loads one .proto text (written to a scratch file under `test/.tmp/`). */
export async function loadFixture(source: string, name: string): Promise<Fixture> {
  const dir = scratchDir(`proto-${name}`);
  const file = join(dir, `${name}.proto`);
  writeFileSync(file, source);
  try {
    return await loadFixtureFiles([file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function scratchDir(name: string): string {
  const dir = join(REPO_ROOT, "test", ".tmp", `${name}-${process.pid}-${(scratchCounter++).toString(36)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}
let scratchCounter = 0;

// ---- generated files on disk ------------------------------------------------------------------

export interface GeneratedSdk {
  readonly dir: string;
  readonly typesPath: string;
  readonly codecsPath: string;
  readonly remove: () => void;
}

/** Emits `types.ts` and `codecs.ts` into a fresh directory under `test/.tmp/`. */
export function writeGenerated(
  model: ProtoModel,
  name: string,
  options: EmitOptions = DEFAULT_OPTIONS,
): GeneratedSdk {
  const dir = scratchDir(name);
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
      "@paynet/runtime/protobuf": ["runtime/src/protobuf/index.js"],
      // Only the codec contract: the rest of the runtime is irrelevant to messages.
      "@paynet/runtime": ["runtime/src/codec.js"],
    },
  };
  const program = ts.createProgram([...files], options);
  // The runtime sources are checked by their own tsconfig; only the generated files are judged here.
  const judged = new Set(files.map((file) => resolve(file)));
  const diagnostics = ts
    .getPreEmitDiagnostics(program)
    .filter((diagnostic) => diagnostic.file === undefined || judged.has(resolve(diagnostic.file.fileName)));
  return diagnostics.map((diagnostic) => {
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
      return fc.oneof(
        fc.constantFrom(...INT64_EXTREMES),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      );
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
    } else if (element !== undefined) {
      parts[field.tsName] = element;
      if (field.hasPresence && !field.required) optionalKeys.push(field.tsName);
    }
  }
  for (const oneof of message.oneofs) {
    const cases = oneof.fieldNumbers.flatMap((number) => {
      const member = findField(message, number);
      const element = valueArbitrary(model, member.value, options);
      return element === undefined
        ? []
        : [element.map((value): OneofValue => ({ case: member.tsName, value }))];
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
  if (keyType === "string")
    return fc.string({ unit: "binary", maxLength: 6 }).filter((key) => key !== "__proto__");
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
export function toReflection(
  fixture: Fixture,
  fullName: string,
  message: TsMessage,
): Record<string, unknown> {
  const type = findMessage(fixture.model, fullName);
  const name = reflectedNames(fixture.root, fullName);
  const out: Record<string, unknown> = {};
  for (const field of type.fields) {
    if (field.oneof !== undefined) {
      const oneof = type.oneofs.find((candidate) => candidate.protoName === field.oneof);
      const set = oneof === undefined ? undefined : (message[oneof.tsName] as OneofValue | undefined);
      if (set !== undefined && set.case === field.tsName)
        out[name(field.number)] = valueToReflection(fixture, field.value, set.value);
      continue;
    }
    const value = message[field.tsName];
    if (value === undefined) continue;
    if (field.mapKey !== undefined) {
      const map: Record<string, unknown> = {};
      for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
        map[key] = valueToReflection(fixture, field.value, entry);
      }
      out[name(field.number)] = map;
    } else if (field.repeated) {
      out[name(field.number)] = (value as unknown[]).map((element) =>
        valueToReflection(fixture, field.value, element),
      );
    } else {
      if (!field.hasPresence && !field.required && isDefaultValue(field.value, value)) continue;
      out[name(field.number)] = valueToReflection(fixture, field.value, value);
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

/** Reflection field name by number (protobufjs's bundled WKT definitions are camelCase). */
function reflectedNames(root: protobuf.Root, fullName: string): (number: number) => string {
  const type = root.lookupType(fullName);
  return (number) => {
    const field = type.fieldsById[number];
    if (field === undefined) throw new Error(`no field ${number} in reflected ${fullName}`);
    return field.name;
  };
}

function valueToReflection(fixture: Fixture, value: ValueType, actual: unknown): unknown {
  if (value.kind === "message") return toReflection(fixture, value.fullName, actual as TsMessage);
  if (value.kind === "scalar" && isInt64(value.scalar)) {
    const unsigned = value.scalar === "uint64" || value.scalar === "fixed64";
    return Long.fromString(String(actual), unsigned);
  }
  return actual;
}

/** A message decoded by protobufjs reflection, in the generated TypeScript shape. */
export function fromReflection(
  fixture: Fixture,
  fullName: string,
  decoded: Record<string, unknown>,
  int64AsString = false,
): TsMessage {
  const type = findMessage(fixture.model, fullName);
  const name = reflectedNames(fixture.root, fullName);
  const out: TsMessage = {};
  const own = (name: string) => Object.hasOwn(decoded, name);
  for (const field of [...type.fields].sort((a, b) => a.number - b.number)) {
    const value = decoded[name(field.number)];
    if (field.oneof !== undefined) {
      const oneof = type.oneofs.find((candidate) => candidate.protoName === field.oneof) as OneofModel;
      if (own(name(field.number))) {
        out[oneof.tsName] = {
          case: field.tsName,
          value: valueFromReflection(fixture, field.value, value, int64AsString),
        };
      }
      continue;
    }
    if (field.mapKey !== undefined) {
      const map: Record<string, unknown> = {};
      for (const [key, entry] of Object.entries((value ?? {}) as Record<string, unknown>)) {
        const tsKey = isInt64(field.mapKey)
          ? String(
              longValue(
                protobuf.util.longFromHash(key, field.mapKey === "uint64" || field.mapKey === "fixed64"),
              ),
            )
          : key;
        map[tsKey] = valueFromReflection(fixture, field.value, entry, int64AsString);
      }
      out[field.tsName] = map;
    } else if (field.repeated) {
      out[field.tsName] = ((value ?? []) as unknown[]).map((element) =>
        valueFromReflection(fixture, field.value, element, int64AsString),
      );
    } else if (field.hasPresence && !field.required) {
      if (own(name(field.number)))
        out[field.tsName] = valueFromReflection(fixture, field.value, value, int64AsString);
    } else {
      out[field.tsName] = valueFromReflection(fixture, field.value, value, int64AsString);
    }
  }
  return out;
}

function longValue(value: protobuf.Long | number): bigint {
  if (typeof value === "number") return BigInt(value);
  const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return value.unsigned ? bits : BigInt.asIntN(64, bits);
}

function valueFromReflection(
  fixture: Fixture,
  value: ValueType,
  actual: unknown,
  int64AsString: boolean,
): unknown {
  if (value.kind === "message") {
    return fromReflection(fixture, value.fullName, actual as Record<string, unknown>, int64AsString);
  }
  if (value.kind === "scalar" && isInt64(value.scalar)) {
    const big = longValue(actual as protobuf.Long | number);
    return int64AsString ? String(big) : big;
  }
  // protobufjs's prototype default of a bytes field is a plain array.
  if (value.kind === "scalar" && value.scalar === "bytes" && Array.isArray(actual))
    return Uint8Array.from(actual);
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
    for (const key of Object.keys(value).sort())
      out[key] = canonicalValue((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}
