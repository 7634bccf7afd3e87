/**
 * A private, consistent copy of the `paynet-gen` package for CLI tests: the sources transpiled into
 * a temporary package next to copies of `package.json` and `bin/run.js` (templates, protos and
 * node_modules linked from the repository). Spawning the repository's own `bin/run.js` runs whatever
 * `dist/` holds at that moment, which a concurrent `npm run build` (or a `tsc` in another terminal)
 * may be rewriting file by file, or may have compiled from other sources: that made CLI tests flaky.
 * Types are not checked here (`npm run build` and the type-check tests do that).
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { REPO_ROOT } from "./sdk-harness.js";

export interface PrivateCli {
  /** Absolute path of the copied `bin/run.js`. */
  readonly bin: string;
  /** Removes the temporary package. */
  remove(): Promise<void>;
}

/** Transpiles `src/` into a fresh temporary package and returns its bin. */
export async function buildPrivateCli(): Promise<PrivateCli> {
  const root = await mkdtemp(join(tmpdir(), "paynet-gen-cli-"));
  try {
    await copyInto(root, "package.json");
    await copyInto(root, join("bin", "run.js"));
    for (const linked of ["node_modules", "templates", "proto"]) {
      await symlink(join(REPO_ROOT, linked), join(root, linked), "dir");
    }
    const src = join(REPO_ROOT, "src");
    for (const file of await sourceFiles(src)) {
      const output = ts.transpileModule(await readFile(file, "utf8"), {
        fileName: file,
        compilerOptions: {
          target: ts.ScriptTarget.ES2022,
          module: ts.ModuleKind.ESNext,
          verbatimModuleSyntax: true,
          isolatedModules: true,
        },
      }).outputText;
      const target = join(root, "dist", relative(src, file)).replace(/\.ts$/, ".js");
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, output);
    }
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  return { bin: join(root, "bin", "run.js"), remove: () => rm(root, { recursive: true, force: true }) };
}

async function copyInto(root: string, path: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await copyFile(join(REPO_ROOT, path), join(root, path));
}

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) files.push(path);
  }
  return files;
}
