/**
 * Splices of a source text: how `types add` edits a user's .proto or sidecar file, so that every
 * byte it does not mean to change stays as it was.
 */

/** A pending splice; applied from the end of the file backwards so offsets stay valid. */
export interface Splice {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** Indentation (spaces and tabs) of the line holding `offset`, up to `offset`. */
export function lineIndent(source: string, offset: number): string {
  const lineStart = source.lastIndexOf("\n", offset - 1) + 1;
  return /^[ \t]*/.exec(source.slice(lineStart, offset))?.[0] ?? "";
}

/** `Array.prototype.findLastIndex` (ES2023, newer than the compile target's lib). */
export function lastIndexWhere<T>(
  items: readonly T[],
  predicate: (item: T, index: number) => boolean,
): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!, i)) return i;
  return -1;
}

/** `source` with `splices` (non-overlapping) applied. */
export function applySplices(source: string, splices: readonly Splice[]): string {
  const ordered = [...splices].sort((a, b) => b.start - a.start || b.end - a.end);
  let result = source;
  for (const splice of ordered)
    result = result.slice(0, splice.start) + splice.text + result.slice(splice.end);
  return result;
}
