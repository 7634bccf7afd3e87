/**
 * Size-bound checks of generated encoders (`(paynet.max_size)`, `(paynet.max_count)`): a cloud must
 * never send a device more than the device's fixed buffers hold. Generated code does the cheap test
 * inline (a string of at most `maxSize / 3` UTF-16 units cannot exceed `maxSize` UTF-8 bytes) and
 * calls these only when a value may be too large.
 */
import { BoundExceededError } from "../errors.js";

/**
 * Throws {@link BoundExceededError} when `value` takes more than `maxSize` bytes in UTF-8.
 * @param field proto name of the field, as the error names it (`order_id`, `tags[]`, `labels{}`).
 */
export function checkStringSize(value: string, maxSize: number, messageName: string, field: string): void {
  const size = Buffer.byteLength(value, "utf8");
  if (size > maxSize) throw new BoundExceededError(messageName, field, "max_size", maxSize, size);
}

/** The error of a bytes value or element count over its bound (the caller has compared already). */
export function boundExceeded(
  messageName: string,
  field: string,
  bound: "max_size" | "max_count",
  limit: number,
  actual: number,
): BoundExceededError {
  return new BoundExceededError(messageName, field, bound, limit, actual);
}

/**
 * `text` cut to at most `maxSize` UTF-8 bytes, never inside a character: how runtime texts (error
 * messages) are fitted into a bounded string field.
 */
export function truncateUtf8(text: string, maxSize: number): string {
  if (text.length * 3 <= maxSize) return text;
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxSize) return text;
  let end = maxSize;
  // Back up over continuation bytes (10xxxxxx) to the start of the character cut in two.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end).toString("utf8");
}
