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
import {
  type AnnotationPatch,
  type AnnotationSpec,
  annotateProto,
  SourceEditError,
  writtenAnnotations,
} from "../model/edit.js";
import { tokenize } from "../model/lexer.js";
import { displayPath, PAYNET_PROTO_DIR } from "../model/paths.js";
import { annotateSidecar, SidecarEditError } from "../model/sidecar-edit.js";
import { formatType } from "../model/type-number.js";
import type {
  Diagnostic,
  Direction,
  MessageModel,
  ProtoModel,
  SourcePosition,
  WireInfo,
} from "../model/types.js";
import { ScaffoldError } from "./errors.js";
import { originalLines } from "./line-map.js";
import { didYouMean } from "./names.js";
import { findMessage, loadProjectModel, ModelLoadError, type ModelSources } from "./project-model.js";
import { type TypeRow, typeRows } from "./type-table.js";

export interface TypesAddOptions {
  readonly sources: ModelSources;
  readonly message: string;
  /**
   * The flags given. `type` is needed unless `force` updates an existing annotation; `direction` is
   * inferred when unambiguous (see `typesAdd`).
   */
  readonly spec: AnnotationPatch;
  /** Edit the sidecar map (`sources.map`) instead of the .proto defining the message. */
  readonly target: "proto" | "map";
  readonly force?: boolean;
}

/** One key of an annotation that `--force` changed, as shown to the user. */
export interface AnnotationChange {
  readonly key: keyof AnnotationSpec;
  /** Before (`undefined`: not set). */
  readonly from: string | undefined;
  /** After (`undefined`: removed; never, as flags only set keys). */
  readonly to: string | undefined;
}

export interface TypesAddResult {
  /** The file written (absolute); not touched when `unchanged`. */
  readonly file: string;
  /** The message's row in the new Type table. */
  readonly row: TypeRow;
  /** Warnings of the validating load. */
  readonly warnings: readonly Diagnostic[];
  /** Why the direction was inferred, when `--direction` was not given. */
  readonly inferred?: string;
  /** With `--force` on an annotated message: the keys that changed, and the ones kept as they were. */
  readonly update?: {
    readonly changed: readonly AnnotationChange[];
    readonly kept: readonly AnnotationChange[];
  };
  /** The annotation was already exactly this: nothing written. */
  readonly unchanged: boolean;
}

const KEYS = ["type", "direction", "reply", "role", "correlation"] as const;

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

/**
 * Annotates one message. Refuses an annotated message unless `force`, which updates it: the keys
 * given replace the current ones, the others stay. Without `spec.direction` the direction is
 * inferred when the annotated messages say it unambiguously (a message naming this one as its reply
 * travels the other way; so does this message's own reply), else `DIRECTION_REQUIRED`.
 */
export async function typesAdd(options: TypesAddOptions): Promise<TypesAddResult> {
  const target = await locateTarget(options);
  const plan = planAnnotation(options, target);
  const edit =
    options.target === "map"
      ? editSidecar(options, target.sidecarName, plan)
      : editProto(options, target.file, target.protoName, plan);
  const { model: edited, diagnostics } = await validateEdit(options.sources, edit, target);
  const row = typeRows(edited).find(
    (candidate) => candidate.fullName === target.fullName || candidate.message === target.fullName,
  );
  if (row === undefined) {
    throw new ScaffoldError("VALIDATION_FAILED", `${options.message} is still not annotated after the edit`);
  }
  const unchanged = edit.content === edit.original;
  if (!unchanged) {
    const temporary = join(dirname(edit.file), `.${basename(edit.file)}.${process.pid}.tmp`);
    writeFileSync(temporary, edit.content);
    renameSync(temporary, edit.file);
  }
  return {
    file: edit.file,
    row,
    warnings: diagnostics.filter((d) => d.severity === "warning"),
    unchanged,
    ...(plan.inferred === undefined ? {} : { inferred: plan.inferred }),
    ...(plan.update === undefined ? {} : { update: plan.update }),
  };
}

/** What to write: the patch for the edit, the whole resulting annotation, and how it came about. */
interface Plan {
  /** Keys to write (the flags, plus an inferred direction). */
  readonly patch: AnnotationPatch;
  /** The annotation as it will be. */
  readonly spec: AnnotationSpec;
  /** Whether the edited file holds the current annotation (then the patch is merged into it). */
  readonly merge: boolean;
  readonly inferred?: string;
  readonly update?: TypesAddResult["update"];
}

