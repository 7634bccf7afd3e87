/**
 * A light tokenizer for .proto sources. protobufjs keeps no positions, so the position index is
 * built from these tokens; comments are skipped (protobufjs extracts them itself).
 */

export type TokenKind = "ident" | "number" | "string" | "punct";

export interface Token {
  readonly kind: TokenKind;
  /** Source text; for strings the decoded contents. */
  readonly text: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based, in UTF-16 code units. */
  readonly column: number;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
const NUMBER_BODY = /[A-Za-z0-9_.]/;

/**
 * Splits `source` into tokens. Never throws: an unterminated string or comment just ends the token
 * stream (protobufjs reports the syntax error; this lexer only serves positions).
 */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = source.length;

  while (i < n) {
    const c = source[i]!;
    if (c === "\n") {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v") {
      i++;
      continue;
    }
    if (c === "/" && source[i + 1] === "/") {
      while (i < n && source[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && source[i + 1] === "*") {
      i += 2;
      while (i < n && !(source[i] === "*" && source[i + 1] === "/")) {
        if (source[i] === "\n") {
          line++;
          lineStart = i + 1;
        }
        i++;
      }
      i += 2;
      continue;
    }
    const column = i - lineStart + 1;
    if (IDENT_START.test(c)) {
      const start = i;
      while (i < n && IDENT_PART.test(source[i]!)) i++;
      tokens.push({ kind: "ident", text: source.slice(start, i), line, column });
      continue;
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(source[i + 1] ?? ""))) {
      const start = i;
      while (i < n) {
        const ch = source[i]!;
        const exponentSign =
          (ch === "+" || ch === "-") &&
          /[eE]/.test(source[i - 1] ?? "") &&
          !/^0[xX]/.test(source.slice(start, i));
        if (!NUMBER_BODY.test(ch) && !exponentSign) break;
        i++;
      }
      tokens.push({ kind: "number", text: source.slice(start, i), line, column });
      continue;
    }
    if (c === '"' || c === "'") {
      const { value, end, newlines, lastNewline } = readString(source, i);
      tokens.push({ kind: "string", text: value, line, column });
      if (newlines > 0) {
        line += newlines;
        lineStart = lastNewline + 1;
      }
      i = end;
      continue;
    }
    tokens.push({ kind: "punct", text: c, line, column });
    i++;
  }
  return tokens;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  n: "\n",
  r: "\r",
  t: "\t",
  b: "\b",
  f: "\f",
  v: "\v",
  a: "\x07",
  "\\": "\\",
  "'": "'",
  '"': '"',
  "?": "?",
};

function readString(
  source: string,
  start: number,
): { value: string; end: number; newlines: number; lastNewline: number } {
  const quote = source[start]!;
  let i = start + 1;
  let value = "";
  let newlines = 0;
  let lastNewline = -1;
  while (i < source.length && source[i] !== quote) {
    const ch = source[i]!;
    if (ch === "\n") {
      // Unterminated string: stop at the line end like protoc does.
      newlines++;
      lastNewline = i;
      return { value, end: i + 1, newlines, lastNewline };
    }
    if (ch === "\\" && i + 1 < source.length) {
      const next = source[i + 1]!;
      const simple = SIMPLE_ESCAPES[next];
      if (simple !== undefined) {
        value += simple;
        i += 2;
        continue;
      }
      const hex = /^[xX]([0-9a-fA-F]{1,2})/.exec(source.slice(i + 1, i + 4));
      if (hex) {
        value += String.fromCharCode(Number.parseInt(hex[1]!, 16));
        i += 1 + hex[0].length;
        continue;
      }
      const octal = /^[0-7]{1,3}/.exec(source.slice(i + 1, i + 4));
      if (octal) {
        value += String.fromCharCode(Number.parseInt(octal[0], 8));
        i += 1 + octal[0].length;
        continue;
      }
      value += next;
      i += 2;
      continue;
    }
    value += ch;
    i++;
  }
  return { value, end: i + 1, newlines, lastNewline };
}
