/**
 * `paynet-gen types add`: annotates one message in its .proto (or in the sidecar map), after checking
 * the edited sources exactly as `generate` would. The edit is validated on temporary copies; the
 * user's file is written (atomically) only when the whole model still loads without errors.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, extname, join, relative, resolve, sep } from "node:path";
import { isMap, parseDocument } from "yaml";
import { type AnnotationSpec, annotateProto, SourceEditError } from "../model/edit.js";
import { tokenize } from "../model/lexer.js";
import { displayPath, PAYNET_PROTO_DIR } from "../model/paths.js";
import { annotateSidecar, SidecarEditError } from "../model/sidecar-edit.js";
import type { Diagnostic, ProtoModel } from "../model/types.js";
import { ScaffoldError } from "./errors.js";
import { didYouMean } from "./names.js";
import { findMessage, loadProjectModel, ModelLoadError, type ModelSources } from "./project-model.js";
import { type TypeRow, typeRows } from "./type-table.js";

export interface TypesAddOptions {
  readonly sources: ModelSources;
  readonly message: string;
  readonly spec: AnnotationSpec;
  /** Edit the sidecar map (`sources.map`) instead of the .proto defining the message. */
  readonly target: "proto" | "map";
  readonly force?: boolean;
}

export interface TypesAddResult {
  /** The file written (absolute). */
  readonly file: string;
  /** The message's row in the new Type table. */
  readonly row: TypeRow;
  /** Warnings of the validating load. */
  readonly warnings: readonly Diagnostic[];
}

/** Parses `--type`: `0x40`, `64`, `0X4a`. */
export function parseTypeFlag(text: string): number {
  const trimmed = text.trim();
  const value = /^0[xX][0-9a-fA-F]+$/.test(trimmed)
    ? Number.parseInt(trimmed.slice(2), 16)
    : /^[0-9]+$/.test(trimmed)
      ? Number(trimmed)
      : Number.NaN;
  if (!Number.isInteger(value) || value < 1 || value > 255) {
    throw new ScaffoldError(
      "INVALID_ANNOTATION",
      `--type must be 1..255, in hex (0x40) or decimal (64); got "${text}"`,
    );
  }
  return value;
}

export async function typesAdd(options: TypesAddOptions): Promise<TypesAddResult> {
  const target = await locateTarget(options);
  const edit =
    options.target === "map"
      ? editSidecar(options, target.sidecarName)
      : editProto(options, target.file, target.protoName);
  const { model: edited, diagnostics } = await validateEdit(options.sources, edit);
  const row = typeRows(edited).find(
    (candidate) => candidate.fullName === target.fullName || candidate.message === target.fullName,
  );
  if (row === undefined) {
    throw new ScaffoldError("VALIDATION_FAILED", `${options.message} is still not annotated after the edit`);
  }
  const temporary = join(dirname(edit.file), `.${basename(edit.file)}.${process.pid}.tmp`);
  writeFileSync(temporary, edit.content);
  renameSync(temporary, edit.file);
  return { file: edit.file, row, warnings: diagnostics.filter((d) => d.severity === "warning") };
}

interface Edit {
  /** The file to change (absolute). */
  readonly file: string;
  readonly content: string;
  readonly kind: "proto" | "map";
}

/** The message to annotate: where it is defined and how the edits name it. */
interface Target {
  /** `paybox.CoinAck` when known from the model, else the name as given. */
  readonly fullName: string;
  /** The defining .proto (absolute), when known. */
  readonly file: string | undefined;
  /** Name for `annotateProto` (full or package-relative). */
  readonly protoName: string;
  /** Key of the entry in the sidecar map. */
  readonly sidecarName: string;
}

/**
 * Finds the message in the current model. When the current sources do not load (an annotation
 * still missing may be exactly what this run adds), it is looked up in the input files' text
 * instead, and only the edited result has to validate.
 */
