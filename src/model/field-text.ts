import type { FieldModel } from "./types.js";

/** A field's type as a .proto writes it (`string`, `repeated pkg.Item`, `map<string, int32>`), for messages. */
export function describeField(field: FieldModel): string {
  const value = field.value.kind === "scalar" ? field.value.scalar : field.value.fullName;
  if (field.mapKey !== undefined) return `map<${field.mapKey}, ${value}>`;
  return field.repeated ? `repeated ${value}` : value;
}
