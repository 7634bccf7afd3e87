/**
 * The paynet annotations of every message, from `option (paynet.…)` in the protos and from the
 * sidecar map, merged. protobufjs accepts any option value silently, so the raw option tokens are
 * checked here: right element, right value type, names that resolve.
 */
import { BOUND_OPTIONS } from "./bounds.js";
import type { DiagnosticBag } from "./diagnostics.js";
import { formatPosition } from "./diagnostics.js";
import { ownFields } from "./extensions.js";
import { type ProtoFile, positionIn } from "./files.js";
import { PAYNET_OPTIONS_IMPORT } from "./paths.js";
import type { Sidecar, SidecarFact } from "./sidecar.js";
import type { OptionTarget, OptionUse, OptionValue } from "./source-index.js";
import type { MessageSymbol, SymbolTable } from "./symbols.js";
import { formatType, parseTypeNumber, type TypeNumber } from "./type-number.js";
import type { Direction, Role, SourcePosition } from "./types.js";

/** One annotation fact and where it came from (`both`: given identically by proto and sidecar). */
export interface Fact<T> {
  readonly value: T;
  /** In the proto when given there, else in the sidecar. */
  readonly position: SourcePosition;
  readonly source: "proto" | "map" | "both";
}

/**
 * Everything annotated on one message. `reply` is a resolved full name; `correlation`, `serial`
 * and `deviceId` are field protoNames (`serial`/`deviceId` from `(paynet.identity)`).
 */
export interface MessageAnnotation {
  readonly symbol: MessageSymbol;
  type?: Fact<TypeNumber>;
  direction?: Fact<Direction>;
  reply?: Fact<string>;
  role?: Fact<Role>;
  correlation?: Fact<string>;
  serial?: Fact<string>;
  deviceId?: Fact<string>;
  /** Facts that were given with an invalid value (already reported): not "missing" either. */
  readonly invalid: ReadonlySet<FactKey>;
}

export type FactKey = "type" | "direction" | "reply" | "role" | "correlation" | "serial" | "deviceId";
/** The facts that name a field of the message. */
const FIELD_FACTS: ReadonlySet<FactKey> = new Set(["correlation", "serial", "deviceId"]);
export const FACT_KEYS: readonly FactKey[] = [
  "type",
  "direction",
  "reply",
  "role",
  "correlation",
  "serial",
  "deviceId",
];
type Partial1 = { -readonly [K in FactKey]?: { value: FactValue<K>; position: SourcePosition } } & {
  invalid?: Set<FactKey>;
};
type FactValue<K extends FactKey> = K extends "type"
  ? TypeNumber
  : K extends "direction"
    ? Direction
    : K extends "role"
      ? Role
      : string;

const MESSAGE_OPTIONS = new Set(["type", "direction", "reply", "role"]);
// Maps, not object literals: an enum value written as `constructor` or `toString` must find nothing
// (an object literal would answer with what every object inherits).
const FIELD_OPTIONS = new Set(["correlation", "identity"]);
const DIRECTION_VALUES: ReadonlyMap<string, Direction | null> = new Map([
  ["UPLINK", "up"],
  ["DOWNLINK", "down"],
  ["BOTH", "both"],
  ["DIRECTION_UNSPECIFIED", null],
]);
const IDENTITY_VALUES: ReadonlyMap<string, "serial" | "deviceId" | null> = new Map([
  ["SERIAL", "serial"],
  ["DEVICE_ID", "deviceId"],
  ["IDENTITY_UNSPECIFIED", null],
]);
const ROLE_VALUES: ReadonlyMap<string, Role | null> = new Map([
  ["REGISTER", "register"],
  ["LOGIN", "login"],
  ["HEARTBEAT", "heartbeat"],
  ["ERROR", "error"],
  ["ROLE_UNSPECIFIED", null],
]);

/**
 * Collects and merges the annotations of all user files and the sidecar. Returns them by message
 * full name; problems are reported to `diagnostics`.
 */
