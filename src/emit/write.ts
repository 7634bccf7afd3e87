/**
 * Puts a generated file set on disk as one unit, and compares a file set with what is on disk (for
 * `--check`). Files are rendered completely in memory before anything is written.
 *
 * Writing stages the complete new output directory next to the old one (same file system): the new
 * files are written there, the files that stay (unchanged generated files, the user's own files) are
 * hard-linked in, then the directories are swapped by two renames (`out` → `out.old-…`, staged →
 * `out`) and the old one is removed; if the second rename fails the old directory is renamed back.
 * Readers see either the whole old or the whole new output, never a mix (between the two renames
 * `out` is briefly absent). When the output directory has subdirectories or other non-file entries,
 * is a symbolic link, or cannot be renamed or hard-linked, the files are instead renamed into place
 * one by one from a staging directory: each file is replaced atomically, but a crash in the middle
 * can leave a mix of old and new files (run the command again).
 */

import { randomBytes } from "node:crypto";
import type { Dirent, Stats } from "node:fs";
import {
  chmod,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from "node:fs/promises";
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
  /** `swap`: the output directory was replaced as a whole; `per-file`: files were renamed one by one. */
  readonly mode: "swap" | "per-file" | "none";
}

/**
 * The output directory cannot hold the SDK: it is a file, or a generated file's path is taken by a
 * directory or another non-file entry. Nothing has been written when this is thrown.
 */
export class OutputPathError extends Error {
  readonly code = "output-path";
  constructor(
    message: string,
    /** The offending absolute path. */
    readonly path: string,
  ) {
    super(message);
    this.name = "OutputPathError";
  }
}

/**
 * Writes `files` into `outDir` (created if needed). Unchanged files are left untouched (so watchers
 * do not rebuild; nothing at all happens when everything is up to date); generated files of an
 * earlier run that are no longer produced are removed. Rejects with {@link OutputPathError} before
 * writing anything when the output path cannot hold the files.
 */
export async function writeGeneratedFiles(
  outDir: string,
  files: readonly GeneratedFile[],
): Promise<WriteResult> {
  const out = resolve(outDir);
  const differences = await compareOutput(out, files);
  const changed = new Set(differences.filter((d) => d.kind !== "extra").map((d) => d.path));
  const toWrite = files.filter((file) => changed.has(file.path));
  const removed = differences.filter((d) => d.kind === "extra").map((d) => d.path);
  const result = {
    written: toWrite.map((file) => file.path),
    unchanged: files.filter((file) => !changed.has(file.path)).map((file) => file.path),
    removed,
  };
  if (toWrite.length === 0 && removed.length === 0) return { ...result, mode: "none" };
  await mkdir(dirname(out), { recursive: true });
  const swapped = await swapInNewDirectory(out, toWrite, new Set(removed));
  if (swapped) return { ...result, mode: "swap" };
  await writeFileByFile(out, toWrite, removed);
  return { ...result, mode: "per-file" };
}

/**
 * Stages the complete new output next to `out` and swaps the directories. Resolves false, having
 * changed nothing, when `out` is not a plain directory of plain files or cannot be linked or renamed.
 */
async function swapInNewDirectory(
  out: string,
  toWrite: readonly GeneratedFile[],
  removed: ReadonlySet<string>,
): Promise<boolean> {
  const existing = await lstatOrUndefined(out);
  if (existing !== undefined && !existing.isDirectory()) return false;
  const kept: string[] = [];
  if (existing !== undefined) {
    const written = new Set(toWrite.map((file) => file.path));
    for (const entry of await readdir(out, { withFileTypes: true })) {
      if (!entry.isFile()) return false;
      if (!written.has(entry.name) && !removed.has(entry.name)) kept.push(entry.name);
    }
  }
  const suffix = randomBytes(6).toString("hex");
  const staged = join(dirname(out), `.${basename(out)}.paynet-gen-${suffix}`);
  // mkdir (not mkdtemp, which makes 0700): a new output directory gets the usual umask-based mode.
  await mkdir(staged);
  try {
    if (existing !== undefined) await chmod(staged, existing.mode & 0o7777);
    for (const name of kept) await link(join(out, name), join(staged, name));
    for (const file of toWrite) {
      const target = join(staged, ...file.path.split("/"));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, file.content, "utf8");
    }
  } catch (error) {
    await rm(staged, { recursive: true, force: true });
    if (isFallbackCondition(error)) return false;
    throw error;
  }
  if (existing === undefined) {
    await rename(staged, out).catch(async (error: unknown) => {
      await rm(staged, { recursive: true, force: true });
      throw error;
    });
    return true;
  }
  const old = join(dirname(out), `.${basename(out)}.old-${suffix}`);
  try {
    await rename(out, old);
  } catch (error) {
    await rm(staged, { recursive: true, force: true });
    if (isFallbackCondition(error)) return false;
    throw error;
  }
  try {
    await rename(staged, out);
  } catch (error) {
    await rename(old, out);
    await rm(staged, { recursive: true, force: true });
    throw error;
  }
  await rm(old, { recursive: true, force: true });
  return true;
}

