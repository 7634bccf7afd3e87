/**
 * Source text of the size-bound checks generated encoders run for a bounded field
 * (`(paynet.max_size)`, `(paynet.max_count)`), so that a cloud never sends what a device refuses.
 * A bounded string value is written with the writer's `boundedString`, which checks the UTF-8 size
 * it has just written (one pass over the string, not a count and then a write). A string map key is
 * checked before it is written: on its UTF-16 length first (at most `maxSize / 3` units cannot
 * exceed `maxSize` UTF-8 bytes), the exact count only for long keys.
 */
import type { FieldModel, MessageModel, ValueType } from "../model/types.js";

/**
 * Statements refusing a bytes `expression` (or, with `stringKey`, a string map key) over the field's
 * `max_size` (none if unbounded). String values carry their bound in the write: {@link stringBound}.
 */
export function sizeCheck(
  message: MessageModel,
  field: FieldModel,
  value: ValueType,
  expression: string,
  stringKey = false,
): string[] {
  const maxSize = field.maxSize;
  if (maxSize === undefined || value.kind !== "scalar") return [];
  const names = `${JSON.stringify(message.fullName)}, ${JSON.stringify(field.protoName)}`;
  if (value.scalar === "string") {
    if (!stringKey) return [];
    return [
      `if (${expression}.length > ${Math.floor(maxSize / 3)}) $pb.checkStringSize(${expression}, ${maxSize}, ${names});`,
    ];
  }
  if (value.scalar === "bytes") {
    return [
      `if (${expression}.length > ${maxSize}) throw $pb.boundExceeded(${names}, "max_size", ${maxSize}, ${expression}.length);`,
    ];
  }
  return [];
}

/**
 * The arguments after the value of `w.boundedString(value, …)` for a string value of a field with
 * `max_size` (`64, "paybox.QueryRsp", "order_id"`), or `undefined` when the value is no bounded string.
 */
export function stringBound(message: MessageModel, field: FieldModel, value: ValueType): string | undefined {
  if (field.maxSize === undefined || value.kind !== "scalar" || value.scalar !== "string") return undefined;
  return `${field.maxSize}, ${JSON.stringify(message.fullName)}, ${JSON.stringify(field.protoName)}`;
}

/** Statements refusing more than the field's `max_count` elements in `countExpression` (none if unbounded). */
export function countCheck(message: MessageModel, field: FieldModel, countExpression: string): string[] {
  const maxCount = field.maxCount;
  if (maxCount === undefined) return [];
  return [
    `if (${countExpression} > ${maxCount}) throw $pb.boundExceeded(${JSON.stringify(message.fullName)}, ${JSON.stringify(field.protoName)}, "max_count", ${maxCount}, ${countExpression});`,
  ];
}
