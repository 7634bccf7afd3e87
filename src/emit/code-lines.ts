/** Statement-level helpers for generated code held as lines. */

/** `head statement;` for one statement, else `head { … }`. */
export function guarded(head: string, statements: readonly string[]): string[] {
  if (statements.length === 1) return [`${head} ${statements[0]}`];
  return [`${head} {`, ...indent(statements, 1), "}"];
}

/** `push` statements run for each element of a packed run ending at `n`. */
export function wrapLoop(push: readonly string[]): string[] {
  if (push.length === 1) return [`while (r.pos < n) ${push[0]}`];
  return ["while (r.pos < n) {", ...indent(push, 1), "}"];
}

export function indent(lines: readonly string[], depth: number): string[] {
  const pad = "  ".repeat(depth);
  return lines.map((line) => (line === "" ? line : `${pad}${line}`));
}
