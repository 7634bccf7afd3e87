/** Emits `MessageDef`s per wire message, `RequestSpec`s per request/reply pair and the error-message spec. */
import type { ProtoModel } from "../model/types.js";
import { importList, tidy } from "./code.js";
import { errorMessageInits, needsProtobufHelpers, needsStatus, noticeExpression } from "./error-message.js";
import { fileHeader } from "./header.js";
import { renderTemplate } from "./render.js";
import { type RuntimeName, runtimeImportList, runtimeLocals } from "./runtime-names.js";
import { moduleSpecifier, SDK_FILES } from "./sdk-files.js";
import type { EmitOptions, GeneratedFile } from "./types.js";
import { buildSdkView } from "./wire-view.js";

/** `payboxErrorMessage` — the function giving the runtime's `ErrorMessageSpec`. */
export function errorSpecName(service: string): string {
  return `${service.charAt(0).toLowerCase()}${service.slice(1)}ErrorMessage`;
}

export function emitDefs(model: ProtoModel, options: EmitOptions): GeneratedFile {
  const view = buildSdkView(model, options);
  const requests = view.wire.filter((message) => message.reply !== undefined);
  const errorRole = model.roles.error;
  const errorView = errorRole === undefined ? undefined : view.byFullName.get(errorRole.message.fullName);
  const inits = errorRole === undefined ? [] : errorMessageInits(errorRole.message, options);
  const runtimeImports: RuntimeName[] = ["MessageDef"];
  if (requests.length > 0) runtimeImports.push("RequestSpec");
  if (errorView !== undefined) runtimeImports.push("ErrorMessageSpec", "PaynetError");
  const values = new Set<string>();
  for (const request of requests) for (const name of request.reply?.final?.enumNames ?? []) values.add(name);
  if (errorView !== undefined) values.add(errorView.createName);
  const rt = runtimeLocals(model);
  const content = renderTemplate("defs", {
    header: fileHeader(model, options),
    service: view.service,
    runtimeImports: runtimeImportList(runtimeImports, rt),
    rt,
    codecsModule: moduleSpecifier("codecs"),
    typesModule: moduleSpecifier("types"),
    typeImports: importList(view.wire.map((message) => message.name)),
    valueImports: importList([...values]),
    wire: view.wire,
    requests,
    errorMessage:
      errorView === undefined
        ? undefined
        : {
            name: errorView.name,
            defName: errorView.defName,
            createName: errorView.createName,
            specName: errorSpecName(view.service),
            inits,
            status: needsStatus(inits),
            notice: errorRole === undefined ? undefined : noticeExpression(errorRole.message),
            protobufHelpers: needsProtobufHelpers(inits),
          },
  });
  return { path: SDK_FILES.defs, content: tidy(content) };
}
