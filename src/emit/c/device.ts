/**
 * The device side of the C SDK (`paybox_device.h/.c`) on the paynet C runtime: the login flow
 * (register → login, replies judged by their `code`), the heartbeat, a dispatch table of what the
 * device receives, typed senders of what it sends, and commands executed at most once through the
 * durable record (claimed before their handler runs, every reply recorded before it goes out,
 * repeats answered from the record, commands interrupted by a reboot answered as failed).
 */
import type { FieldModel, MessageModel, ProtoModel, WireMessage } from "../../model/types.js";
import { ERROR_TEXT_FIELDS } from "../error-message.js";
import { scalarField } from "../wire-view.js";
import { type DeviceCommand, deviceCommands } from "./commands.js";
import { hasFlag } from "./messages.js";
import {
  boundMacro,
  type CServiceNames,
  enumValueCName,
  memberName,
  messageCName,
  typeMacro,
} from "./names.js";
import type { SizeTable } from "./sizes.js";
import { cString, indent } from "./text.js";
import { isSizedScalar } from "./values.js";

/** Text an interrupted command's failure reply carries (the TypeScript runtime's too). */
export const INTERRUPTED_REASON =
  "interrupted, reconcile manually: the device stopped while executing this command";

interface DeviceView {
  readonly model: ProtoModel;
  readonly service: CServiceNames;
  readonly register: WireMessage | undefined;
  readonly registerReply: MessageModel | undefined;
  readonly login: WireMessage;
  readonly loginReply: MessageModel;
  readonly heartbeat: WireMessage | undefined;
  readonly error: WireMessage | undefined;
  readonly commands: readonly DeviceCommand[];
  /** Messages the device receives and hands to handlers (commands included). */
  readonly received: readonly WireMessage[];
  /** Messages the device sends with paybox_send_X. */
  readonly sent: readonly WireMessage[];
}

/** A device side exists when the model has a LOGIN role the device sends and a reply to it. */
export function hasDeviceSide(model: ProtoModel): boolean {
  return viewOf(model, undefined) !== undefined;
}

function replyOf(model: ProtoModel, wire: WireMessage | undefined): MessageModel | undefined {
  if (wire === undefined || wire.wire.reply === undefined) return undefined;
  return model.messages.find((message) => message.fullName === wire.wire.reply);
}

function viewOf(model: ProtoModel, service: CServiceNames | undefined): DeviceView | undefined {
  const login = model.roles.login;
  if (login === undefined || login.wire.direction === "down") return undefined;
  const loginReply = replyOf(model, login);
  if (loginReply === undefined) return undefined;
  const register = model.roles.register?.wire.direction === "down" ? undefined : model.roles.register;
  const registerReply = replyOf(model, register);
  const heartbeat = model.roles.heartbeat?.wire.direction === "down" ? undefined : model.roles.heartbeat;
  const flow = new Set([register?.message.fullName, login.message.fullName, heartbeat?.message.fullName]);
  const replies = new Set([registerReply?.fullName, loginReply.fullName]);
  return {
    model,
    service: service ?? {
      prefix: "",
      macro: "",
      codecHeader: "",
      codecSource: "",
      deviceHeader: "",
      deviceSource: "",
    },
    register: registerReply === undefined ? undefined : register,
    registerReply,
    login,
    loginReply,
    heartbeat,
    error: model.roles.error,
    commands: deviceCommands(model),
    received: model.wire.filter(
      (entry) => entry.wire.direction !== "up" && !replies.has(entry.message.fullName),
    ),
    sent: model.wire.filter((entry) => entry.wire.direction !== "down" && !flow.has(entry.message.fullName)),
  };
}

function view(model: ProtoModel, service: CServiceNames): DeviceView {
  const found = viewOf(model, service);
  if (found === undefined) throw new Error("internal: the model has no device side");
  return found;
}

function isCommand(v: DeviceView, message: MessageModel): DeviceCommand | undefined {
  return v.commands.find((command) => command.request.fullName === message.fullName);
}

