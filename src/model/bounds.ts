/**
 * Size bounds of fields, from `[(paynet.max_size) = N]` / `[(paynet.max_count) = N]` in the protos
 * and from `fields:` in the sidecar, merged and checked: a device lays its messages out in fixed
 * buffers, so it needs a largest string/bytes value and a largest element count, and a cloud must
 * never send more than that.
 */
import protobuf from "protobufjs";
import type { DiagnosticBag } from "./diagnostics.js";
import { formatPosition } from "./diagnostics.js";
import { type ProtoFile, positionIn } from "./files.js";
import { MAX_BOUND, type Sidecar, type SidecarFact } from "./sidecar.js";
import { fieldKey, type OptionUse } from "./source-index.js";
import type { SymbolTable } from "./symbols.js";
import { parseTypeNumber } from "./type-number.js";
import type { SourcePosition } from "./types.js";

/** The bound options paynet defines on fields, by option name (a Map: `constructor` finds nothing). */
export const BOUND_OPTIONS: ReadonlyMap<string, BoundKey> = new Map([
  ["max_size", "maxSize"],
  ["max_count", "maxCount"],
]);

type BoundKey = "maxSize" | "maxCount";

/** Bounds of one field, in bytes (`maxSize`) and elements (`maxCount`). */
export interface FieldBounds {
  readonly maxSize?: number;
  readonly maxCount?: number;
}

type Located = { -readonly [K in BoundKey]?: SidecarFact<number> };

const OPTION_NAME: Record<BoundKey, string> = { maxSize: "max_size", maxCount: "max_count" };

/**
 * Collects the bounds of every field, by {@link fieldKey}. A bound on a field it cannot apply to
 * (`max_size` on a field without strings or bytes, `max_count` on a singular field), a value out
 * of 1..2^32-1, a bound given twice and a sidecar bound that contradicts the proto are reported.
 */
export function collectBounds(
  files: readonly ProtoFile[],
  symbols: SymbolTable,
  sidecar: Sidecar | undefined,
  sidecarScope: string,
  diagnostics: DiagnosticBag,
): Map<string, FieldBounds> {
  const fromProto = new Map<string, Located>();
  for (const file of files) {
    if (file.bundled || file.proto.index === undefined) continue;
    for (const option of file.proto.index.options) {
      const match = /^\(paynet\.(max_size|max_count)\)$/.exec(option.name);
      if (match === null) continue;
      recordProtoBound(file, option, BOUND_OPTIONS.get(match[1]!)!, symbols, fromProto, diagnostics);
    }
  }
  const merged = new Map<string, FieldBounds>();
  for (const [key, bounds] of fromProto) merged.set(key, valuesOf(bounds));
  if (sidecar !== undefined) mergeSidecar(sidecar, symbols, sidecarScope, fromProto, merged, diagnostics);
  return merged;
}

function recordProtoBound(
  file: ProtoFile,
  option: OptionUse,
  key: BoundKey,
  symbols: SymbolTable,
  result: Map<string, Located>,
  diagnostics: DiagnosticBag,
): void {
  const position = positionIn(file, option.place);
  const target = option.target;
  if (target.kind !== "field") {
    diagnostics.error(
      "option-wrong-element",
      `${option.name} is a field option and cannot be used on ${target.kind === "message" ? `message ${target.fullName}` : `the ${target.kind}`}`,
      position,
    );
    return;
  }
  const fieldName = `${target.message}.${target.field}`;
  const valuePosition = positionIn(file, option.value.place);
  const value = option.value;
  const parsed = value.kind === "number" ? parseTypeNumber(value.text, value.negative) : undefined;
  if (parsed?.kind !== "integer" || parsed.value < 1 || parsed.value > MAX_BOUND) {
    const shown = value.kind === "number" ? (value.negative ? "-" : "") + value.text : describeOption(option);
    diagnostics.error(
      "option-wrong-type",
      `${option.name} of field ${fieldName} must be an integer 1..${MAX_BOUND}, got ${shown}`,
      valuePosition,
    );
    return;
  }
  const field = fieldOf(symbols, target.message, target.field);
  if (field === undefined) return;
  if (!checkApplicable(field, key, fieldName, valuePosition, diagnostics)) return;
  const mapKey = fieldKey(target.message, target.field);
  const bounds = result.get(mapKey) ?? {};
  result.set(mapKey, bounds);
  const earlier = bounds[key];
  if (earlier !== undefined) {
    diagnostics.error(
      "duplicate-option",
      `field ${fieldName} already has ${option.name} (${formatPosition(earlier.position)})`,
      position,
    );
    return;
  }
  bounds[key] = { value: parsed.value, position: valuePosition };
}

