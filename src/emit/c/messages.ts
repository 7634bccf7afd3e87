/**
 * The codec header of the C SDK (`paybox.h`): Type-ID macros, enums, field bounds, message structs
 * in dependency order (a struct holds the structs of its message fields by value), the codec
 * prototypes, the largest encoded sizes, and an X-macro listing every message.
 */

import { formatType } from "../../model/type-number.js";
import type { EnumModel, FieldModel, MessageModel, ProtoModel } from "../../model/types.js";
import { needsMaxCount, needsMaxSize } from "./check.js";
import {
  boundMacro,
  type CServiceNames,
  enumCName,
  enumValueCName,
  maxSizeMacro,
  memberName,
  messageCName,
  oneofCaseName,
  typeMacro,
} from "./names.js";
import type { SizeTable } from "./sizes.js";
import { cString, docComment, indent } from "./text.js";
import { cType } from "./values.js";

/** Messages ordered so that each comes after the messages its fields hold (then by full name). */
export function dependencyOrder(model: ProtoModel): MessageModel[] {
  const byName = new Map(model.messages.map((message) => [message.fullName, message]));
  const done = new Set<string>();
  const order: MessageModel[] = [];
  const visit = (message: MessageModel): void => {
    if (done.has(message.fullName)) return;
    done.add(message.fullName);
    for (const field of message.fields) {
      const target = field.value.kind === "message" ? byName.get(field.value.fullName) : undefined;
      if (target !== undefined) visit(target);
    }
    order.push(message);
  };
  for (const message of model.messages) visit(message);
  return order;
}

/** `paybox_Maps_m_string_entry`: the named type of a map field's entries. */
export function mapEntryName(message: MessageModel, field: FieldModel): string {
  return `${messageCName(message)}_${field.protoName}_entry`;
}

/** Whether a singular field carries a `has_` flag (explicit presence outside a oneof). */
export function hasFlag(field: FieldModel): boolean {
  return field.hasPresence && field.oneof === undefined && !field.repeated && field.mapKey === undefined;
}

function enumDeclaration(enumModel: EnumModel): string[] {
  const name = enumCName(enumModel);
  const values = enumModel.values.map((value) => {
    const comment = value.comment === undefined ? "" : ` /**< ${value.comment.replace(/\*\//g, "* /")} */`;
    return `  ${enumValueCName(enumModel, value.protoName)} = ${value.number},${comment}`;
  });
  return [...docComment(enumModel.comment), `typedef enum ${name} {`, ...values, `} ${name};`, ""];
}

function boundMacros(message: MessageModel): string[] {
  const lines: string[] = [];
  for (const field of message.fields) {
    if (needsMaxSize(field))
      lines.push(`#define ${boundMacro(message, field, "MAX_SIZE")} ${field.maxSize}u`);
    if (needsMaxCount(field))
      lines.push(`#define ${boundMacro(message, field, "MAX_COUNT")} ${field.maxCount}u`);
  }
  return lines;
}

function mapEntryDeclaration(message: MessageModel, field: FieldModel): string[] {
  const key = cType({ kind: "scalar", scalar: field.mapKey! }, message, field);
  const value = cType(field.value, message, field);
  const name = mapEntryName(message, field);
  return [
    `/** An entry of ${message.fullName}.${field.protoName}. */`,
    `typedef struct ${name} {`,
    `  ${key} key;`,
    `  ${value} value;`,
    `} ${name};`,
    "",
  ];
}

function fieldMembers(message: MessageModel, field: FieldModel): string[] {
  const name = memberName(field.protoName);
  const doc = docComment(field.comment);
  if (field.mapKey !== undefined) {
    return [
      ...doc,
      `struct { uint32_t count; ${mapEntryName(message, field)} items[${boundMacro(message, field, "MAX_COUNT")}]; } ${name};`,
    ];
  }
  const type = cType(field.value, message, field);
  if (field.repeated) {
    return [
      ...doc,
      `struct { uint32_t count; ${type} items[${boundMacro(message, field, "MAX_COUNT")}]; } ${name};`,
    ];
  }
  const flag = hasFlag(field) ? [`bool has_${field.protoName};`] : [];
  const enumNote = field.value.kind === "enum" ? ` /* ${field.value.fullName.split(".").join("_")} */` : "";
  return [...doc, ...flag, `${type} ${name};${enumNote}`];
}

