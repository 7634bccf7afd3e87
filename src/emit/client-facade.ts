/** Emits the device-side facade `create<Service>Client()` (`--target client|both`). */
import type { FieldModel, ProtoModel, WireMessage } from "../model/types.js";
import { importList, tidy } from "./code.js";
import { errorSpecName } from "./defs.js";
import { textField } from "./error-message.js";
import { fileHeader } from "./header.js";
import { heartbeatTimestampInit } from "./heartbeat.js";
import { renderTemplate } from "./render.js";
import { type RuntimeName, runtimeImportList, runtimeLocals } from "./runtime-names.js";
import { moduleSpecifier, SDK_FILES } from "./sdk-files.js";
import { isOptionalProperty } from "./ts-types.js";
import type { EmitOptions, GeneratedFile } from "./types.js";
import { buildSdkView, isSixtyFourBit, type SdkView, scalarField, type WireView } from "./wire-view.js";

/** A typed login-flow step (REGISTER or LOGIN role with a reply). */
interface StepView {
  readonly name: string;
  readonly createName: string;
  readonly requestName: string;
  readonly reply: { readonly name: string };
  /** Boolean expression over `reply`: accepted. Undefined: every reply is accepted. */
  readonly codeCheck: string | undefined;
  /** Object-literal body of the refusal verdict. */
  readonly verdict: string | undefined;
  readonly acceptText: string;
}

export function emitClientFacade(model: ProtoModel, options: EmitOptions): GeneratedFile {
  const view = buildSdkView(model, options);
  const sends = view.wire.filter((message) => message.uplink);
  const login = loginStepView(model.roles.login, view, model, options);
  const register =
    login === undefined ? undefined : loginStepView(model.roles.register, view, model, options);
  const heartbeatRole = model.roles.heartbeat;
  const heartbeatView =
    heartbeatRole === undefined || heartbeatRole.wire.direction === "down"
      ? undefined
      : view.byFullName.get(heartbeatRole.message.fullName);
  const timestamp =
    heartbeatRole === undefined ? undefined : heartbeatTimestampInit(heartbeatRole.message, options);
  const errorRole = model.roles.error;
  const errorView = errorRole === undefined ? undefined : view.byFullName.get(errorRole.message.fullName);

  const omitted = ["registry"];
  const extraOptionNames: string[] = [];
  const runtimeImports: RuntimeName[] = ["ClientContext", "ClientEvents", "ClientOptions"];
  const defs: string[] = [];
  const creates: string[] = [];
  const types: string[] = [];
  for (const message of sends) {
    defs.push(message.defName);
    creates.push(message.createName);
    types.push(message.name);
    if (message.reply !== undefined) {
      runtimeImports.push("RequestOptions");
      defs.push(message.reply.requestName);
      types.push(message.reply.name);
    }
  }
  if (login !== undefined) {
    omitted.push("login");
    extraOptionNames.push("login", "acceptLogin", "onLoginReply", "loginTimeoutMs", "onLoginRefused");
    runtimeImports.push("LoginFlow", "LoginStep", "LoginVerdict", "PaynetError", "RequestSpec");
    types.push(login.reply.name);
    if (register !== undefined) {
      extraOptionNames.push("register", "acceptRegister", "onRegisterReply");
      types.push(register.reply.name);
    }
  }
  if (heartbeatView !== undefined) {
    omitted.push("heartbeat");
    extraOptionNames.push("heartbeat: heartbeatSettings");
    runtimeImports.push("HeartbeatOptions");
    types.push(heartbeatView.name);
    // The heartbeat's reply (Pong) lets the client measure the heartbeat round trip.
    if (heartbeatView.reply !== undefined) defs.push(heartbeatView.reply.defName);
  }
  if (errorView !== undefined) {
    omitted.push("errorMessage");
    extraOptionNames.push("errorMessage: errorMessageBuilder");
    runtimeImports.push("PaynetError");
    types.push(errorView.name);
    defs.push(errorSpecName(view.service));
  }

  const rt = runtimeLocals(model);
  const content = renderTemplate("client", {
    header: fileHeader(model, options),
    service: view.service,
    runtimeImports: runtimeImportList(runtimeImports, rt),
    rt,
    runtimeValues: runtimeImportList(["PaynetClient", "Registry"], rt),
    defsModule: moduleSpecifier("defs"),
    defImports: importList(defs),
    dispatchModule: moduleSpecifier("dispatch"),
    handlersModule: moduleSpecifier("handlers"),
    typesModule: moduleSpecifier("types"),
    createImports: importList(creates),
    typeImports: importList(types),
    omitted: omitted.join('" | "'),
    extraOptions: extraOptionNames.length > 0,
    extraOptionNames: extraOptionNames.join(", "),
    sends,
    login,
    register,
    heartbeat:
      heartbeatView === undefined
        ? undefined
        : {
            name: heartbeatView.name,
            defName: heartbeatView.defName,
            replyDefName: heartbeatView.reply?.defName,
            createName: heartbeatView.createName,
            timestamp: timestamp ?? "",
            timestampField: timestamp === undefined ? undefined : timestamp.slice(0, timestamp.indexOf(":")),
          },
    errorMessage:
      errorView === undefined ? undefined : { name: errorView.name, specName: errorSpecName(view.service) },
  });
  return { path: SDK_FILES.client, content: tidy(content) };
}

