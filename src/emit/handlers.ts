/** Emits the handler interfaces and handler contexts of both sides. */
import type { ProtoModel } from "../model/types.js";
import { importList, tidy } from "./code.js";
import { fileHeader } from "./header.js";
import { heartbeatAnswer } from "./heartbeat.js";
import { renderTemplate } from "./render.js";
import { runtimeImportList, runtimeLocals } from "./runtime-names.js";
import { moduleSpecifier, SDK_FILES } from "./sdk-files.js";
import type { EmitOptions, GeneratedFile } from "./types.js";
import { buildSdkView, type WireView } from "./wire-view.js";

/** Names of the message types a set of received messages and sends refer to. */
export function referencedTypes(received: readonly WireView[], sent: readonly WireView[]): string[] {
  const names: string[] = [];
  for (const message of received) {
    names.push(message.name);
    if (message.reply !== undefined) names.push(message.reply.name);
  }
  for (const message of sent) names.push(message.name);
  return names;
}

export function emitHandlers(model: ProtoModel, options: EmitOptions): GeneratedFile {
  const view = buildSdkView(model, options);
  const serverReceives = view.wire.filter((message) => message.uplink);
  const clientReceives = view.wire.filter((message) => message.downlink);
  const answer = heartbeatAnswer(model, options);
  const types = [
    ...referencedTypes(serverReceives, clientReceives),
    ...referencedTypes(clientReceives, serverReceives),
  ];
  const rt = runtimeLocals(model);
  const content = renderTemplate("handlers", {
    header: fileHeader(model, options),
    service: view.service,
    runtimeImports: runtimeImportList(["ClientContext", "ServerContext", "Session"], rt),
    rt,
    typesModule: moduleSpecifier("types"),
    typeImports: importList(types),
    serverReceives,
    clientReceives,
    serverSends: clientReceives,
    clientSends: serverReceives,
    serverDefaultHeartbeat:
      answer === undefined
        ? undefined
        : { name: answer.request.name, reply: answer.reply, echo: answer.echo },
  });
  return { path: SDK_FILES.handlers, content: tidy(content) };
}