function structDeclaration(message: MessageModel): string[] {
  const name = messageCName(message);
  const members: string[] = [];
  const oneofsDone = new Set<string>();
  for (const field of [...message.fields].sort((a, b) => a.number - b.number)) {
    if (field.oneof === undefined) {
      members.push(...fieldMembers(message, field));
      continue;
    }
    if (oneofsDone.has(field.oneof)) continue;
    oneofsDone.add(field.oneof);
    const oneof = message.oneofs.find((candidate) => candidate.protoName === field.oneof)!;
    const cases = oneof.fieldNumbers.map((number) => message.fields.find((f) => f.number === number)!);
    members.push(
      ...docComment(oneof.comment),
      `/** Which member of ${oneof.protoName} is set: ${cases.map((member) => oneofCaseName(message, oneof, member)).join(", ")}, or 0. */`,
      `uint32_t ${oneof.protoName}_case;`,
      "union {",
      ...indent(
        cases.flatMap((member) => [
          ...docComment(member.comment),
          `${cType(member.value, message, member)} ${memberName(member.protoName)};`,
        ]),
      ),
      `} ${memberName(oneof.protoName)};`,
    );
  }
  // C has no empty structs.
  if (members.length === 0) members.push("uint8_t unused_;");
  const cases = message.oneofs.flatMap((oneof) =>
    oneof.fieldNumbers.map((number) => {
      const member = message.fields.find((f) => f.number === number)!;
      return `#define ${oneofCaseName(message, oneof, member)} ${number}u`;
    }),
  );
  return [
    ...docComment(message.comment ?? `\`${message.fullName}\``),
    `typedef struct ${name} {`,
    ...indent(members),
    `} ${name};`,
    ...cases,
    "",
  ];
}

function prototypes(message: MessageModel, sizes: SizeTable): string[] {
  const name = messageCName(message);
  return [
    `#define ${maxSizeMacro(message)} ${sizes.maxSize(message.fullName)}u`,
    `/** Sets every field of a ${message.fullName} to its default. */`,
    `void ${name}_init(${name} *m);`,
    `/** Bytes ${name}_encode writes. */`,
    `size_t ${name}_size(const ${name} *m);`,
    "/** Writes m; PN_ERR_BOUND for a field over its bound, PN_ERR_OVERFLOW when w is full. */",
    `pn_status ${name}_encode(const ${name} *m, pn_writer *w);`,
    "/** Reads a whole message from data[0, len) into m (set to defaults first). */",
    `pn_status ${name}_decode(const uint8_t *data, size_t len, ${name} *m);`,
    "/** Reads a message from the rest of r. */",
    `pn_status ${name}_read(pn_reader *r, ${name} *m);`,
    "",
  ];
}

/** Largest payload of the wire messages one side receives, or 0. */
function maxPayload(model: ProtoModel, sizes: SizeTable, received: (direction: string) => boolean): number {
  let max = 0;
  for (const { message, wire } of model.wire) {
    if (received(wire.direction)) max = Math.max(max, sizes.maxSize(message.fullName));
  }
  return max;
}

export function emitCodecHeader(
  model: ProtoModel,
  service: CServiceNames,
  sizes: SizeTable,
  header: string,
): string[] {
  const guard = `${service.macro}_H`;
  const order = dependencyOrder(model);
  const typeIds = model.wire.map(
    ({ message, wire }) =>
      `#define ${typeMacro(service, message)} ${formatType(wire.type)}u /**< ${message.fullName}, ${wire.direction === "up" ? "device → cloud" : wire.direction === "down" ? "cloud → device" : "both ways"} */`,
  );
  const xmacro = model.messages.map(
    (message) => `  X(${messageCName(message)}, ${cString(message.fullName)})`,
  );
  return [
    header,
    `/*`,
    ` * Messages of ${model.inputNames.join(", ")} for C: one struct per message with every string, bytes`,
    " * and repeated field in fixed, bounded storage, and its codec (init, size, encode, decode).",
    " * Built on the paynet C runtime (runtime-c/); nothing here allocates.",
    " */",
    `#ifndef ${guard}`,
    `#define ${guard}`,
    "",
    "#include <paynet/pn_codec.h>",
    "",
    "#ifdef __cplusplus",
    'extern "C" {',
    "#endif",
    "",
    "/* Type-IDs: the Type byte of each message on the wire. */",
    ...typeIds,
    "",
    ...model.enums.flatMap(enumDeclaration),
    ...order.flatMap((message) => {
      const bounds = boundMacros(message);
      const entries = message.fields
        .filter((field) => field.mapKey !== undefined)
        .flatMap((field) => mapEntryDeclaration(message, field));
      return [
        ...bounds,
        ...(bounds.length > 0 ? [""] : []),
        ...entries,
        ...structDeclaration(message),
        ...prototypes(message, sizes),
      ];
    }),
    "/** Largest payload the device receives (cloud → device and both-way messages). */",
    `#define ${service.macro}_MAX_DOWNLINK_PAYLOAD ${maxPayload(model, sizes, (d) => d !== "up")}u`,
    "/** Largest payload the device sends (device → cloud and both-way messages). */",
    `#define ${service.macro}_MAX_UPLINK_PAYLOAD ${maxPayload(model, sizes, (d) => d !== "down")}u`,
    "",
    '/** X(c_type, "full.Name") for every message, for tables and generic code. */',
    `#define ${service.macro}_MESSAGES(X) \\`,
    ...xmacro.map((line, index) => (index === xmacro.length - 1 ? line : `${line} \\`)),
    "",
    "#ifdef __cplusplus",
    "}",
    "#endif",
    "",
    `#endif /* ${guard} */`,
  ];
}
