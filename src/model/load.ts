/**
 * `loadModel()`: .proto files (+ optional sidecar) → validated `ProtoModel`, or the complete list
 * of problems. The walk is: files → names → annotations and bounds → models → wire rules →
 * TypeScript names.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { collectAnnotations } from "./annotations.js";
import { collectBounds } from "./bounds.js";
import { buildDrafts } from "./build.js";
import { compareStrings, DiagnosticBag } from "./diagnostics.js";
import { checkExtensions } from "./extensions.js";
import { type FileSet, loadFileSet, positionIn } from "./files.js";
import { collectFinals } from "./finals.js";
import { assignTsNames, serviceNameOf } from "./names.js";
import { absolutePath, displayPath } from "./paths.js";
import { checkProto3Defaults } from "./proto3-rules.js";
import { checkGeneratedNames, checkPrototypeFields } from "./reserved-names.js";
import { parseSidecar, type Sidecar } from "./sidecar.js";
import { SymbolTable } from "./symbols.js";
import type {
  Diagnostic,
  Direction,
  EnumModel,
  MessageModel,
  ProtoModel,
  Role,
  SourcePosition,
  WireInfo,
  WireMessage,
} from "./types.js";
import { validateWire } from "./validate.js";

/** What to load. Relative paths are taken from `cwd` (default `process.cwd()`). */
export interface LoadOptions {
  /** The .proto files to generate from; the first one names the service by default. */
  inputs: string[];
  /** Include directories for imports, searched after the inputs' own directories, in order. */
  protoPaths?: string[];
  /** Sidecar map (YAML or JSON) with annotations for protos that must stay untouched. */
  mapFile?: string;
  /** Service name for the facades (`--name`); default: the first input's package in PascalCase. */
  name?: string;
  cwd?: string;
}

export interface LoadResult {
  /** The validated model, or undefined when any error was found. */
  model: ProtoModel | undefined;
  /** Every error and warning of the run, sorted by file, line and column. */
  diagnostics: Diagnostic[];
}

const DIRECTION_ORDER: Record<Direction, number> = { up: 0, down: 1, both: 2 };

/**
 * Parses and validates `options.inputs` (and their imports and the sidecar) into a `ProtoModel`.
 * Never rejects for problems in the user's files: they are returned as diagnostics, all at once.
 */
export async function loadModel(options: LoadOptions): Promise<LoadResult> {
  const cwd = options.cwd ?? process.cwd();
  const diagnostics = new DiagnosticBag();
  if (options.inputs.length === 0) diagnostics.error("no-input", "no .proto input files given");

  const fileSet = loadFileSet(options.inputs, options.protoPaths ?? [], cwd, diagnostics);
  const symbols = new SymbolTable(fileSet.files, diagnostics);
  checkExtensions(fileSet.files, symbols, diagnostics);
  checkProto3Defaults(fileSet.files, diagnostics);
  const sidecar = options.mapFile === undefined ? undefined : readSidecar(options.mapFile, cwd, diagnostics);
  const firstInput = fileSet.byKey.get(fileSet.inputKeys[0] ?? "");
  const sidecarScope = sidecar?.packageName ?? firstInput?.proto.packageName ?? "";
  const annotations = collectAnnotations(fileSet.files, symbols, sidecar, sidecarScope, diagnostics);
  const bounds = collectBounds(fileSet.files, symbols, sidecar, sidecarScope, diagnostics);
  const finals = collectFinals(fileSet.files, symbols, sidecar, sidecarScope, diagnostics);
  const drafts = buildDrafts(symbols, annotations, bounds, finals, diagnostics);
  const wireInfo = validateWire(annotations, drafts.messages, drafts.enums, diagnostics);
  const tsNames = assignTsNames([...drafts.messages.values(), ...drafts.enums.values()], diagnostics);
  const serviceName = serviceNameOf(
    options.name,
    firstInput?.proto.packageName,
    fileSet.inputDisplayPaths[0],
    diagnostics,
  );
  checkPrototypeFields(sourceFields(fileSet), diagnostics);
  checkGeneratedNames(
    {
      messages: drafts.messages,
      enums: drafts.enums,
      wire: wireInfo,
      tsNames,
      serviceName,
      explicitName: options.name !== undefined,
    },
    diagnostics,
  );

  const sorted = diagnostics.sorted();
  if (diagnostics.hasErrors) return { model: undefined, diagnostics: sorted };

  const messages: MessageModel[] = [...drafts.messages.values()]
    .sort((a, b) => compareStrings(a.fullName, b.fullName))
    .map((draft) => {
      const wire = wireInfo.get(draft.fullName);
      return { ...draft, tsName: tsNames.get(draft.fullName)!, ...(wire === undefined ? {} : { wire }) };
    });
  const enums: EnumModel[] = [...drafts.enums.values()]
    .sort((a, b) => compareStrings(a.fullName, b.fullName))
    .map((draft) => ({ ...draft, tsName: tsNames.get(draft.fullName)! }));
  const wire: WireMessage[] = messages
    .filter((m): m is MessageModel & { wire: WireInfo } => m.wire !== undefined)
    .map((message) => ({ message, wire: message.wire }))
    .sort(
      (a, b) =>
        a.wire.type - b.wire.type || DIRECTION_ORDER[a.wire.direction] - DIRECTION_ORDER[b.wire.direction],
    );
  const roles: Partial<Record<Role, WireMessage>> = {};
  for (const entry of wire) if (entry.wire.role !== undefined) roles[entry.wire.role] = entry;

  const model: ProtoModel = {
    inputs: fileSet.inputDisplayPaths,
    inputNames: fileSet.inputSourceNames,
    messages,
    enums,
    wire,
    roles,
    sourceHash: sourceHashOf(fileSet, sidecar),
    serviceName,
    warnings: sorted.filter((d) => d.severity === "warning"),
  };
  return { model, diagnostics: sorted };
}

/** Every field declared in the user's files, by `message#field` key, with its position. */
function* sourceFields(fileSet: FileSet): Generator<{ key: string; position: SourcePosition }> {
  for (const file of fileSet.files) {
    if (file.bundled) continue;
    for (const [key, where] of file.proto.index?.fields ?? [])
      yield { key, position: positionIn(file, where.place) };
  }
}

function readSidecar(mapFile: string, cwd: string, diagnostics: DiagnosticBag): Sidecar | undefined {
  const absPath = absolutePath(mapFile, cwd);
  const shown = displayPath(absPath, cwd);
  let content: string;
  try {
    content = readFileSync(absPath, "utf8");
  } catch (error) {
    diagnostics.error(
      "input-not-found",
      `cannot read map file ${shown}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
    return undefined;
  }
  return parseSidecar(content, shown, diagnostics);
}

/**
 * SHA-256 over the user's proto files (inputs and the files they import, not the bundled ones),
 * sorted by source name, each as `sourceName NUL content NUL`, then the sidecar's content. Source
 * names do not depend on the working directory, so neither does the hash.
 */
function sourceHashOf(fileSet: FileSet, sidecar: Sidecar | undefined): string {
  const hash = createHash("sha256");
  const userFiles = fileSet.files
    .filter((f) => !f.bundled)
    .sort((a, b) => compareStrings(a.sourceName, b.sourceName));
  for (const file of userFiles) hash.update(`${file.sourceName}\0${file.source}\0`);
  if (sidecar !== undefined) hash.update(sidecar.content);
  return hash.digest("hex");
}