function loginStepView(
  role: WireMessage | undefined,
  view: SdkView,
  model: ProtoModel,
  options: EmitOptions,
): StepView | undefined {
  if (role === undefined || role.wire.direction === "down") return undefined;
  const request: WireView | undefined = view.byFullName.get(role.message.fullName);
  if (request?.reply === undefined) return undefined;
  const replyMessage = model.messages.find((message) => message.fullName === role.wire.reply);
  const code = replyMessage === undefined ? undefined : scalarField(replyMessage, ["code"]);
  const check = code === undefined ? undefined : codeCheck(code, options);
  const text = replyMessage === undefined ? undefined : textField(replyMessage);
  const verdictParts: string[] = [];
  if (check !== undefined && code !== undefined) {
    verdictParts.push(`code: ${check.verdictCode}`);
    if (text !== undefined && !isOptionalProperty(text)) verdictParts.push(`message: reply.${text.tsName}`);
  }
  return {
    name: request.name,
    createName: request.createName,
    requestName: request.reply.requestName,
    reply: { name: request.reply.name },
    codeCheck: check?.accepted,
    verdict: verdictParts.length > 0 ? verdictParts.join(", ") : undefined,
    acceptText:
      check === undefined
        ? "every reply is accepted"
        : `accepted when \`${code?.tsName}\` is 0, refused with its code${text === undefined ? "" : ` and \`${text.tsName}\``} otherwise`,
  };
}

/** `reply.code === 0` and the verdict's code, for a numeric or enum `code` field. */
function codeCheck(
  field: FieldModel,
  options: EmitOptions,
): { accepted: string; verdictCode: string } | undefined {
  const value = isOptionalProperty(field) ? `(reply.${field.tsName} ?? 0)` : `reply.${field.tsName}`;
  if (field.value.kind === "enum") return { accepted: `${value} === 0`, verdictCode: value };
  if (field.value.kind !== "scalar") return undefined;
  const scalar = field.value.scalar;
  if (scalar === "string" || scalar === "bool" || scalar === "bytes") return undefined;
  if (isSixtyFourBit(scalar)) {
    if (options.int64 === "string") {
      const text = isOptionalProperty(field) ? `(reply.${field.tsName} ?? "0")` : `reply.${field.tsName}`;
      return { accepted: `${text} === "0"`, verdictCode: text };
    }
    const big = isOptionalProperty(field) ? `(reply.${field.tsName} ?? BigInt(0))` : `reply.${field.tsName}`;
    return { accepted: `${big} === BigInt(0)`, verdictCode: `String(${big})` };
  }
  return { accepted: `${value} === 0`, verdictCode: value };
}
