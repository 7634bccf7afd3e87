/** Small helpers for building TypeScript source fragments deterministically. */

/** Sorted, de-duplicated, comma-separated names for an import clause. */
export function importList(names: Iterable<string>): string {
  return [...new Set(names)].sort(compareCodeUnits).join(", ");
}

/** Locale-independent ordering, so output does not depend on the machine's locale. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Collapses the blank lines template blocks leave behind: at most one blank line, one final newline. */
export function tidy(content: string): string {
  return `${content.replace(/\n{3,}/g, "\n\n").trimEnd()}\n`;
}
