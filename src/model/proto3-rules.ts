/**
 * What protoc rejects in proto3 files but protobufjs accepts silently. Explicit defaults would make
 * the generated decoder disagree with every other proto3 implementation (which decode a missing
 * field as the zero value), so they are errors, as in protoc.
 */
import type { DiagnosticBag } from "./diagnostics.js";
import { type ProtoFile, positionIn } from "./files.js";

/** Reports every `[default = …]` on a field of a proto3 file. */
export function checkProto3Defaults(files: readonly ProtoFile[], diagnostics: DiagnosticBag): void {
  for (const file of files) {
    if (file.bundled || file.proto.syntax !== "proto3") continue;
    for (const option of file.proto.index?.options ?? []) {
      if (option.name !== "default" || option.target.kind !== "field") continue;
      diagnostics.error(
        "proto3-default",
        `field ${option.target.message}.${option.target.field}: explicit default values are not allowed in proto3 (a missing field decodes as its zero value)`,
        positionIn(file, option.place),
      );
    }
  }
}
