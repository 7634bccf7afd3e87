/**
 * The paynet annotations of every message, from `option (paynet.…)` in the protos
 * (`annotations-proto.ts`) and from the sidecar map (`annotations-sidecar.ts`), merged: a fact both
 * give must be the same in both.
 */
import {
  FACT_KEYS,
  type Fact,
  type FactKey,
  type FactValue,
  type MessageAnnotation,
  type RawFacts,
  showFact,
} from "./annotation-facts.js";
import { collectFromProtos } from "./annotations-proto.js";
import { collectFromSidecar } from "./annotations-sidecar.js";
import type { DiagnosticBag } from "./diagnostics.js";
import { formatPosition } from "./diagnostics.js";
import type { ProtoFile } from "./files.js";
import type { Sidecar } from "./sidecar.js";
import type { SymbolTable } from "./symbols.js";
import type { SourcePosition } from "./types.js";

export { FACT_KEYS, type Fact, type FactKey, type MessageAnnotation, showFact } from "./annotation-facts.js";

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
      ? new Map<string, RawFacts>()
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
