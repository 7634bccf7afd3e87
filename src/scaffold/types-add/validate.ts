/** The validating load of `types add`: the model loaded from edited copies of the sources. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join, relative, resolve, sep } from "node:path";
import { tokenize } from "../../model/lexer.js";
import { displayPath } from "../../model/paths.js";
import type { Diagnostic, ProtoModel, SourcePosition } from "../../model/types.js";
import { originalLines } from "../line-map.js";
import { loadProjectModel, ModelLoadError } from "../project-model.js";
import type { SourceTexts } from "./sources.js";
import type { Edit, Target } from "./types.js";

/**
 * Loads the model from the sources with `edit` applied, on temporary copies (inputs are mirrored
 * under one temporary root so imports between them still resolve; everything else is found in the
 * original directories). Diagnostics name the user's files, not the copies, and their lines are
 * those of the real files: a line the edit wrote (which the user cannot open) is shown as the
 * message's declaration, "(in the proposed annotation)".
 */
export async function validateEdit(
  texts: SourceTexts,
  edit: Edit,
  target: Target,
): Promise<{ model: ProtoModel; diagnostics: readonly Diagnostic[] }> {
  const { sources } = texts;
  const tempRoot = mkdtempSync(join(tmpdir(), "paynet-types-add-"));
  try {
    const copies = writeCopies(texts, edit, tempRoot);
    const originalDirs = [...new Set(texts.inputs.map((input) => dirname(input)))];
    const protoPaths = [
      ...originalDirs,
      ...(sources.protoPaths ?? []).map((dir) => resolve(sources.cwd, dir)),
    ];
    const fix = toUserFiles(copies.originals, edit, declarationOf(edit, target, sources.cwd), sources.cwd);
    try {
      const loaded = await loadProjectModel({
        ...sources,
        inputs: copies.inputs,
        protoPaths,
        map: copies.mapFile,
      });
      return { model: loaded.model, diagnostics: loaded.diagnostics.map(fix) };
    } catch (error) {
      if (error instanceof ModelLoadError) throw new ModelLoadError(error.diagnostics.map(fix));
      throw error;
    }
  } finally {
    rmSync(tempRoot, { recursive: true, force: true });
  }
}

interface Copies {
  /** The copies of the inputs, in order. */
  readonly inputs: string[];
  /** The map to load: the edited copy, or the user's own. */
  readonly mapFile: string | undefined;
  /** Copy → the user's file it stands for. */
  readonly originals: ReadonlyMap<string, string>;
}

/** The inputs (and an edited map) as temporary files, the edited one with the edit applied. */
function writeCopies(texts: SourceTexts, edit: Edit, tempRoot: string): Copies {
  const common = commonDirectory(texts.inputs.map((input) => dirname(input)));
  const originals = new Map<string, string>();
  const inputs: string[] = [];
  for (const input of texts.inputs) {
    const copy = join(tempRoot, "proto", relative(common, input));
    const content = edit.kind === "proto" && input === edit.file ? edit.content : texts.text(input);
    mkdirSync(dirname(copy), { recursive: true });
    // A missing input stays missing: the load reports it, under the user's name.
    if (content !== undefined) writeFileSync(copy, content);
    originals.set(copy, input);
    inputs.push(copy);
  }
  let mapFile = texts.mapFile;
  if (edit.kind === "map") {
    mapFile = join(tempRoot, `map${extname(edit.file)}`);
    writeFileSync(mapFile, edit.content);
    originals.set(mapFile, edit.file);
  }
  return { inputs, mapFile, originals };
}

/** Rewrites a diagnostic of the copies to the user's files and lines. */
function toUserFiles(
  originals: ReadonlyMap<string, string>,
  edit: Edit,
  declaration: SourcePosition,
  cwd: string,
): (diagnostic: Diagnostic) => Diagnostic {
  const shown = (path: string) => displayPath(path, cwd);
  const rename = new Map([...originals].map(([copy, original]) => [shown(copy), shown(original)]));
  const editedCopy = shown([...originals].find(([, original]) => original === edit.file)?.[0] ?? edit.file);
  const lineOf = originalLines(edit.original, edit.content);
  const editedName = shown(edit.file);
  // `file:line:col` inside a message (e.g. "used by X (UPLINK, paybox.proto:61:26)") moves too.
  const mentions = new RegExp(`${editedCopy.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+):(\\d+)`, "g");
  const fixMentions = (text: string) =>
    text.replace(mentions, (_, line: string, column: string) => {
      const mapped = lineOf(Number(line));
      return mapped === undefined
        ? `${editedName}:${declaration.line}:${declaration.column} (proposed)`
        : `${editedName}:${mapped}:${column}`;
    });
  return (d) => {
    const original = d.position === undefined ? undefined : rename.get(d.position.file);
    let message = fixMentions(d.message);
    for (const [copy, originalName] of rename) message = message.split(copy).join(originalName);
    if (original === undefined || d.position === undefined) return { ...d, message };
    if (d.position.file !== editedCopy) return { ...d, message, position: { ...d.position, file: original } };
    const line = lineOf(d.position.line);
    if (line !== undefined) return { ...d, message, position: { ...d.position, file: original, line } };
    return { ...d, message: `${message} (in the proposed annotation)`, position: declaration };
  };
}

/** Where the message is declared in the user's files (what a diagnostic on a proposed line points at). */
function declarationOf(edit: Edit, target: Target, cwd: string): SourcePosition {
  if (edit.kind === "proto") {
    const short = target.protoName.split(".").at(-1);
    const tokens = tokenize(edit.original);
    const keyword = tokens.findIndex((token, i) => token.text === "message" && tokens[i + 1]?.text === short);
    const token = tokens[keyword];
    if (token !== undefined)
      return { file: displayPath(edit.file, cwd), line: token.line, column: token.column };
  }
  if (target.message !== undefined) {
    return { ...target.message.position, file: displayPath(resolve(cwd, target.message.position.file), cwd) };
  }
  return { file: displayPath(edit.file, cwd), line: 1, column: 1 };
}

function commonDirectory(dirs: readonly string[]): string {
  let common = dirs[0] ?? process.cwd();
  for (const dir of dirs.slice(1)) {
    while (dir !== common && !dir.startsWith(common.endsWith(sep) ? common : common + sep))
      common = dirname(common);
  }
  return common;
}
