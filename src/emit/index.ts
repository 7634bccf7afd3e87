/**
 * Model → the files of a generated SDK. Pure: the same model and options give the same files, sorted
 * by path.
 */
import type { ProtoModel } from "../model/types.js";
import { emitClientFacade } from "./client-facade.js";
import { compareCodeUnits, tidy } from "./code.js";
import { emitDefs } from "./defs.js";
import { emitDispatch } from "./dispatch.js";
import { emitHandlers } from "./handlers.js";
import { fileHeader } from "./header.js";
import { emitMessageIds } from "./ids.js";
import { emitCodecs, emitMessageTypes } from "./messages.js";
import { renderTemplate } from "./render.js";
import { moduleSpecifier, SDK_FILES, type SdkModule } from "./sdk-files.js";
import { emitServerFacade } from "./server-facade.js";
import type { EmitOptions, GeneratedFile } from "./types.js";

export type { EmitOptions, GeneratedFile } from "./types.js";

/** Every file of the SDK for `model`: messages, codecs, Type-IDs, defs, handlers, dispatch, facades, index. */
export function emitSdk(model: ProtoModel, options: EmitOptions): GeneratedFile[] {
  const modules: SdkModule[] = ["types", "codecs", "ids", "defs", "handlers", "dispatch"];
  const files = [
    emitMessageTypes(model, options),
    emitCodecs(model, options),
    emitMessageIds(model, options),
    emitDefs(model, options),
    emitHandlers(model, options),
    emitDispatch(model, options),
  ];
  if (options.target !== "client") {
    files.push(emitServerFacade(model, options));
    modules.push("server");
  }
  if (options.target !== "server") {
    files.push(emitClientFacade(model, options));
    modules.push("client");
  }
  files.push({
    path: SDK_FILES.index,
    content: tidy(
      renderTemplate("index", {
        header: fileHeader(model, options),
        modules: modules.map(moduleSpecifier),
      }),
    ),
  });
  return files.sort((a, b) => compareCodeUnits(a.path, b.path));
}
