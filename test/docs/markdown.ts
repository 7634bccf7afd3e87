/** The documentation files under test and the fenced code blocks in them. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Docs that must exist; `docs/*.md` and `bench/README.md` are added when present. */
const REQUIRED_DOCS = [
  "README.md",
  "EXAMPLE.md",
  "CLIENT_INTEGRATION.md",
  "runtime/README.md",
  "docs/PROTOCOL.md",
];
const OPTIONAL_DOCS = ["bench/README.md", "metrics/README.md"];

/** One fenced code block of a Markdown file. */
export interface CodeBlock {
  /** Repository-relative path of the Markdown file. */
  readonly doc: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** First word of the info string (`ts`, `sh`, ...), lower-case; `""` when there is none. */
  readonly lang: string;
  readonly body: string;
  /** The HTML comment right above the fence (`<!-- ... -->`), without the markers, if any. */
  readonly annotation: string | undefined;
}

/** Where a block is, for failure messages: `README.md:42`. */
export function where(block: Pick<CodeBlock, "doc" | "line">, offset = 0): string {
  return `${block.doc}:${block.line + offset}`;
}

/** Repository-relative paths of every documentation file checked. */
export function docFiles(): string[] {
  const docsDir = join(REPO_ROOT, "docs");
  const docsMd = existsSync(docsDir)
    ? readdirSync(docsDir)
        .filter((name) => name.endsWith(".md"))
        .map((name) => `docs/${name}`)
    : [];
  const optional = OPTIONAL_DOCS.filter((path) => existsSync(join(REPO_ROOT, path)));
  return [...new Set([...REQUIRED_DOCS, ...docsMd, ...optional])].sort();
}

/** The required docs that are missing. */
export function missingDocs(): string[] {
  return REQUIRED_DOCS.filter((path) => !existsSync(join(REPO_ROOT, path)));
}

/** Every fenced block (``` or ~~~) of `doc`, in order. */
export function extractBlocks(doc: string): CodeBlock[] {
  const text = readFileSync(join(REPO_ROOT, doc), "utf8");
  return parseBlocks(relative(REPO_ROOT, join(REPO_ROOT, doc)), text);
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*(.*)$/;
const COMMENT = /^\s*<!--\s*([\s\S]*?)\s*-->\s*$/;

/** Splits Markdown `text` into its fenced blocks (exported for the harness's own sanity checks). */
export function parseBlocks(doc: string, text: string): CodeBlock[] {
  const lines = text.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (open === null) continue;
    const fence = open[1]!;
    const lang = (open[2] ?? "").trim().split(/\s+/)[0]!.toLowerCase();
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j]!;
      const trimmed = line.trimStart();
      if (trimmed.startsWith(fence) && trimmed.slice(fence.length).trim() === "" && trimmed[0] === fence[0])
        break;
      body.push(line);
    }
    blocks.push({ doc, line: i + 1, lang, body: body.join("\n"), annotation: annotationAbove(lines, i) });
    i = j;
  }
  return blocks;
}

/** The `<!-- ... -->` comment on the last non-blank line before `fenceIndex`. */
function annotationAbove(lines: readonly string[], fenceIndex: number): string | undefined {
  for (let k = fenceIndex - 1; k >= 0; k--) {
    const line = lines[k]!;
    if (line.trim() === "") continue;
    return COMMENT.exec(line)?.[1];
  }
  return undefined;
}
