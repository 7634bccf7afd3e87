/**
 * Inferring the direction of a message `types add` annotates without `--direction`: a message
 * naming it as its reply travels the other way, and so does its own reply.
 */
import type { Direction } from "../../model/types.js";
import { writtenAnnotations } from "../../model/written-annotations.js";
import { ScaffoldError } from "../errors.js";
import type { SourceTexts } from "./sources.js";
import type { Target } from "./types.js";

const OPPOSITE: Record<Exclude<Direction, "both">, Direction> = { up: "down", down: "up" };

/**
 * The direction the annotations written in the sources imply for the target, or
 * `DIRECTION_REQUIRED`. Read from the text (proto options and map entries), not the model: a request
 * naming a reply that has no Type yet is exactly the state in which the model does not load.
 */
export function inferDirection(target: Target, reply: string | undefined, texts: SourceTexts): Inferred {
  const name = target.message?.tsName ?? target.fullName.split(".").at(-1) ?? target.fullName;
  const written = writtenInSources(texts);
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

export interface Inferred {
  readonly direction: Direction;
  readonly why: string;
}

function shortName(fullName: string): string {
  return fullName.split(".").at(-1) ?? fullName;
}

/** Direction and reply of every message as the input protos and the map write them (the map wins). */
function writtenInSources(texts: SourceTexts): Map<string, { direction?: Direction; reply?: string }> {
  const written = new Map<string, { direction?: Direction; reply?: string }>();
  let firstPackage: string | undefined;
  for (const file of texts.inputs) {
    const text = texts.text(file);
    if (text === undefined) continue;
    firstPackage ??= texts.protoPackage(file);
    for (const annotation of writtenAnnotations(text)) written.set(annotation.fullName, annotation);
  }
  const sidecar = texts.sidecar();
  if (sidecar === undefined) return written;
  const scope = sidecar.packageName ?? firstPackage;
  const qualify = (name: string) =>
    name.startsWith(".") ? name.slice(1) : scope && !name.startsWith(`${scope}.`) ? `${scope}.${name}` : name;
  for (const entry of sidecar.entries) {
    const name = qualify(entry.name);
    written.set(name, {
      ...written.get(name),
      ...(entry.direction === undefined ? {} : { direction: entry.direction.value }),
      ...(entry.reply === undefined ? {} : { reply: qualify(entry.reply.value) }),
    });
  }
  return written;
}
