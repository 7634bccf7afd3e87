/**
 * Final replies, from `[(paynet.final) = true]` on enum values in the protos and from `enums:` in
 * the sidecar, merged and checked. A reply carrying a final value ends its request: an at-least-once
 * delivery stops redelivering on it, and nothing else ends it.
 */
import type { DiagnosticBag } from "./diagnostics.js";
import { formatPosition } from "./diagnostics.js";
import { type ProtoFile, positionIn } from "./files.js";
import type { Sidecar } from "./sidecar.js";
import type { OptionUse } from "./source-index.js";
import type { EnumSymbol, SymbolTable } from "./symbols.js";
import type { SourcePosition } from "./types.js";

/** Enum full name → names of its final values → where that was said (proto option or sidecar). */
export type EnumFinals = ReadonlyMap<string, ReadonlyMap<string, SourcePosition>>;

/** Reports every misuse and returns the final values of each enum. */
export function collectFinals(
  files: readonly ProtoFile[],
  symbols: SymbolTable,
  sidecar: Sidecar | undefined,
  sidecarScope: string,
  diagnostics: DiagnosticBag,
): EnumFinals {
  const fromProto = new Map<string, Map<string, SourcePosition>>();
  const seen = new Map<string, SourcePosition>();
  for (const file of files) {
    if (file.bundled || file.proto.index === undefined) continue;
    for (const option of file.proto.index.options) {
      if (option.name !== "(paynet.final)") continue;
      recordProtoFinal(file, option, seen, fromProto, diagnostics);
    }
  }
  const merged = new Map<string, Map<string, SourcePosition>>(fromProto);
  if (sidecar !== undefined) mergeSidecar(sidecar, symbols, sidecarScope, fromProto, merged, diagnostics);
  return merged;
}

function recordProtoFinal(
  file: ProtoFile,
  option: OptionUse,
  seen: Map<string, SourcePosition>,
  result: Map<string, Map<string, SourcePosition>>,
  diagnostics: DiagnosticBag,
): void {
  const position = positionIn(file, option.place);
  const target = option.target;
  if (target.kind !== "enum-value") {
    const where =
      target.kind === "message"
        ? `message ${target.fullName}`
        : target.kind === "field"
          ? `field ${target.message}.${target.field}`
          : target.kind === "enum"
            ? `enum ${target.fullName} (put it on its values)`
            : `the ${target.kind}`;
    diagnostics.error(
      "option-wrong-element",
      `(paynet.final) is an enum value option and cannot be used on ${where}`,
      position,
    );
    return;
  }
  const valueName = `${target.enumName}.${target.value}`;
  const earlier = seen.get(valueName);
  if (earlier !== undefined) {
    diagnostics.error(
      "duplicate-option",
      `enum value ${valueName} already has (paynet.final) (${formatPosition(earlier)})`,
      position,
    );
    return;
  }
  seen.set(valueName, position);
  const value = option.value;
  if (value.kind !== "ident" || (value.text !== "true" && value.text !== "false")) {
    diagnostics.error(
      "option-wrong-type",
      `(paynet.final) of enum value ${valueName} must be true or false, got ${value.kind === "string" ? JSON.stringify(value.text) : value.kind === "ident" || value.kind === "number" ? value.text : "nothing"}`,
      positionIn(file, value.place),
    );
    return;
  }
  if (value.text === "false") return;
  let finals = result.get(target.enumName);
  if (finals === undefined) {
    finals = new Map();
    result.set(target.enumName, finals);
  }
  finals.set(target.value, position);
}

function mergeSidecar(
  sidecar: Sidecar,
  symbols: SymbolTable,
  scope: string,
  fromProto: ReadonlyMap<string, ReadonlyMap<string, SourcePosition>>,
  merged: Map<string, Map<string, SourcePosition>>,
  diagnostics: DiagnosticBag,
): void {
  const scopeText = scope === "" ? "the root package" : `package ${scope}`;
  const first = new Map<string, SourcePosition>();
  for (const entry of sidecar.enums) {
    const symbol = symbols.resolve(entry.name, scope);
    if (symbol?.kind !== "enum") {
      diagnostics.error(
        "sidecar-unknown-enum",
        `no enum "${entry.name}" (looked up from ${scopeText})`,
        entry.position,
      );
      continue;
    }
    const earlier = first.get(symbol.fullName);
    if (earlier !== undefined) {
      diagnostics.error(
        "sidecar-invalid",
        `${symbol.fullName} is annotated twice in the sidecar (first at ${formatPosition(earlier)})`,
        entry.position,
      );
      continue;
    }
    first.set(symbol.fullName, entry.position);
    if (entry.final === undefined) continue;
    const finals = new Map<string, SourcePosition>();
    for (const value of entry.final.values) {
      if (!hasValue(symbol, value.name)) {
        diagnostics.error(
          "sidecar-unknown-value",
          `enum ${symbol.fullName} has no value "${value.name}"`,
          value.position,
        );
        continue;
      }
      finals.set(value.name, value.position);
    }
    const proto = fromProto.get(symbol.fullName);
    if (proto !== undefined && !sameNames(proto, finals)) {
      const [firstProto] = proto.values();
      diagnostics.error(
        "annotation-conflict",
        `final values of ${symbol.fullName} are ${listOf(finals)} in the sidecar but ${listOf(proto)} in the proto (${formatPosition(firstProto!)})`,
        entry.final.position,
      );
      continue;
    }
    if (proto === undefined) merged.set(symbol.fullName, finals);
  }
}

function hasValue(symbol: EnumSymbol, name: string): boolean {
  return Object.hasOwn(symbol.enumType.values, name);
}

function sameNames(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): boolean {
  return a.size === b.size && [...a.keys()].every((name) => b.has(name));
}

function listOf(values: ReadonlyMap<string, unknown>): string {
  return values.size === 0 ? "none" : [...values.keys()].join(", ");
}