export function collectAnnotations(
  files: readonly ProtoFile[],
  symbols: SymbolTable,
  sidecar: Sidecar | undefined,
  sidecarScope: string,
  diagnostics: DiagnosticBag,
): Map<string, MessageAnnotation> {
  const fromProto = collectFromProtos(files, symbols, diagnostics);
  const fromMap =
    sidecar === undefined
      ? new Map<string, Partial1>()
      : collectFromSidecar(sidecar, symbols, sidecarScope, diagnostics);
  const merged = new Map<string, MessageAnnotation>();
  for (const fullName of [...new Set([...fromProto.keys(), ...fromMap.keys()])]) {
    const symbol = symbols.get(fullName);
    if (symbol?.kind !== "message") continue;
    const proto = fromProto.get(fullName) ?? {};
    const map = fromMap.get(fullName) ?? {};
    const annotation: MessageAnnotation = {
      symbol,
      invalid: new Set([...(proto.invalid ?? []), ...(map.invalid ?? [])]),
    };
    for (const key of FACT_KEYS) {
      const fact = mergeFact(fullName, key, proto[key], map[key], diagnostics);
      if (fact !== undefined) (annotation as Record<FactKey, unknown>)[key] = fact;
    }
    merged.set(fullName, annotation);
  }
  return merged;
}

function mergeFact(
  message: string,
  key: FactKey,
  proto: { value: FactValue<FactKey>; position: SourcePosition } | undefined,
  map: { value: FactValue<FactKey>; position: SourcePosition } | undefined,
  diagnostics: DiagnosticBag,
): Fact<FactValue<FactKey>> | undefined {
  if (proto === undefined) return map === undefined ? undefined : { ...map, source: "map" };
  if (map === undefined) return { ...proto, source: "proto" };
  if (showFact(key, proto.value) === showFact(key, map.value)) return { ...proto, source: "both" };
  diagnostics.error(
    "annotation-conflict",
    `${key} of ${message} is ${showFact(key, map.value)} in the sidecar but ${showFact(key, proto.value)} in the proto (${formatPosition(proto.position)})`,
    map.position,
  );
  return { ...proto, source: "proto" };
}

/** How a fact value is named in messages: Types in hex, directions and roles as in the proto. */
export function showFact(key: FactKey, value: FactValue<FactKey>): string {
  if (key === "type") {
    const type = value as TypeNumber;
    return type.kind === "integer" && type.value >= 0 ? formatType(type.value) : type.text;
  }
  if (key === "direction") return { up: "UPLINK", down: "DOWNLINK", both: "BOTH" }[value as Direction];
  if (key === "role") return (value as string).toUpperCase();
  return value as string;
}

/** How a fact is named in messages: `serial field`, `correlation field`, `Type`, ... */
function factName(key: FactKey): string {
  return key === "deviceId" ? "device id field" : FIELD_FACTS.has(key) ? `${key} field` : key;
}

function collectFromProtos(
  files: readonly ProtoFile[],
  symbols: SymbolTable,
  diagnostics: DiagnosticBag,
): Map<string, Partial1> {
  const result = new Map<string, Partial1>();
  /** `(paynet.x)` of message.field → where it was first given. */
  const fieldOptions = new Map<string, SourcePosition>();
  for (const file of files) {
    if (file.bundled || file.proto.index === undefined) continue;
    let importReported = false;
    for (const option of file.proto.index.options) {
      const match = /^\(paynet\.([^)]*)\)(.*)$/.exec(option.name);
      if (match === null) continue;
      const position = positionIn(file, option.place);
      if (!importReported && !file.proto.imports.includes(PAYNET_OPTIONS_IMPORT)) {
        importReported = true;
        diagnostics.error(
          "unresolved-option",
          `${option.name} needs \`import "${PAYNET_OPTIONS_IMPORT}";\` in ${file.displayPath}`,
          position,
        );
      }
      const name = match[1]!;
      // Size bounds are collected by bounds.ts.
      if (match[2] === "" && BOUND_OPTIONS.has(name)) continue;
      // Final reply values are collected by finals.ts.
      if (match[2] === "" && name === "final") continue;
      if (match[2] !== "" || (!MESSAGE_OPTIONS.has(name) && !FIELD_OPTIONS.has(name))) {
        diagnostics.error(
          "unknown-option",
          `unknown option ${option.name}: paynet defines (paynet.type), (paynet.direction), (paynet.reply) and (paynet.role) on messages, (paynet.correlation), (paynet.identity), (paynet.max_size) and (paynet.max_count) on fields and (paynet.final) on enum values`,
          position,
        );
        continue;
      }
      if (FIELD_OPTIONS.has(name) && option.target.kind === "field") {
        // `[(paynet.correlation) = true, (paynet.correlation) = false]`: protobufjs keeps the last one.
        const field = `${option.target.message}.${option.target.field}`;
        const key = `${name} ${field}`;
        const earlier = fieldOptions.get(key);
        if (earlier !== undefined) {
          diagnostics.error(
            "duplicate-option",
            `field ${field} already has (paynet.${name}) (${formatPosition(earlier)})`,
            position,
          );
          continue;
        }
        fieldOptions.set(key, position);
      }
      recordProtoOption(file, option, name, position, symbols, result, diagnostics);
    }
  }
  return result;
}

