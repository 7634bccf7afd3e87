/**
 * Type-checks the TypeScript blocks of the docs as one program under the repository's strict
 * options. Each block becomes a module in a scratch directory inside the repository, next to a copy
 * of the generated example SDK (`./sdk/index.js`); `@paynet/runtime` resolves through the workspace
 * package (its built `dist/`), exactly as it would for a user.
 */
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { type CodeBlock, REPO_ROOT, where } from "./markdown.js";

export const DOCS_TMP = join(REPO_ROOT, "test/.tmp/docs");
const SDK_SOURCE = join(REPO_ROOT, "examples/sdk");
const RUNTIME_TYPES = join(REPO_ROOT, "runtime/dist/index.d.ts");

/** A problem found in a block, located in its Markdown file. */
export interface BlockProblem {
  readonly location: string;
  readonly message: string;
}

/** Fails early with the fix when the runtime has not been built (the blocks import its `dist/`). */
export function assertRuntimeBuilt(): void {
  if (!existsSync(RUNTIME_TYPES)) {
    throw new Error(`${RUNTIME_TYPES} is missing: run \`npm run build\` first (npm test does)`);
  }
}

/** Module file name of a block: `readme-md-L42.ts`. */
function fileNameOf(block: CodeBlock): string {
  return `${block.doc.replace(/[^A-Za-z0-9]+/g, "-").toLowerCase()}-L${block.line}.ts`;
}

/** Writes the blocks and the SDK copy into `dir`, compiles, and returns every diagnostic. */
export function typecheckBlocks(blocks: readonly CodeBlock[], dir = DOCS_TMP): BlockProblem[] {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(SDK_SOURCE, join(dir, "sdk"), { recursive: true });
  const byFile = new Map<string, CodeBlock>();
  for (const block of blocks) {
    const file = join(dir, fileNameOf(block));
    writeFileSync(file, `${block.body}\n`);
    byFile.set(file, block);
  }

  const options = strictOptions();
  const program = ts.createProgram({ rootNames: [...byFile.keys()], options });
  const problems: BlockProblem[] = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
    const file = diagnostic.file;
    const block = file === undefined ? undefined : byFile.get(file.fileName);
    if (file === undefined || diagnostic.start === undefined) {
      problems.push({ location: "(program)", message });
    } else if (block === undefined) {
      const { line } = file.getLineAndCharacterOfPosition(diagnostic.start);
      problems.push({ location: `${file.fileName}:${line + 1}`, message });
    } else {
      const { line } = file.getLineAndCharacterOfPosition(diagnostic.start);
      // +1: the body starts on the line after the opening fence.
      problems.push({ location: where(block, line + 1), message });
    }
  }
  return problems;
}

/** `tsconfig.base.json` as the compiler sees it, without emitting anything. */
function strictOptions(): ts.CompilerOptions {
  const configPath = join(REPO_ROOT, "tsconfig.base.json");
  const read = ts.readConfigFile(configPath, ts.sys.readFile);
  if (read.error !== undefined)
    throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, "\n"));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, REPO_ROOT, undefined, configPath);
  return { ...parsed.options, noEmit: true, declaration: false, sourceMap: false };
}
