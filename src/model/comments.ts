/**
 * Proto comments as the model carries them: trimmed, trailing spaces removed, and safe to put
 * inside a JSDoc block (`*\/` cannot close it early).
 */
export function normalizeComment(comment: string | null | undefined): string | undefined {
  if (comment === null || comment === undefined) return undefined;
  const text = comment
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .join("\n")
    .trim()
    .replace(/\*\//g, "*\\/");
  return text === "" ? undefined : text;
}
