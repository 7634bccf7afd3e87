/** The paynet annotations given by the sidecar map, resolved against the protos' names. */
import type { FactKey, FactValue, RawFacts } from "./annotation-facts.js";
import { type DiagnosticBag, formatPosition } from "./diagnostics.js";
import { ownFields } from "./extensions.js";
import type { Sidecar, SidecarFact } from "./sidecar.js";
import type { SymbolTable } from "./symbols.js";
import type { SourcePosition } from "./types.js";

export function collectFromSidecar(
  sidecar: Sidecar,
  symbols: SymbolTable,
  scope: string,
  diagnostics: DiagnosticBag,
): Map<string, RawFacts> {
  const result = new Map<string, RawFacts>();
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
    const facts: RawFacts = entry.invalid.length === 0 ? {} : { invalid: new Set(entry.invalid) };
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
