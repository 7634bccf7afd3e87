/**
 * The codec source of the C SDK (`paybox.c`): per message `_init` (defaults) here, `_size` and
 * `_encode` (codec-encode.ts), `_read` and `_decode` (codec-decode.ts), in one file with the
 * closed enums' guards the decoders use.
 */
import type { FieldModel, MessageModel, ProtoModel } from "../../model/types.js";
import { enumGuards, readFunction } from "./codec-decode.js";
import { encodeFunction, sizeFunction } from "./codec-encode.js";
import { access, byNumber, type CodecContext } from "./codec-fields.js";
import { type CServiceNames, enumValueCName, messageCName } from "./names.js";
import { cString, indent } from "./text.js";

// ---- init ----------------------------------------------------------------------------------------

function defaultLiteral(ctx: CodecContext, field: FieldModel): string[] {
  const target = access(field);
  const value = field.defaultValue;
  if (field.value.kind === "enum") {
    const enumModel = ctx.model.enums.find(
      (candidate) => candidate.fullName === (field.value as { fullName: string }).fullName,
    )!;
    const name = value === undefined ? enumModel.values[0]?.protoName : String(value);
    return name === undefined ? [] : [`${target} = ${enumValueCName(enumModel, name)};`];
  }
  if (value === undefined || field.value.kind !== "scalar") return [];
  const scalar = field.value.scalar;
  if (scalar === "string" || scalar === "bytes") {
    const text = String(value);
    const length = Buffer.byteLength(text, "utf8");
    if (length === 0) return [];
    return [`memcpy(${target}.data, ${cString(text)}, ${length}u);`, `${target}.len = ${length}u;`];
  }
  if (scalar === "bool") return value === true ? [`${target} = true;`] : [];
  if (typeof value === "string") {
    // 64-bit defaults arrive as exact decimal strings.
    if (value === "-9223372036854775808") return [`${target} = INT64_MIN;`];
    return [
      `${target} = ${scalar.startsWith("u") || scalar === "fixed64" ? `UINT64_C(${value})` : `INT64_C(${value})`};`,
    ];
  }
  const number = Number(value);
  if (scalar === "float" || scalar === "double") {
    const suffix = scalar === "float" ? "F" : "";
    if (Number.isNaN(number)) return [`${target} = NAN;`];
    if (!Number.isFinite(number)) return [`${target} = ${number < 0 ? "-" : ""}HUGE_VAL${suffix};`];
    const text = Number.isInteger(number) ? `${number}.0` : String(number);
    return number === 0 && 1 / number > 0 ? [] : [`${target} = ${text}${suffix.toLowerCase()};`];
  }
  if (number === 0) return [];
  if (scalar === "int32" && number === -2147483648) return [`${target} = INT32_MIN;`];
  return [`${target} = ${number}${scalar.startsWith("u") || scalar === "fixed32" ? "u" : ""};`];
}

function initFunction(ctx: CodecContext, message: MessageModel): string[] {
  const name = messageCName(message);
  const defaults =
    message.syntax === "proto2"
      ? byNumber(message)
          .filter((f) => f.oneof === undefined && !f.repeated && f.mapKey === undefined)
          .flatMap((field) => defaultLiteral(ctx, field))
      : [];
  return [`void ${name}_init(${name} *m) {`, "  memset(m, 0, sizeof *m);", ...indent(defaults), "}", ""];
}

export function emitCodecSource(model: ProtoModel, service: CServiceNames, header: string): string[] {
  const ctx: CodecContext = {
    model,
    closedEnums: new Set(model.enums.filter((e) => e.syntax === "proto2").map((e) => e.fullName)),
    usedGuards: new Set(),
  };
  const functions = model.messages.flatMap((message) => [
    ...initFunction(ctx, message),
    ...sizeFunction(message),
    ...encodeFunction(message),
    ...readFunction(ctx, message),
  ]);
  const needsMath = functions.some((line) => /\b(HUGE_VALF?|NAN)\b/.test(line));
  return [
    header,
    `/* Codecs of the messages in ${service.codecHeader}. */`,
    `#include "${service.codecHeader}"`,
    "",
    ...(needsMath ? ["#include <math.h>"] : []),
    "#include <string.h>",
    "",
    ...enumGuards(ctx),
    ...functions,
  ];
}
