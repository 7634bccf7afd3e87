/**
 * C identifiers of a generated SDK. Messages and enums are named by their full protobuf name with
 * dots as underscores (`paybox.CoinCommand` → `paybox_CoinCommand`), as nanopb does, so a name says
 * where its type comes from; enum constants are prefixed with their enum (`paybox_CoinState_COIN_DONE`);
 * the SDK's own functions and macros carry the service prefix (`paybox_device_init`, `PAYBOX_TYPE_PING`).
 * Fields named like a C keyword get a trailing underscore (`default_`).
 */
import type { EnumModel, FieldModel, MessageModel, OneofModel, ProtoModel } from "../../model/types.js";

const C_KEYWORDS = new Set(
  (
    "auto break case char const continue default do double else enum extern float for goto if inline int " +
    "long register restrict return short signed sizeof static struct switch typedef union unsigned void " +
    "volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn _Static_assert " +
    "_Thread_local bool true false NULL errno assert"
  ).split(" "),
);

/** `CoinBox` → `coin_box`, `Paybox` → `paybox`, `HTTPGate` → `http_gate`. */
export function snakeCase(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();
}

/** `CoinCommand` → `COIN_COMMAND`, `coin_ack` → `COIN_ACK`. */
export function upperSnake(text: string): string {
  return snakeCase(text).toUpperCase();
}

/** A proto field or oneof name as a C member name. */
export function memberName(protoName: string): string {
  return C_KEYWORDS.has(protoName) ? `${protoName}_` : protoName;
}

export function messageCName(message: { readonly fullName: string }): string {
  return message.fullName.split(".").join("_");
}

export function enumCName(enumModel: { readonly fullName: string }): string {
  return enumModel.fullName.split(".").join("_");
}

export function enumValueCName(enumModel: EnumModel, valueName: string): string {
  return `${enumCName(enumModel)}_${valueName}`;
}

/** `fx_Outer_result_ok`: the case constant of a oneof member. */
export function oneofCaseName(message: MessageModel, oneof: OneofModel, member: FieldModel): string {
  return `${messageCName(message)}_${oneof.protoName}_${member.protoName}`;
}

/** Names that depend on the service: files, prefix, macros. */
export interface CServiceNames {
  /** `paybox` */
  readonly prefix: string;
  /** `PAYBOX` */
  readonly macro: string;
  /** `paybox.h` / `paybox.c`: messages and codecs. */
  readonly codecHeader: string;
  readonly codecSource: string;
  /** `paybox_device.h` / `paybox_device.c`: the device side (dispatch, senders, login flow, record). */
  readonly deviceHeader: string;
  readonly deviceSource: string;
}

export function serviceNames(model: ProtoModel): CServiceNames {
  const prefix = snakeCase(model.serviceName).replace(/^_+/, "");
  return {
    prefix,
    macro: prefix.toUpperCase(),
    codecHeader: `${prefix}.h`,
    codecSource: `${prefix}.c`,
    deviceHeader: `${prefix}_device.h`,
    deviceSource: `${prefix}_device.c`,
  };
}

/** `PAYBOX_TYPE_COIN_COMMAND`: the Type-ID macro of a wire message. */
export function typeMacro(service: CServiceNames, message: MessageModel): string {
  return `${service.macro}_TYPE_${upperSnake(message.tsName)}`;
}

/** `paybox_CoinCommand_order_id_MAX_SIZE` and friends. */
export function boundMacro(
  message: MessageModel,
  field: FieldModel,
  bound: "MAX_SIZE" | "MAX_COUNT",
): string {
  return `${messageCName(message)}_${field.protoName}_${bound}`;
}

/** `paybox_CoinCommand_MAX_ENCODED_SIZE`: the largest payload of a message. */
export function maxSizeMacro(message: MessageModel): string {
  return `${messageCName(message)}_MAX_ENCODED_SIZE`;
}
