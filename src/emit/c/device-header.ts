/**
 * `<prefix>_device.h`: the device object (client, buffers, record), the handlers table (fill the
 * login flow's and heartbeat's messages, see replies, run commands, events and reports), the record's
 * sizes and the typed senders and command replies.
 */
import type { MessageModel, ProtoModel, WireMessage } from "../../model/types.js";
import { type DeviceView, deviceView, isCommand } from "./device-view.js";
import { type CServiceNames, messageCName, typeMacro } from "./names.js";
import type { SizeTable } from "./sizes.js";
import { indent } from "./text.js";
import { isSizedScalar } from "./values.js";

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

export function emitDeviceHeader(
  model: ProtoModel,
  service: CServiceNames,
  sizes: SizeTable,
  header: string,
): string[] {
  const v = deviceView(model, service);
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
