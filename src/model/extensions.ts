/**
 * proto2 extensions. protobufjs merges an extension field into the extended message's fields (named
 * `.pkg.ext`), which no emitter can turn into a TypeScript property or a codec branch, so extending
 * a user message is rejected. Extending the bundled descriptor options (`extend
 * google.protobuf.MessageOptions { … }`) declares custom options: it changes no generated type and
 * stays allowed.
 */
import type protobuf from "protobufjs";
import type { DiagnosticBag } from "./diagnostics.js";
import { type ProtoFile, positionIn } from "./files.js";
import type { SymbolTable } from "./symbols.js";

/** Reports every extension of a message that is not one of the bundled descriptor types. */
export function checkExtensions(
  files: readonly ProtoFile[],
  symbols: SymbolTable,
  diagnostics: DiagnosticBag,
): void {
  for (const file of files) {
    if (file.bundled) continue;
    for (const extension of file.proto.index?.extensions ?? []) {
      const extended = symbols.resolve(extension.extended, extension.scope);
      if (extended?.kind === "message" && extended.file.bundled) continue;
      const target = extended?.fullName ?? extension.extended;
      diagnostics.error(
        "unsupported-extension",
        `extension ${extension.fullName} of ${target}: extensions are not supported (only custom options, extending google.protobuf.*Options, are); declare a regular field in ${target} instead`,
        positionIn(file, extension.place),
      );
    }
  }
}

/**
 * The fields a message declares itself: protobufjs also lists the extension fields of other
 * declarations (`declaringField` set), which are reported by {@link checkExtensions}.
 */
export function ownFields(type: protobuf.Type): protobuf.Field[] {
  return type.fieldsArray.filter(
    (field) => field.declaringField === null || field.declaringField === undefined,
  );
}