function recordProtoOption(
  file: ProtoFile,
  option: OptionUse,
  name: string,
  position: SourcePosition,
  symbols: SymbolTable,
  result: Map<string, Partial1>,
  diagnostics: DiagnosticBag,
): void {
  const target = option.target;
  const isMessageOption = MESSAGE_OPTIONS.has(name);
  if (isMessageOption ? target.kind !== "message" : target.kind !== "field") {
    diagnostics.error(
      "option-wrong-element",
      `${option.name} is a ${isMessageOption ? "message" : "field"} option and cannot be used on ${describeTarget(target)}`,
      position,
    );
    return;
  }
  const owner = target.kind === "message" ? target.fullName : target.kind === "field" ? target.message : "";
  const valuePosition = positionIn(file, option.value.place);
  const markInvalid = (key: FactKey): void => {
    const facts = result.get(owner) ?? {};
    result.set(owner, facts);
    facts.invalid ??= new Set();
    facts.invalid.add(key);
  };
  const wrongType = (expected: string): void => {
    // An invalid identity names no particular fact; the others do.
    if (name !== "identity") markInvalid(name as FactKey);
    diagnostics.error(
      "option-wrong-type",
      `${option.name} of ${describeTarget(target)} must be ${expected}, got ${describeValue(option.value)}`,
      valuePosition,
    );
  };
  const record = <K extends FactKey>(key: K, value: FactValue<K>): void => {
    const facts = result.get(owner) ?? {};
    result.set(owner, facts);
    const existing = facts[key];
    if (existing !== undefined) {
      const isField = FIELD_FACTS.has(key);
      const what = isField ? `a ${factName(key)}` : option.name;
      diagnostics.error(
        key === "correlation" ? "duplicate-correlation" : isField ? "duplicate-identity" : "duplicate-option",
        `message ${owner} already has ${what} (${isField ? `${String(existing.value)}, ` : ""}${formatPosition(existing.position)})`,
        position,
      );
      return;
    }
    (facts as Record<FactKey, unknown>)[key] = {
      value,
      position: FIELD_FACTS.has(key) ? position : valuePosition,
    };
  };
  const value = option.value;

  switch (name) {
    case "type": {
      const type =
        value.kind === "number"
          ? parseTypeNumber(value.text, value.negative)
          : value.kind === "ident" && /^[+-]?(inf|nan)$/.test(value.text)
            ? ({ kind: "non-integer", text: value.text } as const)
            : undefined;
      if (type === undefined) wrongType("an integer 1..255");
      else record("type", type);
      return;
    }
    case "direction": {
      const direction = value.kind === "ident" ? DIRECTION_VALUES.get(value.text) : undefined;
      if (direction === undefined) wrongType("UPLINK, DOWNLINK or BOTH");
      else if (direction !== null) record("direction", direction);
      return;
    }
    case "role": {
      const role = value.kind === "ident" ? ROLE_VALUES.get(value.text) : undefined;
      if (role === undefined) wrongType("REGISTER, LOGIN, HEARTBEAT or ERROR");
      else if (role !== null) record("role", role);
      return;
    }
    case "reply": {
      if (value.kind !== "string") {
        wrongType('a string naming the reply message, like "RegisterRsp"');
        return;
      }
      const reply = symbols.resolve(value.text, owner);
      if (reply?.kind !== "message") {
        markInvalid("reply");
        diagnostics.error(
          "reply-unknown",
          `(paynet.reply) of message ${owner} names no known message: "${value.text}"`,
          valuePosition,
        );
        return;
      }
      record("reply", reply.fullName);
      return;
    }
    case "correlation": {
      if (value.kind !== "ident" || (value.text !== "true" && value.text !== "false"))
        wrongType("true or false");
      else if (value.text === "true" && target.kind === "field") record("correlation", target.field);
      return;
    }
    case "identity": {
      const identity = value.kind === "ident" ? IDENTITY_VALUES.get(value.text) : undefined;
      if (identity === undefined) wrongType("SERIAL or DEVICE_ID");
      else if (identity !== null && target.kind === "field") record(identity, target.field);
      return;
    }
  }
}

