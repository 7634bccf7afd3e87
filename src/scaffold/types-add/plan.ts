/**
 * The annotation `types add` writes: the flags, completed by the current annotation (with
 * `--force`) and an inferred direction, and what changed compared to the current one.
 */
import type { AnnotationPatch, AnnotationSpec } from "../../model/edit.js";
import { formatType } from "../../model/type-number.js";
import { ScaffoldError } from "../errors.js";
import { inferDirection } from "./direction.js";
import type { SourceTexts } from "./sources.js";
import type { AnnotationChange, Plan, Target, TypesAddOptions, TypesAddResult } from "./types.js";

const KEYS = ["type", "direction", "reply", "role", "correlation"] as const;

export function planAnnotation(options: TypesAddOptions, target: Target, texts: SourceTexts): Plan {
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
    ({ direction, why: inferred } = inferDirection(target, given.reply, texts));
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
