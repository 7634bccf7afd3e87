/**
 * Loads the validated model the scaffolding commands work from, through the same `loadModel()` as
 * `generate`, and turns a failed load into one error carrying every diagnostic.
 */
import { loadModel } from "../model/index.js";
import type { Diagnostic, MessageModel, ProtoModel, WireMessage } from "../model/types.js";
import { ScaffoldError } from "./errors.js";
import { didYouMean } from "./names.js";

/** Where the protos are: every path absolute or relative to `cwd`. */
export interface ModelSources {
  readonly inputs: readonly string[];
  readonly protoPaths?: readonly string[];
  readonly map?: string | undefined;
  readonly name?: string | undefined;
  readonly cwd: string;
}

/** A load that produced errors; `diagnostics` holds all of them (warnings included). */
export class ModelLoadError extends ScaffoldError {
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === "error").length;
    super("VALIDATION_FAILED", `${errors} error${errors === 1 ? "" : "s"} in the protos`);
    this.diagnostics = diagnostics;
  }
}

export interface LoadedModel {
  readonly model: ProtoModel;
  /** Warnings of the load, to print. */
  readonly diagnostics: readonly Diagnostic[];
}

export async function loadProjectModel(sources: ModelSources): Promise<LoadedModel> {
  if (sources.inputs.length === 0) {
    throw new ScaffoldError(
      "PROJECT_CONFIG",
      'no .proto input: pass --proto FILE or declare "paynet": { "proto": ["proto/x.proto"] } in package.json',
    );
  }
  const { model, diagnostics } = await loadModel({
    inputs: [...sources.inputs],
    cwd: sources.cwd,
    ...(sources.protoPaths === undefined ? {} : { protoPaths: [...sources.protoPaths] }),
    ...(sources.map === undefined ? {} : { mapFile: sources.map }),
    ...(sources.name === undefined ? {} : { name: sources.name }),
  });
  if (model === undefined || diagnostics.some((d) => d.severity === "error"))
    throw new ModelLoadError(diagnostics);
  return { model, diagnostics };
}

/**
 * The message a user named: by TS name (`CoinAck`), full name (`paybox.CoinAck`) or, for nested
 * messages, dotted path (`Outer.Inner`). Unknown names get a "did you mean".
 */
export function findMessage(model: ProtoModel, name: string): MessageModel {
  const bare = name.replace(/^\./, "");
  const match =
    model.messages.find((message) => message.fullName === bare || message.tsName === bare) ??
    model.messages.find((message) => message.fullName.endsWith(`.${bare}`));
  if (match !== undefined) return match;
  const candidates = new Set(model.messages.map((message) => message.tsName));
  throw new ScaffoldError("UNKNOWN_MESSAGE", `unknown message ${name}.${didYouMean(bare, candidates)}`);
}

/** The message's wire annotation, or a `NO_TYPE_ID` error saying how to add one. */
export function requireWire(model: ProtoModel, message: MessageModel): WireMessage {
  const wire = model.wire.find((entry) => entry.message.fullName === message.fullName);
  if (wire !== undefined) return wire;
  throw new ScaffoldError(
    "NO_TYPE_ID",
    `${message.tsName} has no Type ID, so it never travels on its own: annotate it first, ` +
      `e.g. \`paynet-gen types add ${message.tsName} --type 0x40 --direction up\``,
  );
}
