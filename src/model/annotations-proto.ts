/**
 * The paynet annotations written in the protos: `option (paynet.…)` on messages and fields, read
 * from the raw option tokens (protobufjs accepts any option value silently) and checked here:
 * right element, right value type, names that resolve.
 */
import { type FactKey, type FactValue, FIELD_FACTS, factName, type RawFacts } from "./annotation-facts.js";
import { BOUND_OPTIONS } from "./bounds.js";
import { type DiagnosticBag, formatPosition } from "./diagnostics.js";
import { type ProtoFile, positionIn } from "./files.js";
import { PAYNET_OPTIONS_IMPORT } from "./paths.js";
import type { OptionTarget, OptionUse, OptionValue } from "./source-index.js";
import type { SymbolTable } from "./symbols.js";
import { parseTypeNumber } from "./type-number.js";
import type { Direction, Role, SourcePosition } from "./types.js";

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

export function collectFromProtos(
  files: readonly ProtoFile[],
  symbols: SymbolTable,
  diagnostics: DiagnosticBag,
): Map<string, RawFacts> {
  const result = new Map<string, RawFacts>();
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
  result: Map<string, RawFacts>,
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