/** Largest correlation key of the commands, in record bytes. */
function keyMax(v: DeviceView): number {
  return Math.max(
    1,
    ...v.commands.map((command) => (isSizedScalar(command.key.value) ? (command.key.maxSize ?? 0) : 8)),
  );
}

function replyMax(v: DeviceView, sizes: SizeTable): number {
  return Math.max(0, ...v.commands.map((command) => sizes.maxSize(command.reply.fullName)));
}

// ---- header ---------------------------------------------------------------------------------------

export function emitDeviceHeader(
  model: ProtoModel,
  service: CServiceNames,
  sizes: SizeTable,
  header: string,
): string[] {
  const v = view(model, service);
  const p = service.prefix;
  const M = service.macro;
  const device = `${p}_device`;
  const hasRecord = v.commands.length > 0;
  const guard = `${M}_DEVICE_H`;
  const handlerMembers: string[] = [];
  const fill = (wire: WireMessage | undefined, what: string) => {
    if (wire === undefined) return;
    const name = messageCName(wire.message);
    handlerMembers.push(
      `/** Fills the ${what} (${wire.message.fullName}) before it is sent; NULL: defaults. */`,
    );
    handlerMembers.push(`void (*fill_${wire.message.tsName})(${device} *d, ${name} *m);`);
  };
  const replyHandler = (reply: MessageModel | undefined) => {
    if (reply === undefined) return;
    handlerMembers.push(`/** Told every ${reply.fullName} (the client judges it by its code). */`);
    handlerMembers.push(`void (*on_${reply.tsName})(${device} *d, const ${messageCName(reply)} *m);`);
  };
  fill(v.register, "register request");
  replyHandler(v.registerReply);
  fill(v.login, "login request");
  replyHandler(v.loginReply);
  fill(v.heartbeat, "heartbeat");
  for (const { message } of v.received) {
    const command = isCommand(v, message);
    if (command !== undefined) {
      handlerMembers.push(
        `/** Runs a ${message.fullName} seen for the first time; answer it with ${p}_reply_${message.tsName} (now or later). */`,
        `void (*on_${message.tsName})(${device} *d, ${p}_command cmd, const ${messageCName(message)} *m);`,
      );
    } else {
      handlerMembers.push(`void (*on_${message.tsName})(${device} *d, const ${messageCName(message)} *m);`);
    }
  }
  handlerMembers.push(
    "/** What the connection does (one event per step: connecting, online, offline with its reason, ...). */",
    `void (*on_event)(${device} *d, const pn_event *event);`,
    "/** What the SDK decided about an inbound frame (a repeat answered from the record, an unknown Type, ...). */",
    `void (*on_report)(${device} *d, const ${p}_report *report);`,
  );
  const unionOf = (members: string[]) => (members.length === 0 ? [] : ["union {", ...indent(members), "}"]);
  const inMembers = [
    ...new Map(
      [
        ...v.received.map((entry) => entry.message),
        ...(v.registerReply ? [v.registerReply] : []),
        v.loginReply,
      ].map((message) => [message.fullName, `${messageCName(message)} ${message.tsName};`]),
    ).values(),
  ];
  const outMessages = [
    v.register?.message,
    v.login.message,
    v.heartbeat?.message,
    ...v.commands.map((c) => c.reply),
    v.error?.message,
  ].filter((message): message is MessageModel => message !== undefined);
  const outMembers = [
    ...new Map(
      outMessages.map((message) => [message.fullName, `${messageCName(message)} ${message.tsName};`]),
    ).values(),
  ];
  const senders = v.sent.flatMap(({ message }) => [
    `/** Queues a ${message.fullName} (${typeMacro(service, message)}); PN_ERR_NOT_CONNECTED unless online, PN_ERR_QUEUE_FULL, PN_ERR_BOUND. */`,
    `pn_status ${p}_send_${message.tsName}(${device} *d, const ${messageCName(message)} *m);`,
  ]);
  const replies = v.commands.flatMap((command) => [
    `/**`,
    ` * Records reply as the latest of cmd's ${command.request.fullName}, then sends it. A final reply${command.finality === undefined ? " (every reply of this command is final)" : ` (${command.finality.field.protoName} ${command.finality.finalValues.join(" or ")})`}`,
    " * ends the command. Recorded even when offline: the cloud's redelivery is answered from the record.",
    " * PN_ERR_STORAGE when it could not be recorded (nothing sent then); PN_ERR_INVALID after the final reply.",
    " */",
    `pn_status ${p}_reply_${command.request.tsName}(${device} *d, ${p}_command cmd, const ${messageCName(command.reply)} *reply);`,
  ]);
  const initParams = `${device} *d, const pn_client_config *cfg, pn_transport transport,${hasRecord ? " pn_storage storage," : ""} const ${p}_handlers *handlers, void *user`;
  return [
    header,
    "/*",
    ` * The device side of ${model.inputNames.join(", ")} on the paynet C runtime: ${p}_device holds the client,`,
    " * its buffers and the record of executed commands. Drive it with " +
      `${p}_device_tick(now_ms) from the`,
    " * main loop; it logs in, heartbeats, reconnects, dispatches what arrives to the handlers and runs",
    " * each command at most once.",
    " */",
    `#ifndef ${guard}`,
    `#define ${guard}`,
    "",
    `#include "${service.codecHeader}"`,
    "",
    "#include <paynet/pn_client.h>",
    ...(hasRecord ? ["#include <paynet/pn_record.h>"] : []),
    "",
    "#ifdef __cplusplus",
    'extern "C" {',
    "#endif",
    "",
    "/** Extra receive room for fields a newer cloud may add (unknown fields are skipped). */",
    `#ifndef ${M}_RX_SLACK`,
    `#define ${M}_RX_SLACK 64u`,
    "#endif",
    "/** Frames of the largest uplink size the send buffer holds. */",
    `#ifndef ${M}_TX_FRAMES`,
    `#define ${M}_TX_FRAMES 4u`,
    "#endif",
    `#define ${M}_RX_SIZE (${M}_MAX_DOWNLINK_PAYLOAD + ${M}_RX_SLACK)`,
    `#define ${M}_TX_SIZE (${M}_TX_FRAMES * (PN_FRAME_HEADER_SIZE + ${M}_MAX_UPLINK_PAYLOAD))`,
    ...(hasRecord
      ? [
          "/** Commands the record remembers; the oldest finished one makes room for a new one. */",
          `#ifndef ${M}_RECORD_CAPACITY`,
          `#define ${M}_RECORD_CAPACITY 32u`,
          "#endif",
          `#define ${M}_RECORD_KEY_MAX ${keyMax(v)}u`,
          `#define ${M}_RECORD_REPLY_MAX ${replyMax(v, sizes)}u`,
          "/** Bytes of durable storage the record needs. */",
          `#define ${M}_RECORD_STORAGE_SIZE PN_RECORD_STORAGE_SIZE(${M}_RECORD_CAPACITY, ${M}_RECORD_KEY_MAX, ${M}_RECORD_REPLY_MAX)`,
        ]
      : []),
    "",
    `typedef struct ${device} ${device};`,
    "",
    ...(hasRecord
      ? [
          `/** A command being executed: give it to ${p}_reply_X. Valid until its final reply. */`,
          `typedef struct ${p}_command {`,
          "  uint32_t entry;",
          `} ${p}_command;`,
          "",
        ]
      : []),
    `typedef enum ${p}_report_kind {`,
    `  /** A command seen before: not run again; answered with its latest recorded reply. */`,
    `  ${M}_REPORT_DUPLICATE,`,
    `  /** A command that was running when the device went down: not run again; answered as failed. */`,
    `  ${M}_REPORT_INTERRUPTED,`,
    `  /** The record could not be read or written (status): the command was not run. */`,
    `  ${M}_REPORT_RECORD_FAILED,`,
    `  /** A command without a correlation value: it cannot be told apart from others, so it was not run. */`,
    `  ${M}_REPORT_CORRELATION_MISSING,`,
    `  /** A frame of a Type this device does not know (the server is told). */`,
    `  ${M}_REPORT_UNKNOWN_TYPE,`,
    `  /** A payload that is not a valid message of its Type (status; the server is told). */`,
    `  ${M}_REPORT_DECODE_FAILED,`,
    `  /** A message without a handler: ignored. */`,
    `  ${M}_REPORT_UNHANDLED`,
    `} ${p}_report_kind;`,
    "",
    `typedef struct ${p}_report {`,
    `  ${p}_report_kind kind;`,
    "  pn_status status;",
    "  uint8_t type;",
    "  /** The command's correlation value (raw bytes; integers little-endian), or NULL. */",
    "  const uint8_t *key;",
    "  size_t key_len;",
    `} ${p}_report;`,
    "",
    "/** The application's side; every member may be NULL. */",
    `typedef struct ${p}_handlers {`,
    ...indent(handlerMembers),
    `} ${p}_handlers;`,
    "",
    `struct ${device} {`,
    "  pn_client client;",
    ...(hasRecord ? ["  pn_record record;"] : []),
    `  const ${p}_handlers *handlers;`,
    "  /** The application's pointer, untouched by the SDK. */",
    "  void *user;",
    "  /** The inbound message being handled, decoded. */",
    ...indent(
      unionOf(inMembers).map((line, index, all) => (index === all.length - 1 ? `${line} in;` : line)),
    ),
    "  /** Outbound messages the SDK builds (login flow, heartbeat, failure replies, error reports). */",
    ...indent(
      unionOf(outMembers).map((line, index, all) => (index === all.length - 1 ? `${line} out;` : line)),
    ),
    ...(hasRecord
      ? [
          `  uint8_t reply[${M}_RECORD_REPLY_MAX > 0 ? ${M}_RECORD_REPLY_MAX : 1];`,
          `  pn_record_entry record_entries[${M}_RECORD_CAPACITY];`,
          `  uint8_t record_arena[PN_RECORD_ARENA_SIZE(${M}_RECORD_CAPACITY, ${M}_RECORD_KEY_MAX, ${M}_RECORD_REPLY_MAX)];`,
        ]
      : []),
    `  uint8_t rx[${M}_RX_SIZE];`,
    `  uint8_t tx[${M}_TX_SIZE];`,
    "};",
    "",
    `/**`,
    ` * Prepares the device: the client (cfg, transport)${hasRecord ? " and the record, loaded from storage (PN_ERR_STORAGE when it cannot be read)" : ""}.`,
    " */",
    `pn_status ${p}_device_init(${initParams});`,
    "/** Starts connecting at the next tick. */",
    `void ${p}_device_start(${device} *d, uint64_t now_ms);`,
    "/** Runs what is due; returns how long the caller may sleep (see pn_client_tick). */",
    `uint32_t ${p}_device_tick(${device} *d, uint64_t now_ms);`,
    "/** Closes the connection for good. */",
    `void ${p}_device_stop(${device} *d);`,
    "",
    ...senders,
    "",
    ...replies,
    "",
    "#ifdef __cplusplus",
    "}",
    "#endif",
    "",
    `#endif /* ${guard} */`,
  ];
}

