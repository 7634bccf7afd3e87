/**
 * The login flow and heartbeat of the generated device source: building register, login and ping
 * from the application's fill handlers, judging the replies by their `code`, and `tell_server`
 * (the error role message the device answers bad frames with).
 */
import type { FieldModel, MessageModel } from "../../model/types.js";
import { ERROR_TEXT_FIELDS } from "../error-message.js";
import { scalarField } from "../wire-view.js";
import type { DeviceView } from "./device-view.js";
import { hasFlag } from "./messages.js";
import { boundMacro, memberName, messageCName, typeMacro } from "./names.js";
import { indent } from "./text.js";

/** The reply's `code` check: accepted when 0. Undefined: every reply is accepted. */
function codeField(message: MessageModel): FieldModel | undefined {
  const field = scalarField(message, ["code"]);
  if (field === undefined) return undefined;
  if (field.value.kind === "enum") return field;
  if (
    field.value.kind === "scalar" &&
    !["string", "bytes", "bool", "double", "float"].includes(field.value.scalar)
  )
    return field;
  return undefined;
}

export function loginStep(v: DeviceView, step: "register" | "login"): string[] {
  const wire = step === "register" ? v.register : v.login;
  const reply = step === "register" ? v.registerReply : v.loginReply;
  if (wire === undefined || reply === undefined) return [];
  const p = v.service.prefix;
  const request = messageCName(wire.message);
  const replyName = messageCName(reply);
  const code = codeField(reply);
  const verdict =
    code === undefined
      ? ["return PN_OK;"]
      : [`return d->in.${reply.tsName}.${memberName(code.protoName)} == 0 ? PN_OK : PN_ERR_LOGIN_REFUSED;`];
  return [
    `static pn_status build_${step}(pn_client *c, pn_writer *w) {`,
    `  ${p}_device *d = c->user;`,
    `  ${request} *m = &d->out.${wire.message.tsName};`,
    `  ${request}_init(m);`,
    `  if (d->handlers->fill_${wire.message.tsName} != NULL) d->handlers->fill_${wire.message.tsName}(d, m);`,
    `  return ${request}_encode(m, w);`,
    "}",
    "",
    `static pn_status ${step}_reply(pn_client *c, const uint8_t *payload, size_t len) {`,
    `  ${p}_device *d = c->user;`,
    `  PN_TRY(${replyName}_decode(payload, len, &d->in.${reply.tsName}));`,
    `  if (d->handlers->on_${reply.tsName} != NULL) d->handlers->on_${reply.tsName}(d, &d->in.${reply.tsName});`,
    ...indent(verdict),
    "}",
    "",
  ];
}

export function heartbeatBuilder(v: DeviceView): string[] {
  if (v.heartbeat === undefined) return [];
  const p = v.service.prefix;
  const name = messageCName(v.heartbeat.message);
  const local = v.heartbeat.message.tsName;
  return [
    "static pn_status build_heartbeat(pn_client *c, pn_writer *w, uint64_t now_ms) {",
    `  ${p}_device *d = c->user;`,
    `  ${name} *m = &d->out.${local};`,
    "  (void)now_ms;",
    `  ${name}_init(m);`,
    `  if (d->handlers->fill_${local} != NULL) d->handlers->fill_${local}(d, m);`,
    `  return ${name}_encode(m, w);`,
    "}",
    "",
  ];
}

/** `tell_server(d, status, text)`: the error role message (code as an HTTP-like status, text). */
export function tellServer(v: DeviceView): string[] {
  const p = v.service.prefix;
  if (v.error === undefined || v.error.wire.direction === "down") {
    return [
      `static void tell_server(${p}_device *d, uint32_t status, const char *text) {`,
      "  (void)d;",
      "  (void)status;",
      "  (void)text;",
      "}",
      "",
    ];
  }
  const message = v.error.message;
  const name = messageCName(message);
  const code = scalarField(message, ["code"]);
  const text = ERROR_TEXT_FIELDS.map((field) => scalarField(message, [field])).find(
    (field) => field?.value.kind === "scalar" && field.value.scalar === "string",
  );
  const lines = [`  ${name} *m = &d->out.${message.tsName};`, `  ${name}_init(m);`];
  let usesStatus = false;
  if (
    code !== undefined &&
    code.value.kind === "scalar" &&
    !["string", "bytes", "bool"].includes(code.value.scalar)
  ) {
    const type = code.value.scalar;
    const cast = type.includes("64")
      ? type.startsWith("u") || type === "fixed64"
        ? "(uint64_t)"
        : "(int64_t)"
      : type.startsWith("u") || type === "fixed32"
        ? ""
        : "(int32_t)";
    lines.push(`  m->${memberName(code.protoName)} = ${cast}status;`);
    if (hasFlag(code)) lines.push(`  m->has_${code.protoName} = true;`);
    usesStatus = true;
  }
  if (text !== undefined) {
    const member = `m->${memberName(text.protoName)}`;
    lines.push(
      `  size_t n = strlen(text);`,
      `  if (n > ${boundMacro(message, text, "MAX_SIZE")}) n = ${boundMacro(message, text, "MAX_SIZE")};`,
      `  memcpy(${member}.data, text, n);`,
      `  ${member}.data[n] = '\\0';`,
      `  ${member}.len = (uint32_t)n;`,
    );
    if (hasFlag(text)) lines.push(`  m->has_${text.protoName} = true;`);
  } else lines.push("  (void)text;");
  if (!usesStatus) lines.push("  (void)status;");
  lines.push(
    `  (void)pn_client_send(&d->client, ${typeMacro(v.service, message)}, encode_${message.tsName}, m);`,
  );
  return [`static void tell_server(${p}_device *d, uint32_t status, const char *text) {`, ...lines, "}", ""];
}
