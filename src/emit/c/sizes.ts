/**
 * Largest encoded sizes, in bytes, of bounded messages: what a device's receive and send buffers
 * and its command record must hold. Every string, bytes, repeated and map field is bounded (the C
 * target checks that first) and no message contains itself, so each size is finite.
 */
import type { FieldModel, MessageModel, ScalarType, ValueType } from "../../model/types.js";

/** Bytes of a varint of value v (v ≥ 0, exact for values up to 2^53). */
export function varintSize(v: number): number {
  let size = 1;
  let rest = v;
  while (rest >= 128) {
    rest = Math.floor(rest / 128);
    size += 1;
  }
  return size;
}

function tagSize(fieldNumber: number): number {
  return varintSize(fieldNumber * 8);
}

const SCALAR_MAX: Readonly<Partial<Record<ScalarType, number>>> = {
  double: 8,
  float: 4,
  // Negative int32 values are sign-extended to ten bytes on the wire.
  int32: 10,
  uint32: 5,
  sint32: 5,
  fixed32: 4,
  sfixed32: 4,
  int64: 10,
  uint64: 10,
  sint64: 10,
  fixed64: 8,
  sfixed64: 8,
  bool: 1,
};

export class SizeTable {
  readonly #messages: ReadonlyMap<string, MessageModel>;
  readonly #cache = new Map<string, number>();

  constructor(messages: readonly MessageModel[]) {
    this.#messages = new Map(messages.map((message) => [message.fullName, message]));
  }

  message(fullName: string): MessageModel {
    const found = this.#messages.get(fullName);
    if (found === undefined) throw new Error(`internal: unknown message ${fullName}`);
    return found;
  }

  /** Largest encoded size of a message (its payload, without a length prefix). */
  maxSize(fullName: string): number {
    const cached = this.#cache.get(fullName);
    if (cached !== undefined) return cached;
    const message = this.message(fullName);
    let total = 0;
    const oneofMax = new Map<string, number>();
    for (const field of message.fields) {
      const size = this.fieldMax(field);
      if (field.oneof === undefined) total += size;
      else oneofMax.set(field.oneof, Math.max(oneofMax.get(field.oneof) ?? 0, size));
    }
    for (const size of oneofMax.values()) total += size;
    this.#cache.set(fullName, total);
    return total;
  }

  /** Largest bytes one field takes, tags included. */
  fieldMax(field: FieldModel): number {
    const tag = tagSize(field.number);
    if (field.mapKey !== undefined) {
      const entry =
        1 +
        this.valueMax({ kind: "scalar", scalar: field.mapKey }, field) +
        1 +
        this.valueMax(field.value, field);
      return (field.maxCount ?? 0) * (tag + varintSize(entry) + entry);
    }
    const element = this.valueMax(field.value, field);
    if (!field.repeated) return tag + element;
    const count = field.maxCount ?? 0;
    if (field.packed) {
      const payload = count * element;
      return count === 0 ? 0 : tag + varintSize(payload) + payload;
    }
    return count * (tag + element);
  }

  /** Largest bytes of one value (length prefix included for length-delimited ones). */
  valueMax(value: ValueType, field: FieldModel): number {
    if (value.kind === "enum") return 10;
    if (value.kind === "message") {
      const size = this.maxSize(value.fullName);
      return varintSize(size) + size;
    }
    const fixed = SCALAR_MAX[value.scalar];
    if (fixed !== undefined) return fixed;
    const max = field.maxSize ?? 0;
    return varintSize(max) + max;
  }
}
