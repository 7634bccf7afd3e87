/** Emits the functions registering codecs, handlers and replies into the runtime registries. */
import type { ProtoModel } from "../model/types.js";
import { importList, tidy } from "./code.js";
import { fileHeader } from "./header.js";
import { heartbeatAnswer } from "./heartbeat.js";
import { loginStepView } from "./login-steps.js";
import { renderTemplate } from "./render.js";
import { type RuntimeName, runtimeImportList, runtimeLocals } from "./runtime-names.js";
import { moduleSpecifier, SDK_FILES } from "./sdk-files.js";
import type { EmitOptions, GeneratedFile } from "./types.js";
import { buildSdkView, type WireView } from "./wire-view.js";

/** Roles whose messages the server accepts from a connection that has not logged in yet. */
const LOGIN_FLOW_ROLES: ReadonlySet<string> = new Set(["register", "login", "heartbeat"]);

export function emitDispatch(model: ProtoModel, options: EmitOptions): GeneratedFile {
  const view = buildSdkView(model, options);
  const service = view.service;
  const heartbeat = heartbeatAnswer(model, options);
  const serverReceives = view.wire
    .filter((message) => message.uplink)
    .map((message) => {
      const entry = model.wire.find((candidate) => candidate.message.fullName === message.fullName);
      const loginStep = entry === undefined ? undefined : loginStepView(model, entry, options);
      return {
        ...message,
        defaultHandler: heartbeat?.request.name === message.name ? `answer${message.name}` : undefined,
        beforeLogin: message.role !== undefined && LOGIN_FLOW_ROLES.has(message.role),
        loginStep:
          loginStep === undefined
            ? undefined
            : { ...loginStep, usesError: loginStep.refusal?.includes("error.") === true },
      };
    });
  const refusalEnums = serverReceives.flatMap((message) =>
    message.loginStep?.refusalEnum === undefined ? [] : [message.loginStep.refusalEnum],
  );
  // A BOTH heartbeat the cloud sends is answered by the device too, unless a handler is given.
  const clientReceives = view.wire
    .filter((message) => message.downlink)
    .map((message) => ({
      ...message,
      defaultHandler: heartbeat?.request.name === message.name ? `answer${message.name}` : undefined,
    }));
  // A side's context class exists only when that side receives something (else it would be unused).
  const serverSends = serverReceives.length > 0 ? clientReceives : [];
  const clientSends = clientReceives.length > 0 ? view.wire.filter((message) => message.uplink) : [];

  const defs: string[] = [];
  const types: string[] = [];
  const received = (messages: readonly WireView[]) => {
    for (const message of messages) {
      defs.push(message.defName);
      types.push(message.name);
      if (message.reply !== undefined) {
        defs.push(message.reply.defName);
        types.push(message.reply.name);
      }
    }
  };
  received(serverReceives);
  received(clientReceives);
  for (const message of [...serverSends, ...clientSends]) {
    defs.push(message.defName);
    types.push(message.name);
  }
  if (heartbeat !== undefined) types.push(heartbeat.request.name, heartbeat.reply.name);

  const runtimeImports: RuntimeName[] = ["ClientContext", "Registry", "ServerContext"];
  if (serverReceives.length > 0) runtimeImports.push("Session");
  const handlerImports = [`${service}ClientHandlers`, `${service}ServerHandlers`];
  if (serverReceives.length > 0) handlerImports.push(`${service}ServerContext`);
  if (clientReceives.length > 0) handlerImports.push(`${service}ClientContext`);

  // Enums the device's failure replies name (`CoinState.COIN_FAILED`).
  const failureEnums = clientReceives.flatMap((message) =>
    message.key !== undefined && message.reply?.final?.failureReply !== undefined
      ? message.reply.final.enumNames
      : [],
  );
  const rt = runtimeLocals(model);
  const content = renderTemplate("dispatch", {
    header: fileHeader(model, options),
    service,
    runtimeImports: runtimeImportList(runtimeImports, rt),
    rt,
    defsModule: moduleSpecifier("defs"),
    defImports: importList(defs),
    handlersModule: moduleSpecifier("handlers"),
    handlerImports: importList(handlerImports),
    typesModule: moduleSpecifier("types"),
    valueImports: importList([
      ...[...serverSends, ...clientSends].map((message) => message.createName),
      ...failureEnums,
      ...refusalEnums,
    ]),
    usesProtobuf:
      clientReceives.some(
        (message) => message.reply?.final?.usesProtobuf === true && message.key !== undefined,
      ) || serverReceives.some((message) => message.loginStep?.refusal?.includes("$pb.") === true),
    typeImports: importList(types),
    serverReceives,
    clientReceives,
    serverSends,
    clientSends,
    heartbeat,
    clientAnswersHeartbeat: clientReceives.some((message) => message.defaultHandler !== undefined),
    loginSteps: serverReceives.some((message) => message.loginStep !== undefined),
  });
  return { path: SDK_FILES.dispatch, content: tidy(content) };
}
