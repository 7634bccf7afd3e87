/**
 * Finding the message `types add` annotates: in the current model when the sources load, else in
 * the input files' text (an annotation still missing may be exactly what this run adds).
 */
import { resolve, sep } from "node:path";
import { annotateProto, SourceEditError } from "../../model/edit.js";
import { tokenize } from "../../model/lexer.js";
import { PAYNET_PROTO_DIR } from "../../model/paths.js";
import { formatType } from "../../model/type-number.js";
import type { MessageModel, ProtoModel } from "../../model/types.js";
import { ScaffoldError } from "../errors.js";
import { didYouMean } from "../names.js";
import { findMessage, loadProjectModel, ModelLoadError } from "../project-model.js";
import { translateEditError } from "./edit.js";
import type { SourceTexts } from "./sources.js";
import type { Target, TypesAddOptions } from "./types.js";

/**
 * Finds the message in the current model. When the current sources do not load (an annotation
 * still missing may be exactly what this run adds), it is looked up in the input files' text
 * instead, and only the edited result has to validate.
 */
export async function locateTarget(options: TypesAddOptions, texts: SourceTexts): Promise<Target> {
  const { sources } = options;
  let model: ProtoModel;
  try {
    ({ model } = await loadProjectModel(sources));
  } catch (error) {
    if (!(error instanceof ModelLoadError)) throw error;
    return locateInText(options, texts, error);
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
    const cannotEdit = () =>
      new ScaffoldError(
        "MESSAGE_NOT_IN_SOURCE",
        `${message.fullName} is defined in ${message.position.file}, which cannot be edited`,
      );
    if (file.startsWith(PAYNET_PROTO_DIR + sep)) throw cannotEdit();
    if (!texts.inputs.includes(file)) {
      throw new ScaffoldError(
        "MESSAGE_NOT_IN_SOURCE",
        `${message.fullName} is defined in ${message.position.file}, which is imported, not an input: pass it with --proto ${message.position.file}`,
      );
    }
    if (texts.text(file) === undefined) throw cannotEdit();
  }
  // Names in the map are relative to its `package` (default: the first input's package).
  const scope = texts.sidecar()?.packageName ?? firstInputPackage(model);
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

function locateInText(options: TypesAddOptions, texts: SourceTexts, loadError: ModelLoadError): Target {
  const name = options.message.replace(/^\./, "");
  if (options.target === "map") {
    const firstFile = texts.inputs[0];
    const scope =
      texts.sidecar()?.packageName ?? (firstFile === undefined ? undefined : texts.protoPackage(firstFile));
    const fullName = scope && !name.startsWith(`${scope}.`) ? `${scope}.${name}` : name;
    return { fullName, file: undefined, protoName: name, sidecarName: name };
  }
  for (const file of texts.inputs) {
    const text = texts.text(file);
    if (text === undefined) continue;
    try {
      annotateProto(text, name, { type: 1, direction: "up" }, { force: options.force === true });
    } catch (error) {
      if (error instanceof SourceEditError && error.code === "ALREADY_ANNOTATED") translateEditError(error);
      if (error instanceof SourceEditError && error.code === "MESSAGE_NOT_IN_SOURCE") continue;
      break;
    }
    const packageName = texts.protoPackage(file);
    const fullName = packageName && !name.startsWith(`${packageName}.`) ? `${packageName}.${name}` : name;
    return { fullName, file, protoName: name, sidecarName: name };
  }
  const short = name.split(".").at(-1) ?? name;
  const names = declaredNamesInText(texts, "message");
  if (!names.includes(short)) {
    throw notAMessage(
      options,
      `unknown message ${options.message}.${didYouMean(name, names)}`,
      declaredNamesInText(texts, "enum").includes(short),
    );
  }
  // Defined, but not where it can be edited: the load's own diagnostics explain the state of the sources.
  throw loadError;
}

/** Names following `keyword` in the input files (for "did you mean" when the model does not load). */
function declaredNamesInText(texts: SourceTexts, keyword: "message" | "enum"): string[] {
  const names: string[] = [];
  for (const file of texts.inputs) {
    const text = texts.text(file);
    if (text === undefined) continue;
    const tokens = tokenize(text);
    tokens.forEach((token, i) => {
      const next = tokens[i + 1];
      if (token.text === keyword && next?.kind === "ident") names.push(next.text);
    });
  }
  return names;
}

function firstInputPackage(model: ProtoModel): string | undefined {
  const first = model.inputs[0];
  return model.messages.find((message) => message.position.file === first)?.packageName;
}
