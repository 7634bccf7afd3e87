/**
 * Source text of the size-bound checks generated encoders run before writing a bounded field
 * (`(paynet.max_size)`, `(paynet.max_count)`), so that a cloud never sends what a device refuses.
 * Strings are tested inline on their UTF-16 length first: at most `maxSize / 3` units cannot exceed
 * `maxSize` UTF-8 bytes, so the exact count is only taken for long values.
 */
import type { FieldModel, MessageModel, ValueType } from "../model/types.js";

/** Statements refusing a string or bytes `expression` over the field's `max_size` (none if unbounded). */
export function sizeCheck(
  message: MessageModel,
  field: FieldModel,
  value: ValueType,
  expression: string,
  label: string = field.protoName,
): string[] {
  const maxSize = field.maxSize;
  if (maxSize === undefined || value.kind !== "scalar") return [];
  const names = `${JSON.stringify(message.fullName)}, ${JSON.stringify(label)}`;
  if (value.scalar === "string") {
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

/** Statements refusing more than the field's `max_count` elements in `countExpression` (none if unbounded). */
export function countCheck(message: MessageModel, field: FieldModel, countExpression: string): string[] {
  const maxCount = field.maxCount;
  if (maxCount === undefined) return [];
  return [
    `if (${countExpression} > ${maxCount}) throw $pb.boundExceeded(${JSON.stringify(message.fullName)}, ${JSON.stringify(field.protoName)}, "max_count", ${maxCount}, ${countExpression});`,
  ];
}
