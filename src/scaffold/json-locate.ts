/**
 * Line and column of a place in a JSON text, so errors about a package.json point at the key or value
 * at fault (`package.json:14:14`) rather than at the file. `JSON.parse` keeps no positions and the
 * texts are small, so the place is found by walking the text again along the path.
 */

/** 1-based line and column. */
export interface TextPosition {
  readonly line: number;
  readonly column: number;
}

/** Line and column of a character offset of `text`. */
export function positionAt(text: string, offset: number): TextPosition {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, column: before.length - lineStart + 1 };
}

/**
 * Where `JSON.parse(text)` failed: the offset its message names ("… in JSON at position 42" on every
 * supported Node), else the end of the text ("Unexpected end of JSON input").
 */
export function syntaxErrorPosition(text: string, error: unknown): TextPosition {
  const match = /at position (\d+)/.exec(error instanceof Error ? error.message : "");
  return positionAt(text, match === null ? text.length : Number(match[1]));
}

/**
 * Where the value at `path` (object keys and array indexes) starts in a valid JSON `text`, or with
 * `at: "key"` where the key naming it starts. A path that leaves the document stops at the deepest
 * value it reached, so the answer is always a place in the text.
 */
export function locateJson(
  text: string,
  path: readonly (string | number)[],
  at: "value" | "key" = "value",
): TextPosition {
  let i = skipSpace(text, 0);
  let keyAt = i;
  for (const step of path) {
    const found =
      text[i] === "{" ? findMember(text, i, step) : text[i] === "[" ? findItem(text, i, step) : undefined;
    if (found === undefined) break;
    keyAt = found.key;
    i = found.value;
  }
  return positionAt(text, at === "key" ? keyAt : i);
}

/** The member `name` of the object at `open`: offsets of its key and of its value. */
function findMember(
  text: string,
  open: number,
  name: string | number,
): { key: number; value: number } | undefined {
  let i = skipSpace(text, open + 1);
  while (text[i] === '"') {
    const key = i;
    const keyEnd = skipString(text, i);
    const value = skipSpace(text, skipSpace(text, keyEnd) + 1);
    if (JSON.parse(text.slice(key, keyEnd)) === String(name)) return { key, value };
    i = skipSpace(text, skipValue(text, value));
    if (text[i] !== ",") return undefined;
    i = skipSpace(text, i + 1);
  }
  return undefined;
}

/** Item `index` of the array at `open`; its "key" is the item itself. */
function findItem(
  text: string,
  open: number,
  index: string | number,
): { key: number; value: number } | undefined {
  let i = skipSpace(text, open + 1);
  for (let n = 0; text[i] !== "]" && i < text.length; n++) {
    if (n === Number(index)) return { key: i, value: i };
    i = skipSpace(text, skipValue(text, i));
    if (text[i] !== ",") return undefined;
    i = skipSpace(text, i + 1);
  }
  return undefined;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && " \t\r\n".includes(text[i]!)) i++;
  return i;
}

/** Offset just after the string starting at `i`. */
function skipString(text: string, i: number): number {
  for (i++; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i + 1;
  }
  return i;
}

/** Offset just after the value starting at `i` (the text is valid JSON). */
function skipValue(text: string, i: number): number {
  if (text[i] === '"') return skipString(text, i);
  if (text[i] !== "{" && text[i] !== "[") {
    while (i < text.length && !",}] \t\r\n".includes(text[i]!)) i++;
    return i;
  }
  let depth = 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '"') i = skipString(text, i) - 1;
    else if (c === "{" || c === "[") depth++;
    else if ((c === "}" || c === "]") && --depth === 0) return i + 1;
  }
  return i;
}