async function locateTarget(options: TypesAddOptions): Promise<Target> {
  const { sources } = options;
  let model: ProtoModel;
  try {
    ({ model } = await loadProjectModel(sources));
  } catch (error) {
    if (!(error instanceof ModelLoadError)) throw error;
    return locateInText(options, error);
  }
  const message = findMessage(model, options.message);
  const current = model.wire.find((entry) => entry.message.fullName === message.fullName);
  if (current !== undefined && options.force !== true) {
    const hex = `0x${current.wire.type.toString(16).toUpperCase().padStart(2, "0")}`;
    const where = current.wire.source === "map" ? "map" : "proto";
    throw new ScaffoldError(
      "ALREADY_ANNOTATED",
      `${message.tsName} is already annotated (Type ${hex}, ${current.wire.direction}, in the ${where}); use --force to replace the annotation`,
    );
  }
  const file = resolve(sources.cwd, message.position.file);
  if (options.target === "proto") {
    const inputs = sources.inputs.map((input) => resolve(sources.cwd, input));
    if (file.startsWith(PAYNET_PROTO_DIR + sep) || !existsSync(file)) {
      throw new ScaffoldError(
        "MESSAGE_NOT_IN_SOURCE",
        `${message.fullName} is defined in ${message.position.file}, which cannot be edited`,
      );
    }
    if (!inputs.includes(file)) {
      throw new ScaffoldError(
        "MESSAGE_NOT_IN_SOURCE",
        `${message.fullName} is defined in ${message.position.file}, which is imported, not an input: pass it with --proto ${message.position.file}`,
      );
    }
  }
  // Names in the map are relative to its `package` (default: the first input's package).
  const mapFile = sources.map === undefined ? undefined : resolve(sources.cwd, sources.map);
  const mapSource = mapFile !== undefined && existsSync(mapFile) ? readFileSync(mapFile, "utf8") : "";
  const scope = sidecarPackage(mapSource) ?? firstInputPackage(model);
  const sidecarName =
    scope !== undefined && message.packageName === scope
      ? message.fullName.slice(scope.length + 1)
      : message.fullName;
  return { fullName: message.fullName, file, protoName: message.fullName, sidecarName };
}

function locateInText(options: TypesAddOptions, loadError: ModelLoadError): Target {
  const name = options.message.replace(/^\./, "");
  if (options.target === "map")
    return { fullName: name, file: undefined, protoName: name, sidecarName: name };
  for (const input of options.sources.inputs) {
    const file = resolve(options.sources.cwd, input);
    if (!existsSync(file)) continue;
    try {
      annotateProto(readFileSync(file, "utf8"), name, options.spec, { force: true });
      return { fullName: name, file, protoName: name, sidecarName: name };
    } catch (error) {
      if (!(error instanceof SourceEditError && error.code === "MESSAGE_NOT_IN_SOURCE")) break;
    }
  }
  const names = messageNamesInText(options.sources);
  if (!names.includes(name.split(".").at(-1) ?? name)) {
    throw new ScaffoldError(
      "UNKNOWN_MESSAGE",
      `unknown message ${options.message}.${didYouMean(name, names)}`,
    );
  }
  // Defined, but not where it can be edited: the load's own diagnostics explain the state of the sources.
  throw loadError;
}

/** Names following `message` in the input files (for "did you mean" when the model does not load). */
function messageNamesInText(sources: ModelSources): string[] {
  const names: string[] = [];
  for (const input of sources.inputs) {
    const file = resolve(sources.cwd, input);
    if (!existsSync(file)) continue;
    const tokens = tokenize(readFileSync(file, "utf8"));
    tokens.forEach((token, i) => {
      const next = tokens[i + 1];
      if (token.text === "message" && next?.kind === "ident") names.push(next.text);
    });
  }
  return names;
}

function translateEditError(error: unknown): never {
  if (error instanceof SourceEditError || error instanceof SidecarEditError) {
    const code =
      error.code === "ALREADY_ANNOTATED"
        ? "ALREADY_ANNOTATED"
        : error.code === "MESSAGE_NOT_IN_SOURCE"
          ? "MESSAGE_NOT_IN_SOURCE"
          : "INVALID_ANNOTATION";
    throw new ScaffoldError(code, error.message);
  }
  throw error;
}

function editProto(options: TypesAddOptions, file: string | undefined, messageName: string): Edit {
  if (file === undefined) {
    throw new ScaffoldError("MESSAGE_NOT_IN_SOURCE", `${messageName} is not defined in the input files`);
  }
  try {
    const content = annotateProto(readFileSync(file, "utf8"), messageName, options.spec, {
      ...(options.force === true ? { force: true } : {}),
    });
    return { file, content, kind: "proto" };
  } catch (error) {
    translateEditError(error);
  }
}