function collectFromSidecar(
  sidecar: Sidecar,
  symbols: SymbolTable,
  scope: string,
  diagnostics: DiagnosticBag,
): Map<string, Partial1> {
  const result = new Map<string, Partial1>();
  const firstEntry = new Map<string, SourcePosition>();
  const scopeText = scope === "" ? "the root package" : `package ${scope}`;
  for (const entry of sidecar.entries) {
    const symbol = symbols.resolve(entry.name, scope);
    if (symbol?.kind !== "message") {
      diagnostics.error(
        "sidecar-unknown-message",
        `no message "${entry.name}" (looked up from ${scopeText})`,
        entry.position,
      );
      continue;
    }
    const fullName = symbol.fullName;
    const earlier = firstEntry.get(fullName);
    if (earlier !== undefined) {
      diagnostics.error(
        "sidecar-invalid",
        `${fullName} is annotated twice in the sidecar (first at ${formatPosition(earlier)})`,
        entry.position,
      );
      continue;
    }
    firstEntry.set(fullName, entry.position);
    const facts: Partial1 = entry.invalid.length === 0 ? {} : { invalid: new Set(entry.invalid) };
    const copy = <K extends FactKey>(key: K, fact: SidecarFact<FactValue<K>> | undefined): void => {
      if (fact !== undefined)
        (facts as Record<FactKey, unknown>)[key] = { value: fact.value, position: fact.position };
    };
    copy("type", entry.type);
    copy("direction", entry.direction);
    copy("role", entry.role);
    if (entry.reply !== undefined) {
      const reply = symbols.resolve(entry.reply.value, scope);
      if (reply?.kind !== "message") {
        facts.invalid ??= new Set();
        facts.invalid.add("reply");
        diagnostics.error(
          "reply-unknown",
          `reply of ${fullName} names no known message: "${entry.reply.value}"`,
          entry.reply.position,
        );
      } else facts.reply = { value: reply.fullName, position: entry.reply.position };
    }
    for (const key of ["correlation", "serial", "deviceId"] as const) {
      const fact = entry[key];
      if (fact === undefined) continue;
      // protobufjs keeps fields in a plain object: `toString` would find an inherited function.
      if (!ownFields(symbol.type).some((field) => field.name === fact.value)) {
        facts.invalid ??= new Set();
        facts.invalid.add(key);
        diagnostics.error("sidecar-unknown-field", `${fullName} has no field "${fact.value}"`, fact.position);
      } else copy(key, fact);
    }
    result.set(fullName, facts);
  }
  return result;
}

function describeTarget(target: OptionTarget): string {
  switch (target.kind) {
    case "file":
      return "the file";
    case "message":
      return `message ${target.fullName}`;
    case "field":
      return `field ${target.message}.${target.field}`;
    case "oneof":
      return `oneof ${target.message}.${target.oneof}`;
    case "enum":
      return `enum ${target.fullName}`;
    case "enum-value":
      return `enum value ${target.enumName}.${target.value}`;
    case "extension":
      return "an extension";
    case "service":
      return `service ${target.name}`;
    case "method":
      return `rpc ${target.name}`;
  }
}

function describeValue(value: OptionValue): string {
  switch (value.kind) {
    case "number":
      return (value.negative ? "-" : "") + value.text;
    case "string":
      return JSON.stringify(value.text);
    case "ident":
      return value.text;
    case "aggregate":
      return "an aggregate value";
    case "missing":
      return "nothing";
  }
}