function mergeSidecar(
  sidecar: Sidecar,
  symbols: SymbolTable,
  scope: string,
  fromProto: ReadonlyMap<string, Located>,
  merged: Map<string, FieldBounds>,
  diagnostics: DiagnosticBag,
): void {
  const seenMessages = new Set<string>();
  for (const entry of sidecar.entries) {
    const symbol = symbols.resolve(entry.name, scope);
    // Unknown and repeated messages are reported with the message annotations.
    if (symbol?.kind !== "message" || seenMessages.has(symbol.fullName)) continue;
    seenMessages.add(symbol.fullName);
    for (const given of entry.fields) {
      const fieldName = `${symbol.fullName}.${given.name}`;
      const field = fieldOf(symbols, symbol.fullName, given.name);
      if (field === undefined) {
        diagnostics.error(
          "sidecar-unknown-field",
          `${symbol.fullName} has no field "${given.name}"`,
          given.position,
        );
        continue;
      }
      const key = fieldKey(symbol.fullName, given.name);
      const proto = fromProto.get(key) ?? {};
      const bounds: { -readonly [K in BoundKey]?: number } = { ...merged.get(key) };
      for (const boundKey of ["maxSize", "maxCount"] as const) {
        const fact = given[boundKey];
        if (fact === undefined) continue;
        if (!checkApplicable(field, boundKey, fieldName, fact.position, diagnostics)) continue;
        const inProto = proto[boundKey];
        if (inProto !== undefined && inProto.value !== fact.value) {
          diagnostics.error(
            "annotation-conflict",
            `${OPTION_NAME[boundKey]} of ${fieldName} is ${fact.value} in the sidecar but ${inProto.value} in the proto (${formatPosition(inProto.position)})`,
            fact.position,
          );
          continue;
        }
        bounds[boundKey] = fact.value;
      }
      merged.set(key, bounds);
    }
  }
}

/** Whether bound `key` makes sense on `field`; reports `bound-not-applicable` when not. */
function checkApplicable(
  field: protobuf.Field,
  key: BoundKey,
  fieldName: string,
  position: SourcePosition,
  diagnostics: DiagnosticBag,
): boolean {
  const isMap = field instanceof protobuf.MapField;
  if (key === "maxCount") {
    if (isMap || field.repeated) return true;
    diagnostics.error(
      "bound-not-applicable",
      `max_count of ${fieldName} bounds repeated and map fields only; ${field.name} is a singular field`,
      position,
    );
    return false;
  }
  const sized = (type: string): boolean => type === "string" || type === "bytes";
  if (sized(field.type) || (isMap && sized((field as protobuf.MapField).keyType))) return true;
  diagnostics.error(
    "bound-not-applicable",
    `max_size of ${fieldName} bounds string and bytes values only; ${field.name} is of type ${isMap ? `map<${(field as protobuf.MapField).keyType}, ${field.type}>` : field.type}`,
    position,
  );
  return false;
}

function fieldOf(symbols: SymbolTable, message: string, field: string): protobuf.Field | undefined {
  const symbol = symbols.get(message);
  if (symbol?.kind !== "message" || !Object.hasOwn(symbol.type.fields, field)) return undefined;
  const found = symbol.type.fields[field];
  return found?.declaringField == null ? found : undefined;
}

function valuesOf(bounds: Located): FieldBounds {
  return {
    ...(bounds.maxSize === undefined ? {} : { maxSize: bounds.maxSize.value }),
    ...(bounds.maxCount === undefined ? {} : { maxCount: bounds.maxCount.value }),
  };
}

function describeOption(option: OptionUse): string {
  const value = option.value;
  if (value.kind === "string") return JSON.stringify(value.text);
  if (value.kind === "ident") return value.text;
  return value.kind === "aggregate" ? "an aggregate value" : "nothing";
}