function planAnnotation(options: TypesAddOptions, target: Target): Plan {
  const { current, message, model } = target;
  const given = options.spec;
  const type = given.type ?? current?.type;
  if (type === undefined) {
    throw new ScaffoldError(
      "INVALID_ANNOTATION",
      "--type is required: the wire Type, 1..255 in hex (0x40) or decimal (64)",
    );
  }
  let inferred: string | undefined;
  let direction = given.direction ?? current?.direction;
  if (direction === undefined) {
    ({ direction, why: inferred } = inferDirection(options, target, given.reply));
  }
  const currentReply =
    current?.reply === undefined || model === undefined || message === undefined
      ? undefined
      : relativeName(current.reply, message.packageName);
  const spec: AnnotationSpec = {
    type,
    direction,
    ...optional("reply", given.reply ?? currentReply),
    ...optional("role", given.role ?? current?.role),
    ...optional("correlation", given.correlation ?? current?.correlationField),
  };
  const patch: AnnotationPatch = {
    ...given,
    ...(given.direction === undefined && inferred !== undefined ? { direction } : {}),
  };
  // The edited file holds the current annotation when it is where the annotation comes from (when
  // the sources do not load, whatever the file holds is kept unless replaced).
  const merge =
    current === undefined
      ? options.force === true
      : current.source === "both" || current.source === options.target;
  const update =
    current === undefined
      ? undefined
      : describeUpdate(
          {
            type: current.type,
            direction: current.direction,
            ...optional("reply", currentReply),
            ...optional("role", current.role),
            ...optional("correlation", current.correlationField),
          },
          spec,
          given,
        );
  return {
    patch: merge ? patch : spec,
    spec,
    merge,
    ...(inferred === undefined ? {} : { inferred }),
    ...(update === undefined ? {} : { update }),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** `paybox.Pong` → `Pong` inside package `paybox` (how the proto and map usually name it). */
function relativeName(fullName: string, packageName: string): string {
  return packageName !== "" && fullName.startsWith(`${packageName}.`)
    ? fullName.slice(packageName.length + 1)
    : fullName;
}

function shownValue(key: keyof AnnotationSpec, spec: AnnotationSpec): string | undefined {
  const value = spec[key];
  if (value === undefined) return undefined;
  return key === "type" ? formatType(value as number) : String(value);
}

function describeUpdate(
  before: AnnotationSpec,
  after: AnnotationSpec,
  given: AnnotationPatch,
): NonNullable<TypesAddResult["update"]> {
  const changed: AnnotationChange[] = [];
  const kept: AnnotationChange[] = [];
  for (const key of KEYS) {
    const change = { key, from: shownValue(key, before), to: shownValue(key, after) };
    if (change.from !== change.to) changed.push(change);
    else if (given[key] === undefined && change.from !== undefined) kept.push(change);
  }
  return { changed, kept };
}

const OPPOSITE: Record<Exclude<Direction, "both">, Direction> = { up: "down", down: "up" };

/**
 * The direction the annotations written in the sources imply for the target, or
 * `DIRECTION_REQUIRED`. Read from the text (proto options and map entries), not the model: a request
 * naming a reply that has no Type yet is exactly the state in which the model does not load.
 */
function inferDirection(options: TypesAddOptions, target: Target, reply: string | undefined): Inferred {
  const name = target.message?.tsName ?? target.fullName.split(".").at(-1) ?? target.fullName;
  const written = annotationsInSources(options.sources);
  const clues: Array<{ direction: Direction | undefined; why: string }> = [];
  const clue = (direction: Direction, why: string) =>
    clues.push({ direction: direction === "both" ? undefined : OPPOSITE[direction], why });
  for (const [fullName, facts] of written) {
    if (facts.reply === target.fullName && facts.direction !== undefined) {
      clue(facts.direction, `${shortName(fullName)} (${facts.direction}) names ${name} as its reply`);
    }
  }
  if (reply !== undefined) {
    const packageName = target.fullName.includes(".")
      ? target.fullName.slice(0, target.fullName.lastIndexOf("."))
      : "";
    const bare = reply.replace(/^\./, "");
    const answer = written.get(bare) ?? written.get(`${packageName}.${bare}`);
    if (answer?.direction !== undefined) {
      clue(answer.direction, `its reply ${shortName(bare)} travels ${answer.direction}`);
    }
  }
  const require = (why: string): never => {
    throw new ScaffoldError("DIRECTION_REQUIRED", `pass --direction up|down|both for ${name}: ${why}`);
  };
  if (clues.length === 0) {
    return require("it cannot be inferred (no annotated message names it as its reply, and it has no annotated reply)");
  }
  const directions = new Set(clues.map((entry) => entry.direction));
  const [only] = directions;
  const why = clues.map((entry) => entry.why).join("; ");
  if (directions.size > 1 || only === undefined)
    return require(`it cannot be inferred unambiguously (${why})`);
  return { direction: only, why: `direction ${only} inferred: ${why}` };
}

interface Inferred {
  readonly direction: Direction;
  readonly why: string;
}

function shortName(fullName: string): string {
  return fullName.split(".").at(-1) ?? fullName;
}

/** Direction and reply of every message as the input protos and the map write them (the map wins). */
function annotationsInSources(sources: ModelSources): Map<string, { direction?: Direction; reply?: string }> {
  const written = new Map<string, { direction?: Direction; reply?: string }>();
  let firstPackage: string | undefined;
  for (const input of sources.inputs) {
    const file = resolve(sources.cwd, input);
    if (!existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    firstPackage ??= packageOf(text);
    for (const annotation of writtenAnnotations(text)) written.set(annotation.fullName, annotation);
  }
  const mapFile = sources.map === undefined ? undefined : resolve(sources.cwd, sources.map);
  if (mapFile === undefined || !existsSync(mapFile)) return written;
  const doc = parseDocument(readFileSync(mapFile, "utf8"));
  const data = doc.errors.length > 0 ? undefined : (doc.toJS() as unknown);
  if (typeof data !== "object" || data === null) return written;
  const { package: scope = firstPackage, messages } = data as { package?: string; messages?: unknown };
  if (typeof messages !== "object" || messages === null) return written;
  const qualify = (name: string) =>
    name.startsWith(".") ? name.slice(1) : scope && !name.startsWith(`${scope}.`) ? `${scope}.${name}` : name;
  for (const [name, entry] of Object.entries(messages as Record<string, unknown>)) {
    if (typeof entry !== "object" || entry === null) continue;
    const { direction, reply } = entry as { direction?: unknown; reply?: unknown };
    const previous = written.get(qualify(name)) ?? {};
    written.set(qualify(name), {
      ...previous,
      ...(direction === "up" || direction === "down" || direction === "both" ? { direction } : {}),
      ...(typeof reply === "string" ? { reply: qualify(reply) } : {}),
    });
  }
  return written;
}

function packageOf(text: string): string | undefined {
  const tokens = tokenize(text);
  const index = tokens.findIndex((token) => token.text === "package");
  if (index < 0) return undefined;
  let name = "";
  for (let i = index + 1; i < tokens.length && tokens[i]!.text !== ";"; i++) name += tokens[i]!.text;
  return name;
}

interface Edit {
  /** The file to change (absolute). */
  readonly file: string;
  /** Its content before the edit. */
  readonly original: string;
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
  /** The current model and the message in it, when the sources load. */
  readonly model?: ProtoModel;
  readonly message?: MessageModel;
  /** The message's current annotation. */
  readonly current?: WireInfo;
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
  const message = findDeclaredMessage(model, options);
  const current = model.wire.find((entry) => entry.message.fullName === message.fullName)?.wire;
  if (current !== undefined && options.force !== true) {
    const where = current.source === "map" ? "map" : "proto";
    throw new ScaffoldError(
      "ALREADY_ANNOTATED",
      `${message.tsName} is already annotated (Type ${formatType(current.type)}, ${current.direction}, in the ${where}); use --force to change it (the keys you pass replace the current ones, the others stay)`,
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
  return {
    fullName: message.fullName,
    file,
    protoName: message.fullName,
    sidecarName,
    model,
    message,
    ...(current === undefined ? {} : { current }),
  };
}

/** `findMessage`, with what to do when the name is not a message: an enum, or not declared yet. */
function findDeclaredMessage(model: ProtoModel, options: TypesAddOptions): MessageModel {
  try {
    return findMessage(model, options.message);
  } catch (error) {
    if (!(error instanceof ScaffoldError && error.code === "UNKNOWN_MESSAGE")) throw error;
    const bare = options.message.replace(/^\./, "");
    const isEnum = model.enums.some(
      (candidate) =>
        candidate.fullName === bare || candidate.tsName === bare || candidate.fullName.endsWith(`.${bare}`),
    );
    throw notAMessage(options, error.message, isEnum);
  }
}

/**
 * The error for a name that is not a declared message: enums never travel on their own, and
 * `types add` annotates what the proto declares, it does not declare messages.
 */
function notAMessage(options: TypesAddOptions, unknown: string, isEnum: boolean): ScaffoldError {
  const name = options.message.replace(/^\./, "");
  const short = name.split(".").at(-1) ?? name;
  if (isEnum) {
    return new ScaffoldError(
      "UNKNOWN_MESSAGE",
      `${name} is an enum, not a message: only messages travel with a Type; annotate the message that carries it`,
    );
  }
  const proto = options.sources.inputs[0] ?? "the proto";
  return new ScaffoldError(
    "UNKNOWN_MESSAGE",
    `${unknown} \`types add\` annotates messages already declared in the proto: declare ` +
      `\`message ${short} { ... }\` in ${proto} first, then run this again`,
  );
}

function locateInText(options: TypesAddOptions, loadError: ModelLoadError): Target {
  const name = options.message.replace(/^\./, "");
  if (options.target === "map") {
    const mapFile =
      options.sources.map === undefined ? undefined : resolve(options.sources.cwd, options.sources.map);
    const firstInput = options.sources.inputs[0];
    const firstFile = firstInput === undefined ? undefined : resolve(options.sources.cwd, firstInput);
    const scope =
      (mapFile !== undefined && existsSync(mapFile)
        ? sidecarPackage(readFileSync(mapFile, "utf8"))
        : undefined) ??
      (firstFile !== undefined && existsSync(firstFile)
        ? packageOf(readFileSync(firstFile, "utf8"))
        : undefined);
    const fullName = scope && !name.startsWith(`${scope}.`) ? `${scope}.${name}` : name;
    return { fullName, file: undefined, protoName: name, sidecarName: name };
  }
  for (const input of options.sources.inputs) {
    const file = resolve(options.sources.cwd, input);
    if (!existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    try {
      annotateProto(text, name, { type: 1, direction: "up" }, { force: options.force === true });
    } catch (error) {
      if (error instanceof SourceEditError && error.code === "ALREADY_ANNOTATED") translateEditError(error);
      if (error instanceof SourceEditError && error.code === "MESSAGE_NOT_IN_SOURCE") continue;
      break;
    }
    const packageName = packageOf(text);
    const fullName = packageName && !name.startsWith(`${packageName}.`) ? `${packageName}.${name}` : name;
    return { fullName, file, protoName: name, sidecarName: name };
  }
  const short = name.split(".").at(-1) ?? name;
  const names = declaredNamesInText(options.sources, "message");
  if (!names.includes(short)) {
    throw notAMessage(
      options,
      `unknown message ${options.message}.${didYouMean(name, names)}`,
      declaredNamesInText(options.sources, "enum").includes(short),
    );
  }
  // Defined, but not where it can be edited: the load's own diagnostics explain the state of the sources.
  throw loadError;
}

/** Names following `keyword` in the input files (for "did you mean" when the model does not load). */
function declaredNamesInText(sources: ModelSources, keyword: "message" | "enum"): string[] {
  const names: string[] = [];
  for (const input of sources.inputs) {
    const file = resolve(sources.cwd, input);
    if (!existsSync(file)) continue;
    const tokens = tokenize(readFileSync(file, "utf8"));
    tokens.forEach((token, i) => {
      const next = tokens[i + 1];
      if (token.text === keyword && next?.kind === "ident") names.push(next.text);
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

function editProto(
  options: TypesAddOptions,
  file: string | undefined,
  messageName: string,
  plan: Plan,
): Edit {
  if (file === undefined) {
    throw new ScaffoldError("MESSAGE_NOT_IN_SOURCE", `${messageName} is not defined in the input files`);
  }
  const original = readFileSync(file, "utf8");
  try {
    const content = annotateProto(original, messageName, plan.patch, {
      ...(options.force === true ? { force: true } : {}),
      merge: plan.merge,
    });
    return { file, original, content, kind: "proto" };
  } catch (error) {
    translateEditError(error);
  }
}

function editSidecar(options: TypesAddOptions, name: string, plan: Plan): Edit {
  const mapFile = options.sources.map;
  if (mapFile === undefined) {
    throw new ScaffoldError("PROJECT_CONFIG", "--map FILE is needed to annotate in a sidecar map");
  }
  const file = resolve(options.sources.cwd, mapFile);
  const source = existsSync(file) ? readFileSync(file, "utf8") : "";
  try {
    const content = annotateSidecar(source, name, plan.patch, {
      ...(options.force === true ? { force: true } : {}),
      merge: plan.merge,
      format: extname(file).toLowerCase() === ".json" ? "json" : "yaml",
    });
    return { file, original: source, content, kind: "map" };
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
 * original directories). Diagnostics name the user's files, not the copies, and their lines are
 * those of the real files: a line the edit wrote (which the user cannot open) is shown as the
 * message's declaration, "(in the proposed annotation)".
 */
async function validateEdit(
  sources: ModelSources,
  edit: Edit,
  target: Target,
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
    const editedCopy = shown([...copies].find(([, original]) => original === edit.file)?.[0] ?? edit.file);
    const lineOf = originalLines(edit.original, edit.content);
    const declaration = declarationOf(edit, target, sources.cwd);
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
    const fix = (d: Diagnostic): Diagnostic => {
      const original = d.position === undefined ? undefined : rename.get(d.position.file);
      let message = fixMentions(d.message);
      for (const [copy, originalName] of rename) message = message.split(copy).join(originalName);
      if (original === undefined || d.position === undefined) return { ...d, message };
      if (d.position.file !== editedCopy)
        return { ...d, message, position: { ...d.position, file: original } };
      const line = lineOf(d.position.line);
      if (line !== undefined) return { ...d, message, position: { ...d.position, file: original, line } };
      return { ...d, message: `${message} (in the proposed annotation)`, position: declaration };
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
