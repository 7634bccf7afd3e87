/**
 * Shell blocks of the docs, turned into commands: continuation lines joined, comments dropped,
 * `a && b` split, words unquoted. Only a small, known vocabulary is accepted (see the test).
 */
import type { CodeBlock } from "./markdown.js";

/** One command of a shell block. */
export interface ShellCommand {
  /** Line inside the block (0-based) where the command starts. */
  readonly offset: number;
  /** The command as written (after joining continuation lines). */
  readonly text: string;
  readonly words: readonly string[];
}

/**
 * Commands of a `sh`/`bash` block (every line is a command) or a `console` block (only `$ ` lines
 * are commands; the others are output).
 */
export function commandsOf(block: CodeBlock): ShellCommand[] {
  const lines = block.body.split("\n");
  const commands: ShellCommand[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (block.lang === "console") {
      if (!line.startsWith("$ ")) continue;
      line = line.slice(2);
    }
    const start = i;
    while (line.endsWith("\\") && i + 1 < lines.length) {
      i++;
      line = `${line.slice(0, -1)} ${lines[i]!.trim()}`;
    }
    const words = splitWords(line);
    let current: string[] = [];
    for (const word of words) {
      if (word === "&&") {
        if (current.length > 0) commands.push({ offset: start, text: current.join(" "), words: current });
        current = [];
      } else current.push(word);
    }
    if (current.length > 0) commands.push({ offset: start, text: current.join(" "), words: current });
  }
  return commands;
}

/**
 * Shell-style words: single and double quotes group, `#` at a word start begins a comment, `&&` is
 * its own word. Anything fancier (pipes, redirections, `$(...)`) is left as words and then refused
 * by the vocabulary check, which is the point: docs keep to commands a test can check.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else word += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
      continue;
    }
    if (ch === " " || ch === "\t") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      continue;
    }
    if (ch === "#" && !inWord) break;
    if (ch === "&" && line[i + 1] === "&" && !inWord) {
      words.push("&&");
      i++;
      continue;
    }
    word += ch;
    inWord = true;
  }
  if (quote !== undefined) throw new Error(`unterminated ${quote} quote in: ${line}`);
  if (inWord) words.push(word);
  return words;
}
