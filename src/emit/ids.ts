/** Emits the Type-ID map: `MessageType`, per-direction tables and the reverse lookup. */
import type { ProtoModel } from "../model/types.js";
import { tidy } from "./code.js";
import { fileHeader } from "./header.js";
import { renderTemplate } from "./render.js";
import { SDK_FILES } from "./sdk-files.js";
import type { EmitOptions, GeneratedFile } from "./types.js";
import { buildSdkView } from "./wire-view.js";

export function emitMessageIds(model: ProtoModel, options: EmitOptions): GeneratedFile {
  const view = buildSdkView(model, options);
  const content = renderTemplate("message-ids", {
    header: fileHeader(model, options),
    service: view.service,
    wire: view.wire,
    uplink: view.wire.filter((message) => message.uplink),
    downlink: view.wire.filter((message) => message.downlink),
  });
  return { path: SDK_FILES.ids, content: tidy(content) };
}
