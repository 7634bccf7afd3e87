/**
 * The `(paynet.correlation)` marker of `types add`: set on one field of a message, taken off any
 * other field of it that had it.
 */
import { SourceEditError } from "./edit-error.js";
import type { Located, MessageBlock, Statement } from "./proto-text.js";
import { lastIndexWhere, type Splice } from "./text-splice.js";

/** Field statement (`[label] type name = number [opts];`) named `fieldName`, if any. */
function findField(block: MessageBlock, fieldName: string): Statement | undefined {
  return block.statements.find((statement) => {
    const equals = statement.tokens.findIndex((token) => token.text === "=");
    const first = statement.tokens[0]?.text;
    if (equals < 1 || first === "option" || first === "reserved" || first === "extensions") return false;
    return statement.tokens[equals - 1]?.text === fieldName;
  });
}

/** Index range of the `(paynet.correlation) = value` entry in a field's `[...]`, if present. */
function correlationEntry(tokens: readonly Located[]): { start: number; end: number } | undefined {
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]!.text !== "(") continue;
    const close = tokens.findIndex((token, j) => j > i && token.text === ")");
    const name = tokens
      .slice(i + 1, close)
      .map((token) => token.text)
      .join("")
      .replace(/^\./, "");
    if (name !== "paynet.correlation") continue;
    let end = close + 1;
    while (end < tokens.length && tokens[end]!.text !== "," && tokens[end]!.text !== "]") end++;
    return { start: i, end };
  }
  return undefined;
}

/** Marks `fieldName` as the correlation field; with another field marked before, unmarks it. */
export function correlationSplices(
  source: string,
  block: MessageBlock,
  fieldName: string | undefined,
): Splice[] {
  if (fieldName === undefined) return [];
  const field = findField(block, fieldName);
  if (field === undefined) {
    const fields = block.statements.filter(
      (s) => s.tokens.some((t) => t.text === "=") && s.tokens[0]?.text !== "option",
    );
    const names = fields
      .map((s) => s.tokens[s.tokens.findIndex((t) => t.text === "=") - 1]?.text)
      .filter(Boolean);
    throw new SourceEditError(
      "FIELD_NOT_FOUND",
      `correlation field ${fieldName} is not a field of this message (fields: ${names.join(", ") || "none"})`,
    );
  }
  const splices: Splice[] = [];
  for (const statement of block.statements) {
    if (statement === field) continue;
    const entry = correlationEntry(statement.tokens);
    if (entry !== undefined) splices.push(removeCorrelation(statement.tokens, entry));
  }
  if (correlationEntry(field.tokens) !== undefined) return splices;
  const tokens = field.tokens;
  const semicolon = tokens.at(-1)!;
  const bracket = lastIndexWhere(tokens, (token) => token.text === "]");
  if (bracket > 0 && tokens.slice(0, bracket).some((token) => token.text === "[")) {
    splices.push({
      start: tokens[bracket]!.start,
      end: tokens[bracket]!.start,
      text: ", (paynet.correlation) = true",
    });
  } else {
    const end = source.slice(0, semicolon.start).trimEnd().length;
    splices.push({ start: end, end, text: " [(paynet.correlation) = true]" });
  }
  return splices;
}

function removeCorrelation(tokens: readonly Located[], entry: { start: number; end: number }): Splice {
  const open = lastIndexWhere(tokens, (token, i) => i < entry.start && token.text === "[");
  const onlyEntry = tokens[entry.start - 1]?.text === "[" && tokens[entry.end]?.text === "]";
  if (onlyEntry) {
    // ` [(paynet.correlation) = true]` goes entirely, including the space before `[`.
    const close = tokens[entry.end]!;
    return { start: tokens[open - 1]!.end, end: close.end, text: "" };
  }
  if (tokens[entry.end]?.text === ",")
    return { start: tokens[entry.start]!.start, end: tokens[entry.end + 1]!.start, text: "" };
  return { start: tokens[entry.start - 1]!.start, end: tokens[entry.end - 1]!.end, text: "" };
}
