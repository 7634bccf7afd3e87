/**
 * `paynet-gen types add`: annotates one message in its .proto (or in the sidecar map), after checking
 * the edited sources exactly as `generate` would. The edit is validated on temporary copies; the
 * user's file is written (atomically) only when the whole model still loads without errors.
 *
 * The steps, one module each: read the sources once (`sources.ts`), find the message (`target.ts`),
 * decide the annotation (`plan.ts`, inferring a missing direction in `direction.ts`), make the text
 * edit (`edit.ts`) and load the edited copies (`validate.ts`).
 */
import { renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ScaffoldError } from "../errors.js";
import { typeRows } from "../type-table.js";
import { editProto, editSidecar } from "./edit.js";
import { planAnnotation } from "./plan.js";
import { SourceTexts } from "./sources.js";
import { locateTarget } from "./target.js";
import type { TypesAddOptions, TypesAddResult } from "./types.js";
import { validateEdit } from "./validate.js";

export type { AnnotationChange, TypesAddOptions, TypesAddResult } from "./types.js";

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
  const texts = new SourceTexts(options.sources);
  const target = await locateTarget(options, texts);
  const plan = planAnnotation(options, target, texts);
  const edit =
    options.target === "map"
      ? editSidecar(options, texts, target.sidecarName, plan)
      : editProto(options, texts, target.file, target.protoName, plan);
  const { model: edited, diagnostics } = await validateEdit(texts, edit, target);
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
