/** Emits the cloud-side facade `create<Service>Server()` (`--target server|both`). */
import type { ProtoModel } from "../model/types.js";
import { importList, tidy } from "./code.js";
import { errorSpecName } from "./defs.js";
import { fileHeader } from "./header.js";
import { renderTemplate } from "./render.js";
import { type RuntimeName, runtimeImportList, runtimeLocals } from "./runtime-names.js";
import { moduleSpecifier, SDK_FILES } from "./sdk-files.js";
import type { EmitOptions, GeneratedFile } from "./types.js";
import { buildSdkView } from "./wire-view.js";

export function emitServerFacade(model: ProtoModel, options: EmitOptions): GeneratedFile {
  const view = buildSdkView(model, options);
  const sends = view.wire.filter((message) => message.downlink);
  const errorRole = model.roles.error;
  const errorView = errorRole === undefined ? undefined : view.byFullName.get(errorRole.message.fullName);

  const runtimeImports: RuntimeName[] = ["ServerContext", "ServerEvents", "ServerOptions"];
  const defs: string[] = [];
  const types: string[] = [];
  for (const message of sends) {
    defs.push(message.defName);
    types.push(message.name);
    if (message.reply !== undefined) {
      runtimeImports.push("RequestOptions");
      defs.push(message.reply.requestName);
      types.push(message.reply.name);
      if (message.reply.correlated) runtimeImports.push("DeliveryOptions");
    }
  }
  const usedDefs = [...defs];
  if (errorView !== undefined) {
    runtimeImports.push("PaynetError");
    types.push(errorView.name);
    usedDefs.push(errorSpecName(view.service));
  }

  const rt = runtimeLocals(model);
  const content = renderTemplate("server", {
    header: fileHeader(model, options),
    service: view.service,
    runtimeImports: runtimeImportList(runtimeImports, rt),
    rt,
    runtimeValues: runtimeImportList(["PaynetServer", "Registry"], rt),
    defsModule: moduleSpecifier("defs"),
    defImports: importList(usedDefs),
    dispatchModule: moduleSpecifier("dispatch"),
    handlersModule: moduleSpecifier("handlers"),
    typesModule: moduleSpecifier("types"),
    createImports: importList(sends.map((message) => message.createName)),
    deliverySpecs: sends
      .filter((message) => message.reply?.correlated === true)
      .map((message) => message.reply!.requestName)
      .join(", "),
    typeImports: importList(types),
    sends,
    errorMessage:
      errorView === undefined ? undefined : { name: errorView.name, specName: errorSpecName(view.service) },
  });
  return { path: SDK_FILES.server, content: tidy(content) };
}
