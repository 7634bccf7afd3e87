/**
 * Commands in the generated device source, executed at most once through the durable record: the
 * record key of a command's correlation value, claimed before its handler runs; repeats answered
 * with the latest recorded reply; commands interrupted by a reboot answered with the failure state;
 * `<prefix>_reply_X` recording each reply before it goes out and ending the command on a final state.
 */
import type { DeviceCommand } from "./commands.js";
import { type DeviceView, INTERRUPTED_REASON, reportCall as report } from "./device-view.js";
import { hasFlag } from "./messages.js";
import { boundMacro, enumValueCName, memberName, messageCName, typeMacro } from "./names.js";
import { cString, indent } from "./text.js";
import { isSizedScalar } from "./values.js";

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
  // Fields with presence (proto2, proto3 `optional`) are written only when flagged as set.
  if (hasFlag(command.replyKey)) lines.push(`r->has_${command.replyKey.protoName} = true;`);
  if (finality !== undefined && finality.failureValue !== undefined) {
    lines.push(
      `r->${memberName(finality.field.protoName)} = ${enumValueCName(finality.enumModel, finality.failureValue)};`,
    );
    if (hasFlag(finality.field)) lines.push(`r->has_${finality.field.protoName} = true;`);
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
    if (hasFlag(reason)) lines.push(`r->has_${reason.protoName} = true;`);
  }
  return lines;
}

export function commandFunctions(v: DeviceView, command: DeviceCommand): string[] {
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
