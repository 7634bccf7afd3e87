/**
 * Collecting and printing diagnostics. Every problem found while loading is a `Diagnostic` with a
 * stable `rule`; nothing throws for user errors, so one run reports all of them.
 */
import type { Diagnostic, SourcePosition } from "./types.js";

/** Accumulates the diagnostics of one `loadModel()` run. */
export class DiagnosticBag {
  readonly items: Diagnostic[] = [];

  error(rule: string, message: string, position?: SourcePosition): void {
    this.items.push(
      position === undefined
        ? { severity: "error", rule, message }
        : { severity: "error", rule, message, position },
    );
  }

  warning(rule: string, message: string, position?: SourcePosition): void {
    this.items.push(
      position === undefined
        ? { severity: "warning", rule, message }
        : { severity: "warning", rule, message, position },
    );
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === "error");
  }

  /** Diagnostics in a stable order: by file, line, column, then rule and text; unpositioned last. */
  sorted(): Diagnostic[] {
    const seen = new Set<string>();
    const unique = this.items.filter((d) => {
      const key = formatDiagnostic(d);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return unique.sort(compareDiagnostics);
  }
}

function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.position === undefined || b.position === undefined) {
    if (a.position !== b.position) return a.position === undefined ? 1 : -1;
  } else {
    const byPlace =
      compareStrings(a.position.file, b.position.file) ||
      a.position.line - b.position.line ||
      a.position.column - b.position.column;
    if (byPlace !== 0) return byPlace;
  }
  return compareStrings(a.rule, b.rule) || compareStrings(a.message, b.message);
}

/** Code-unit order, independent of the locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `file:line:col` of a position. */
export function formatPosition(position: SourcePosition): string {
  return `${position.file}:${position.line}:${position.column}`;
}

/**
 * One line per diagnostic, in the style of compilers:
 * `proto/x.proto:12:3: error [duplicate-type] …`, or `error [rule] …` when there is no position.
 */
export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.severity} [${d.rule}] ${d.message}`;
  return d.position === undefined ? head : `${formatPosition(d.position)}: ${head}`;
}
