/** The facts a paynet annotation gives a message, and how messages name them. */
import type { MessageSymbol } from "./symbols.js";
import { formatType, type TypeNumber } from "./type-number.js";
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
export const FIELD_FACTS: ReadonlySet<FactKey> = new Set(["correlation", "serial", "deviceId"]);
export const FACT_KEYS: readonly FactKey[] = [
  "type",
  "direction",
  "reply",
  "role",
  "correlation",
  "serial",
  "deviceId",
];
/** The facts one source (the protos, or the sidecar) gives a message, not merged yet. */
export type RawFacts = { -readonly [K in FactKey]?: { value: FactValue<K>; position: SourcePosition } } & {
  invalid?: Set<FactKey>;
};
export type FactValue<K extends FactKey> = K extends "type"
  ? TypeNumber
  : K extends "direction"
    ? Direction
    : K extends "role"
      ? Role
      : string;

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
export function factName(key: FactKey): string {
  return key === "deviceId" ? "device id field" : FIELD_FACTS.has(key) ? `${key} field` : key;
}