// ---- source ---------------------------------------------------------------------------------------

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

function loginStep(v: DeviceView, step: "register" | "login"): string[] {
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

function heartbeatBuilder(v: DeviceView): string[] {
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
function tellServer(v: DeviceView): string[] {
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

function report(
  v: DeviceView,
  kind: string,
  status: string,
  type: string,
  key = "NULL",
  keyLen = "0",
): string {
  return `report(d, ${v.service.macro}_REPORT_${kind}, ${status}, ${type}, ${key}, ${keyLen});`;
}

/** Statements giving `key`/`key_len` the record key of a command's correlation value in `m`. */
function keyOf(command: DeviceCommand): string[] {
  const field = `m->${memberName(command.key.protoName)}`;
  if (isSizedScalar(command.key.value)) {
    return [`const uint8_t *key = (const uint8_t *)${field}.data;`, `size_t key_len = ${field}.len;`];
  }
  return [
    "uint8_t key_bytes[8];",
    `uint64_t value = (uint64_t)${field};`,
    "for (unsigned i = 0; i < 8; i++) key_bytes[i] = (uint8_t)(value >> (8 * i));",
    "const uint8_t *key = key_bytes;",
    "size_t key_len = value == 0 ? 0 : 8;",
  ];
}

function finalCheck(command: DeviceCommand): string[] {
  const p = messageCName(command.reply);
  const finality = command.finality;
  if (finality === undefined)
    return [
      `static pn_command_state ${p}_ends(const ${p} *reply) {`,
      "  (void)reply;",
      "  return PN_COMMAND_DONE;",
      "}",
      "",
    ];
  const field = `reply->${memberName(finality.field.protoName)}`;
  const tests = finality.finalValues.map((value) => {
    const state = value === finality.failureValue ? "PN_COMMAND_FAILED" : "PN_COMMAND_DONE";
    return `  if (${field} == ${enumValueCName(finality.enumModel, value)}) return ${state};`;
  });
  return [
    `/* Whether a reply ends its command, and how. */`,
    `static pn_command_state ${p}_ends(const ${p} *reply) {`,
    ...tests,
    "  return PN_COMMAND_RUNNING;",
    "}",
    "",
  ];
}

/** Statements filling `r` (the reply in d->out) as the failure answer to the command in `m`. */
function failureReply(command: DeviceCommand): string[] | undefined {
  const finality = command.finality;
  if (finality !== undefined && finality.failureValue === undefined) return undefined;
  const replyKey = `r->${memberName(command.replyKey.protoName)}`;
  const key = `m->${memberName(command.key.protoName)}`;
  const lines = [`${messageCName(command.reply)}_init(r);`];
  if (isSizedScalar(command.key.value)) {
    const max = boundMacro(command.reply, command.replyKey, "MAX_SIZE");
    lines.push(
      `if (${key}.len > ${max}) return PN_ERR_BOUND;`,
      `memcpy(${replyKey}.data, ${key}.data, ${key}.len);`,
      `${replyKey}.len = ${key}.len;`,
    );
    if (command.replyKey.value.kind === "scalar" && command.replyKey.value.scalar === "string")
      lines.push(`${replyKey}.data[${key}.len] = '\\0';`);
  } else lines.push(`${replyKey} = ${key};`);
  if (finality !== undefined && finality.failureValue !== undefined) {
    lines.push(
      `r->${memberName(finality.field.protoName)} = ${enumValueCName(finality.enumModel, finality.failureValue)};`,
    );
  }
  const reason = command.reasonField;
  if (reason !== undefined) {
    const member = `r->${memberName(reason.protoName)}`;
    const max = boundMacro(command.reply, reason, "MAX_SIZE");
    lines.push(
      `static const char reason[] = ${cString(INTERRUPTED_REASON)};`,
      `size_t n = sizeof reason - 1u < ${max} ? sizeof reason - 1u : ${max};`,
      `memcpy(${member}.data, reason, n);`,
      `${member}.data[n] = '\\0';`,
      `${member}.len = (uint32_t)n;`,
    );
  }
  return lines;
}

function commandFunctions(v: DeviceView, command: DeviceCommand): string[] {
  const p = v.service.prefix;
  const request = messageCName(command.request);
  const reply = messageCName(command.reply);
  const type = typeMacro(v.service, command.request);
  const replyType = typeMacro(v.service, command.reply);
  const failure = failureReply(command);
  const interrupted =
    failure === undefined
      ? [
          "    /* No failure state to answer with: settle it as failed, tell the server. */",
          "    status = pn_record_update(&d->record, entry, PN_COMMAND_FAILED, 0, NULL, 0);",
          "    if (status != PN_OK) {",
          `      ${report(v, "RECORD_FAILED", "status", type, "key", "key_len")}`,
          "      return;",
          "    }",
          `    tell_server(d, 500u, ${cString(INTERRUPTED_REASON)});`,
          `    ${report(v, "INTERRUPTED", "PN_OK", type, "key", "key_len")}`,
          "    return;",
        ]
      : [
          `    ${reply} *r = &d->out.${command.reply.tsName};`,
          `    status = answer_interrupted_${command.request.tsName}(d, entry, m, r);`,
          "    if (status != PN_OK) {",
          `      ${report(v, "RECORD_FAILED", "status", type, "key", "key_len")}`,
          "      return;",
          "    }",
          `    ${report(v, "INTERRUPTED", "PN_OK", type, "key", "key_len")}`,
          "    return;",
        ];
  return [
    ...finalCheck(command),
    ...(failure === undefined
      ? []
      : [
          `/* Records and sends the failure reply of a command interrupted by a reboot. */`,
          `static pn_status answer_interrupted_${command.request.tsName}(${p}_device *d, uint32_t entry, const ${request} *m, ${reply} *r) {`,
          ...indent(failure),
          "  pn_writer w;",
          "  pn_writer_init(&w, d->reply, sizeof d->reply);",
          `  PN_TRY(${reply}_encode(r, &w));`,
          `  PN_TRY(pn_record_update(&d->record, entry, PN_COMMAND_FAILED, ${replyType}, d->reply, w.len));`,
          `  (void)pn_client_send_raw(&d->client, ${replyType}, d->reply, w.len);`,
          "  return PN_OK;",
          "}",
          "",
        ]),
    `static void run_${command.request.tsName}(${p}_device *d, const ${request} *m) {`,
    `  if (d->handlers->on_${command.request.tsName} == NULL) {`,
    `    ${report(v, "UNHANDLED", "PN_OK", type)}`,
    "    return;",
    "  }",
    ...indent(keyOf(command)),
    "  if (key_len == 0) {",
    `    ${report(v, "CORRELATION_MISSING", "PN_ERR_INVALID", type)}`,
    `    tell_server(d, 400u, ${cString(`${command.request.fullName} without ${command.key.protoName}: not executed`)});`,
    "    return;",
    "  }",
    "  uint32_t entry;",
    "  pn_claim claim;",
    `  pn_status status = pn_record_claim(&d->record, ${type}, key, key_len, &entry, &claim);`,
    "  if (status != PN_OK) {",
    `    ${report(v, "RECORD_FAILED", "status", type, "key", "key_len")}`,
    "    return;",
    "  }",
    "  if (claim == PN_CLAIM_NEW) {",
    `    ${p}_command cmd = {entry};`,
    `    d->handlers->on_${command.request.tsName}(d, cmd, m);`,
    "    return;",
    "  }",
    "  if (claim == PN_CLAIM_INTERRUPTED) {",
    ...interrupted,
    "  }",
    "  uint8_t reply_type;",
    "  const uint8_t *reply;",
    "  size_t reply_len;",
    "  pn_record_reply(&d->record, entry, &reply_type, &reply, &reply_len);",
    "  if (reply_type != 0) (void)pn_client_send_raw(&d->client, reply_type, reply, reply_len);",
    `  ${report(v, "DUPLICATE", "PN_OK", type, "key", "key_len")}`,
    "}",
    "",
    `pn_status ${p}_reply_${command.request.tsName}(${p}_device *d, ${p}_command cmd, const ${reply} *reply) {`,
    `  if (cmd.entry >= ${v.service.macro}_RECORD_CAPACITY || d->record.entries[cmd.entry].type != ${type} ||`,
    "      pn_record_state(&d->record, cmd.entry) != PN_COMMAND_RUNNING) {",
    "    return PN_ERR_INVALID;",
    "  }",
    "  pn_writer w;",
    "  pn_writer_init(&w, d->reply, sizeof d->reply);",
    `  PN_TRY(${reply}_encode(reply, &w));`,
    `  PN_TRY(pn_record_update(&d->record, cmd.entry, ${reply}_ends(reply), ${replyType}, d->reply, w.len));`,
    `  return pn_client_send_raw(&d->client, ${replyType}, d->reply, w.len);`,
    "}",
    "",
  ];
}

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
  const v = view(model, service);
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