/** Errors that mean "this file system or directory cannot be swapped", not "the disk is broken". */
function isFallbackCondition(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (
    code === "EPERM" ||
    code === "EXDEV" ||
    code === "EBUSY" ||
    code === "EACCES" ||
    code === "ENOTSUP" ||
    code === "EMLINK"
  );
}

/** The fallback: each changed file is renamed into place from a staging directory, one at a time. */
async function writeFileByFile(
  out: string,
  toWrite: readonly GeneratedFile[],
  removed: readonly string[],
): Promise<void> {
  await mkdir(out, { recursive: true });
  if (toWrite.length > 0) {
    // Same parent as the output directory: same file system, so each rename is atomic.
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
  for (const path of removed) await unlink(join(out, ...path.split("/")));
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Every difference between `files` and the contents of `outDir`, sorted by path. */
export async function compareOutput(
  outDir: string,
  files: readonly GeneratedFile[],
): Promise<OutputDifference[]> {
  const out = resolve(outDir);
  await assertOutputPaths(out, files);
  const differences: OutputDifference[] = [];
  const expected = new Set<string>();
  for (const file of files) {
    expected.add(file.path);
    const onDisk = await readText(join(out, ...file.path.split("/")));
    if (onDisk === undefined) differences.push({ path: file.path, kind: "missing" });
    else if (onDisk !== file.content) differences.push({ path: file.path, kind: "stale" });
  }
  for (const path of await generatedFilesIn(out, expected)) {
    differences.push({ path, kind: "extra" });
  }
  return differences.sort((a, b) => compareCodeUnits(a.path, b.path));
}

/** Rejects when `out` is not a directory or a generated file's path is taken by something else. */
async function assertOutputPaths(out: string, files: readonly GeneratedFile[]): Promise<void> {
  const dir = await statOrUndefined(out);
  if (dir === undefined) return;
  if (!dir.isDirectory()) {
    throw new OutputPathError(`output path ${out} exists and is not a directory; choose another --out`, out);
  }
  for (const file of files) {
    const target = join(out, ...file.path.split("/"));
    const entry = await statOrUndefined(target);
    if (entry !== undefined && !entry.isFile()) {
      const what = entry.isDirectory() ? "a directory" : "not a regular file";
      throw new OutputPathError(
        `cannot write ${target}: it is ${what}; remove it or choose another --out`,
        target,
      );
    }
  }
}

/** `stat` (following symbolic links), undefined when nothing is there. */
async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}

/**
 * `--check`: one line per difference (`stale: defs.ts`, `missing: client.ts`, `extra: old.ts`), empty
 * when the output directory is up to date.
 */
export async function checkStale(outDir: string, files: readonly GeneratedFile[]): Promise<string[]> {
  return (await compareOutput(outDir, files)).map((d) => `${d.kind}: ${d.path}`);
}

/**
 * Names of the files directly in `dir`, other than `skip` (already read), that carry the paynet-gen
 * header. Subdirectories are not searched: an SDK is flat, and another SDK generated into a
 * subdirectory is not ours to judge.
 */
async function generatedFilesIn(dir: string, skip: ReadonlySet<string>): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith(".ts") || skip.has(entry.name)) continue;
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
