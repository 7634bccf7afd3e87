/**
 * `<prefix>_device.c`: the device side on the paynet C runtime. The login flow and heartbeat
 * (device-flow.ts), the commands through the record (device-commands.ts), the dispatch table of
 * what the device receives, the client hooks, init/start/tick/stop and the typed senders.
 */
import type { MessageModel, ProtoModel, WireMessage } from "../../model/types.js";
import { commandFunctions } from "./device-commands.js";
import { heartbeatBuilder, loginStep, tellServer } from "./device-flow.js";
import { type DeviceView, deviceView, isCommand, reportCall as report } from "./device-view.js";
import { type CServiceNames, messageCName, typeMacro } from "./names.js";
import type { SizeTable } from "./sizes.js";
import { cString, indent } from "./text.js";

function dispatch(v: DeviceView): string[] {
  const p = v.service.prefix;
  const cases: string[] = [];
  for (const { message } of v.received) {
    const name = messageCName(message);
    const local = message.tsName;
    const type = typeMacro(v.service, message);
    const command = isCommand(v, message);
    cases.push(
      `case ${type}: {`,
      `  pn_status status = ${name}_decode(payload, len, &d->in.${local});`,
      "  if (status != PN_OK) {",
      `    ${report(v, "DECODE_FAILED", "status", "type")}`,
      `    tell_server(d, 400u, ${cString(`cannot decode ${message.fullName}`)});`,
      "    return;",
      "  }",
      command !== undefined
        ? `  run_${local}(d, &d->in.${local});`
        : `  if (d->handlers->on_${local} != NULL) d->handlers->on_${local}(d, &d->in.${local});`,
      "  return;",
      "}",
    );
  }
  const flowReplies = [v.registerReply, v.loginReply]
    .filter((message): message is MessageModel => message !== undefined)
    .map((message) => {
      const entry = v.model.wire.find((candidate) => candidate.message.fullName === message.fullName);
      return entry === undefined ? undefined : typeMacro(v.service, entry.message);
    })
    .filter(
      (type): type is string =>
        type !== undefined && !v.received.some((entry) => typeMacro(v.service, entry.message) === type),
    );
  return [
    "static void on_frame(pn_client *c, uint8_t type, const uint8_t *payload, size_t len) {",
    `  ${p}_device *d = c->user;`,
    "  switch (type) {",
    ...indent(cases, 2),
    ...[...new Set(flowReplies)].map((type) => `    case ${type}: /* a login-flow reply out of its step */`),
    ...(flowReplies.length > 0 ? ["      return;"] : []),
    "    default:",
    `      ${report(v, "UNKNOWN_TYPE", "PN_ERR_UNKNOWN_TYPE", "type")}`,
    '      tell_server(d, 404u, "no message registered for this type");',
    "      return;",
    "  }",
    "}",
    "",
  ];
}

export function emitDeviceSource(
  model: ProtoModel,
  service: CServiceNames,
  _sizes: SizeTable,
  header: string,
): string[] {
  const v = deviceView(model, service);
  const p = service.prefix;
  const hasRecord = v.commands.length > 0;
  const encoders = [
    ...new Map(
      [
        ...v.sent.map((entry) => entry.message),
        ...(v.error !== undefined && v.error.wire.direction !== "down" ? [v.error.message] : []),
      ].map((m) => [m.fullName, m]),
    ).values(),
  ];
  const wrappers = encoders.flatMap((message) => [
    `static pn_status encode_${message.tsName}(const void *m, pn_writer *w) {`,
    `  return ${messageCName(message)}_encode(m, w);`,
    "}",
    "",
  ]);
  const senders = v.sent.flatMap(({ message }) => [
    `pn_status ${p}_send_${message.tsName}(${p}_device *d, const ${messageCName(message)} *m) {`,
    `  return pn_client_send(&d->client, ${typeMacro(service, message)}, encode_${message.tsName}, m);`,
    "}",
    "",
  ]);
  const hook = (name: string, present: boolean) => `  ${present ? name : "NULL"},`;
  const type = (wire: WireMessage | undefined) =>
    wire === undefined ? "0" : typeMacro(service, wire.message);
  const replyType = (message: MessageModel | undefined) => {
    const entry =
      message === undefined
        ? undefined
        : model.wire.find((candidate) => candidate.message.fullName === message.fullName);
    return type(entry);
  };
  return [
    header,
    `/* The device side declared in ${service.deviceHeader}. */`,
    `#include "${service.deviceHeader}"`,
    "",
    "#include <string.h>",
    "",
    `static void report(${p}_device *d, ${p}_report_kind kind, pn_status status, uint8_t type, const uint8_t *key, size_t key_len) {`,
    "  if (d->handlers->on_report == NULL) return;",
    `  ${p}_report r = {kind, status, type, key, key_len};`,
    "  d->handlers->on_report(d, &r);",
    "}",
    "",
    ...wrappers,
    ...tellServer(v),
    ...loginStep(v, "register"),
    ...loginStep(v, "login"),
    ...heartbeatBuilder(v),
    ...v.commands.flatMap((command) => commandFunctions(v, command)),
    ...dispatch(v),
    "static void on_event(pn_client *c, const pn_event *event) {",
    `  ${p}_device *d = c->user;`,
    "  if (d->handlers->on_event != NULL) d->handlers->on_event(d, event);",
    "}",
    "",
    `static const pn_client_hooks ${p}_hooks = {`,
    `  ${type(v.register)},`,
    `  ${replyType(v.registerReply)},`,
    `  ${type(v.login)},`,
    `  ${replyType(v.loginReply)},`,
    `  ${type(v.heartbeat)},`,
    hook("build_register", v.register !== undefined),
    hook("build_login", true),
    hook("build_heartbeat", v.heartbeat !== undefined),
    hook("register_reply", v.register !== undefined),
    hook("login_reply", true),
    hook("on_frame", true),
    hook("on_event", true),
    "};",
    "",
    `pn_status ${p}_device_init(${p}_device *d, const pn_client_config *cfg, pn_transport transport,${hasRecord ? " pn_storage storage," : ""} const ${p}_handlers *handlers, void *user) {`,
    "  if (handlers == NULL) return PN_ERR_INVALID;",
    "  memset(d, 0, sizeof *d);",
    "  d->handlers = handlers;",
    "  d->user = user;",
    ...(hasRecord
      ? [
          `  PN_TRY(pn_record_open(&d->record, d->record_entries, d->record_arena, ${service.macro}_RECORD_CAPACITY, ${service.macro}_RECORD_KEY_MAX, ${service.macro}_RECORD_REPLY_MAX, storage));`,
        ]
      : []),
    `  return pn_client_init(&d->client, cfg, &${p}_hooks, d, transport, d->rx, sizeof d->rx, d->tx, sizeof d->tx);`,
    "}",
    "",
    `void ${p}_device_start(${p}_device *d, uint64_t now_ms) {`,
    "  pn_client_start(&d->client, now_ms);",
    "}",
    "",
    `uint32_t ${p}_device_tick(${p}_device *d, uint64_t now_ms) {`,
    "  return pn_client_tick(&d->client, now_ms);",
    "}",
    "",
    `void ${p}_device_stop(${p}_device *d) {`,
    "  pn_client_stop(&d->client);",
    "}",
    "",
    ...senders,
  ];
}
