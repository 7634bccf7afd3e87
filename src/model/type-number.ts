/**
 * The wire Type as written by the user (`0x01`, `1`, `1.5`, `-1`, `"abc"`), before the range check.
 */

export type TypeNumber =
  | { readonly kind: "integer"; readonly value: number; readonly text: string }
  | { readonly kind: "non-integer"; readonly text: string };

/**
 * Reads a protobuf/YAML number literal: decimal, `0x` hex, `0` octal; floats are `non-integer`.
 * Returns undefined when `text` is no number at all.
 */
export function parseTypeNumber(text: string, negative: boolean): TypeNumber | undefined {
  const sign = negative ? -1 : 1;
  const shown = negative ? `-${text}` : text;
  if (/^0[xX][0-9a-fA-F]+$/.test(text))
    return { kind: "integer", value: sign * Number.parseInt(text.slice(2), 16), text: shown };
  if (/^0[0-7]+$/.test(text))
    return { kind: "integer", value: sign * Number.parseInt(text.slice(1), 8), text: shown };
  if (/^[0-9]+$/.test(text)) return { kind: "integer", value: sign * Number.parseInt(text, 10), text: shown };
  if (/^([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][+-]?[0-9]+)?$/.test(text) || /^(inf|nan)$/i.test(text)) {
    return { kind: "non-integer", text: shown };
  }
  return undefined;
}

/** `0x01`, `0xFF`: how Types are shown in messages. */
export function formatType(type: number): string {
  return `0x${type.toString(16).toUpperCase().padStart(2, "0")}`;
}
