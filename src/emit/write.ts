/**
 * Puts a generated file set on disk as one unit, and compares a file set with what is on disk (for
 * `--check`). Files are rendered completely in memory before anything is written; writing goes to a
 * temporary directory next to the output directory, then each file is renamed into place, so a
 * failure never leaves a half-written file behind.
 */

import type { Dirent } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { compareCodeUnits } from "./code.js";
import { isGeneratedContent } from "./header.js";
import type { GeneratedFile } from "./types.js";

/** How a file on disk differs from the generated one. */
export type DifferenceKind = "stale" | "missing" | "extra";

export interface OutputDifference {
  /** Path relative to the output directory, `/`-separated. */
  readonly path: string;
  /**
   * `stale`: content differs; `missing`: not on disk; `extra`: a file paynet-gen generated earlier
   * (it carries the header) that the current run would not produce.
   */
  readonly kind: DifferenceKind;
}

/** What {@link writeGeneratedFiles} did to each file. */
export interface WriteResult {
  readonly written: readonly string[];
  readonly unchanged: readonly string[];
  /** Earlier generated files that the current run no longer produces; deleted. */
  readonly removed: readonly string[];
}

/**
 * Writes `files` into `outDir` (created if needed). Unchanged files are left untouched (so watchers
 * do not rebuild); generated files of an earlier run that are no longer produced are removed.
 */
export async function writeGeneratedFiles(
  outDir: string,
  files: readonly GeneratedFile[],
): Promise<WriteResult> {
  const out = resolve(outDir);
  const differences = await compareOutput(out, files);
  const changed = new Set(differences.filter((d) => d.kind !== "extra").map((d) => d.path));
  const toWrite = files.filter((file) => changed.has(file.path));
  await mkdir(out, { recursive: true });
  if (toWrite.length > 0) {
    // Same parent as the output directory: same file system, so rename is atomic.
    const staging = await mkdtemp(join(dirname(out), `.${basename(out)}.paynet-gen-`));
    try {
      for (const file of toWrite) {
        const target = join(staging, ...file.path.split("/"));
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, file.content, "utf8");
      }
      for (const file of toWrite) {
        const target = join(out, ...file.path.split("/"));
        await mkdir(dirname(target), { recursive: true });
        await rename(join(staging, ...file.path.split("/")), target);
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  const removed = differences.filter((d) => d.kind === "extra").map((d) => d.path);
  for (const path of removed) await unlink(join(out, ...path.split("/")));
  return {
    written: toWrite.map((file) => file.path),
    unchanged: files.filter((file) => !changed.has(file.path)).map((file) => file.path),
    removed,
  };
}

/** Every difference between `files` and the contents of `outDir`, sorted by path. */
export async function compareOutput(
  outDir: string,
  files: readonly GeneratedFile[],
): Promise<OutputDifference[]> {
  const out = resolve(outDir);
  const differences: OutputDifference[] = [];
  const expected = new Set<string>();
  for (const file of files) {
    expected.add(file.path);
    const onDisk = await readText(join(out, ...file.path.split("/")));
    if (onDisk === undefined) differences.push({ path: file.path, kind: "missing" });
    else if (onDisk !== file.content) differences.push({ path: file.path, kind: "stale" });
  }
  for (const path of await generatedFilesIn(out)) {
    if (!expected.has(path)) differences.push({ path, kind: "extra" });
  }
  return differences.sort((a, b) => compareCodeUnits(a.path, b.path));
}

/**
 * `--check`: one line per difference (`stale: defs.ts`, `missing: client.ts`, `extra: old.ts`), empty
 * when the output directory is up to date.
 */
export async function checkStale(outDir: string, files: readonly GeneratedFile[]): Promise<string[]> {
  return (await compareOutput(outDir, files)).map((d) => `${d.kind}: ${d.path}`);
}

/**
 * Names of the files directly in `dir` that carry the paynet-gen header. Subdirectories are not
 * searched: an SDK is flat, and another SDK generated into a subdirectory is not ours to judge.
 */
async function generatedFilesIn(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
    const content = await readText(join(dir, entry.name));
    if (content !== undefined && isGeneratedContent(content)) found.push(entry.name);
  }
  return found;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if (
      (error as NodeJS.ErrnoException).code === "ENOENT" ||
      (error as NodeJS.ErrnoException).code === "ENOTDIR"
    ) {
      return undefined;
    }
    throw error;
  }
}
