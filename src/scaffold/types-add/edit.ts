/** The text edit of `types add`: the annotation spliced into the .proto or the sidecar map. */
import { extname } from "node:path";
import { annotateProto, SourceEditError } from "../../model/edit.js";
import { annotateSidecar, SidecarEditError } from "../../model/sidecar-edit.js";
import { ScaffoldError } from "../errors.js";
import type { SourceTexts } from "./sources.js";
import type { Edit, Plan, TypesAddOptions } from "./types.js";

/** The model's edit errors as the command's own (stable codes of `ScaffoldError`). */
export function translateEditError(error: unknown): never {
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

export function editProto(
  options: TypesAddOptions,
  texts: SourceTexts,
  file: string | undefined,
  messageName: string,
  plan: Plan,
): Edit {
  const original = file === undefined ? undefined : texts.text(file);
  if (file === undefined || original === undefined) {
    throw new ScaffoldError("MESSAGE_NOT_IN_SOURCE", `${messageName} is not defined in the input files`);
  }
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

export function editSidecar(options: TypesAddOptions, texts: SourceTexts, name: string, plan: Plan): Edit {
  const file = texts.mapFile;
  if (file === undefined) {
    throw new ScaffoldError("PROJECT_CONFIG", "--map FILE is needed to annotate in a sidecar map");
  }
  const source = texts.text(file) ?? "";
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