function editSidecar(options: TypesAddOptions, name: string): Edit {
  const mapFile = options.sources.map;
  if (mapFile === undefined) {
    throw new ScaffoldError("PROJECT_CONFIG", "--map FILE is needed to annotate in a sidecar map");
  }
  const file = resolve(options.sources.cwd, mapFile);
  const source = existsSync(file) ? readFileSync(file, "utf8") : "";
  try {
    const content = annotateSidecar(source, name, options.spec, {
      ...(options.force === true ? { force: true } : {}),
      format: extname(file).toLowerCase() === ".json" ? "json" : "yaml",
    });
    return { file, content, kind: "map" };
  } catch (error) {
    translateEditError(error);
  }
}

function sidecarPackage(source: string): string | undefined {
  const doc = parseDocument(source);
  if (!isMap(doc.contents)) return undefined;
  const value = doc.get("package");
  return typeof value === "string" ? value.replace(/^\./, "") : undefined;
}

function firstInputPackage(model: ProtoModel): string | undefined {
  const first = model.inputs[0];
  return model.messages.find((message) => message.position.file === first)?.packageName;
}

/**
 * Loads the model from the sources with `edit` applied, on temporary copies (inputs are mirrored
 * under one temporary root so imports between them still resolve; everything else is found in the
 * original directories). Diagnostics name the user's files, not the copies.
 */
async function validateEdit(
  sources: ModelSources,
  edit: Edit,
): Promise<{ model: ProtoModel; diagnostics: readonly Diagnostic[] }> {
  const tempRoot = mkdtempSync(join(tmpdir(), "paynet-types-add-"));
  try {
    const inputs = sources.inputs.map((input) => resolve(sources.cwd, input));
    const common = commonDirectory(inputs.map((input) => dirname(input)));
    const copies = new Map<string, string>();
    const inputCopies: string[] = [];
    for (const input of inputs) {
      const copy = join(tempRoot, "proto", relative(common, input));
      mkdirSync(dirname(copy), { recursive: true });
      if (edit.kind === "proto" && input === edit.file) writeFileSync(copy, edit.content);
      else copyFileSync(input, copy);
      copies.set(copy, input);
      inputCopies.push(copy);
    }
    let mapFile = sources.map === undefined ? undefined : resolve(sources.cwd, sources.map);
    if (edit.kind === "map") {
      const copy = join(tempRoot, `map${extname(edit.file)}`);
      writeFileSync(copy, edit.content);
      copies.set(copy, edit.file);
      mapFile = copy;
    }
    const originalDirs = [...new Set(inputs.map((input) => dirname(input)))];
    const protoPaths = [
      ...originalDirs,
      ...(sources.protoPaths ?? []).map((dir) => resolve(sources.cwd, dir)),
    ];
    const shown = (path: string) => displayPath(path, sources.cwd);
    const rename = new Map([...copies].map(([copy, original]) => [shown(copy), shown(original)]));
    const fix = (d: Diagnostic): Diagnostic => {
      const original = d.position === undefined ? undefined : rename.get(d.position.file);
      let message = d.message;
      for (const [copy, originalName] of rename) message = message.split(copy).join(originalName);
      return original === undefined || d.position === undefined
        ? { ...d, message }
        : { ...d, message, position: { ...d.position, file: original } };
    };
    try {
      const loaded = await loadProjectModel({ ...sources, inputs: inputCopies, protoPaths, map: mapFile });
      return { model: loaded.model, diagnostics: loaded.diagnostics.map(fix) };
    } catch (error) {
      if (error instanceof ModelLoadError) throw new ModelLoadError(error.diagnostics.map(fix));
      throw error;
    }
  } finally {
    rmSync(tempRoot, { recursive: true, force: true });
  }
}

function commonDirectory(dirs: readonly string[]): string {
  let common = dirs[0] ?? process.cwd();
  for (const dir of dirs.slice(1)) {
    while (dir !== common && !dir.startsWith(common.endsWith(sep) ? common : common + sep))
      common = dirname(common);
  }
  return common;
}
