/**
 * The server side of the login flow: how the generated registry tells the runtime which messages
 * are the REGISTER and LOGIN steps (`loginStep`), what each claims (the `(paynet.identity)`
 * fields), what the register reply assigns, and how a refusal is answered: the step's reply with
 * its `code` field set to a refusal (an enum value named UNAUTHORIZED, UNAUTHENTICATED, FORBIDDEN,
 * DENIED or REFUSED, with or without an enum prefix; 401 for a numeric code; `LOGIN_REFUSED` for a
 * string code) and its text field (`msg`, ...) to the reason. A reply without such a code gets no
 * refusal reply: the runtime then refuses with the error message (a reply without a code would
 * read as an acceptance). A text field with a `max_size` gets the reason cut to it.
 */
import type { EnumModel, FieldModel, MessageModel, ProtoModel, WireMessage } from "../model/types.js";
import { textField } from "./error-message.js";
import { ownProperty } from "./ts-types.js";
import type { EmitOptions } from "./types.js";
import { isSixtyFourBit, keyExpression, scalarField } from "./wire-view.js";

/** Enum value names that say "not allowed", most specific first. */
const REFUSAL_NAMES = ["UNAUTHORIZED", "UNAUTHENTICATED", "FORBIDDEN", "DENIED", "REFUSED"] as const;

/** The `loginStep` of one registration, as TypeScript expressions. */
export interface LoginStepView {
  readonly step: "register" | "login";
  /** Over `message`: the claimed serial. */
  readonly serial: string | undefined;
  /** Over `message`: the claimed device id. */
  readonly deviceId: string | undefined;
  /** Over `reply` (a `Partial` of the reply): the device id it assigns. */
  readonly assignedDeviceId: string | undefined;
  /** Object-literal body of the refusal reply, over `error` (`LoginNotAuthorizedError`). */
  readonly refusal: string | undefined;
  /** An enum the refusal reply refers to (a value import of the types module). */
  readonly refusalEnum: string | undefined;
}

/** The `loginStep` of `entry`, when it is the (uplink) REGISTER or LOGIN message. */
export function loginStepView(
  model: ProtoModel,
  entry: WireMessage,
  options: EmitOptions,
): LoginStepView | undefined {
  const { message, wire } = entry;
  if (wire.direction === "down" || (wire.role !== "register" && wire.role !== "login")) return undefined;
  const field = (target: MessageModel, protoName: string | undefined) =>
    protoName === undefined ? undefined : target.fields.find((f) => f.protoName === protoName);
  const claim = (protoName: string | undefined) => {
    const found = field(message, protoName);
    return found === undefined ? undefined : keyExpression(found, "message", options);
  };
  const replyEntry =
    wire.reply === undefined ? undefined : model.wire.find((w) => w.message.fullName === wire.reply);
  const replyMessage = replyEntry?.message;
  const assigned =
    wire.role === "register" && replyMessage !== undefined
      ? field(replyMessage, replyEntry?.wire.deviceIdField)
      : undefined;
  const refusal = replyMessage === undefined ? undefined : refusalReply(model, replyMessage, options);
  return {
    step: wire.role,
    serial: claim(wire.serialField),
    deviceId: claim(wire.deviceIdField),
    assignedDeviceId: assigned === undefined ? undefined : ownProperty("reply", assigned.tsName),
    refusal: refusal?.body,
    refusalEnum: refusal?.enumName,
  };
}

function refusalReply(
  model: ProtoModel,
  reply: MessageModel,
  options: EmitOptions,
): { body: string; enumName: string | undefined } | undefined {
  const code = scalarField(reply, ["code"]);
  if (code === undefined) return undefined;
  const value = refusalCode(model, code, options);
  if (value === undefined) return undefined;
  const text = textField(reply);
  // A bounded text field gets the reason cut to its max_size, so that the refusal itself encodes.
  const reason =
    text?.maxSize === undefined ? "error.reason" : `$pb.truncateUtf8(error.reason, ${text.maxSize})`;
  const body = `${code.tsName}: ${value.expression}${text === undefined ? "" : `, ${text.tsName}: ${reason}`}`;
  return { body, enumName: value.enumName };
}

function refusalCode(
  model: ProtoModel,
  field: FieldModel,
  options: EmitOptions,
): { expression: string; enumName: string | undefined } | undefined {
  const value = field.value;
  if (value.kind === "enum") {
    const enumModel = model.enums.find((candidate) => candidate.fullName === value.fullName);
    const name = enumModel === undefined ? undefined : refusalValue(enumModel);
    return name === undefined || enumModel === undefined
      ? undefined
      : { expression: `${enumModel.tsName}.${name}`, enumName: enumModel.tsName };
  }
  if (value.kind !== "scalar") return undefined;
  const scalar = value.scalar;
  if (scalar === "string") return { expression: '"LOGIN_REFUSED"', enumName: undefined };
  if (scalar === "bool" || scalar === "bytes") return undefined;
  if (isSixtyFourBit(scalar)) {
    return { expression: options.int64 === "bigint" ? "BigInt(401)" : '"401"', enumName: undefined };
  }
  return { expression: "401", enumName: undefined };
}

/** The enum value meaning "not allowed" (`UNAUTHORIZED`, `RESULT_CODE_UNAUTHORIZED`, ...). */
function refusalValue(enumModel: EnumModel): string | undefined {
  for (const wanted of REFUSAL_NAMES) {
    const found = enumModel.values.find(
      (value) => value.protoName === wanted || value.protoName.endsWith(`_${wanted}`),
    );
    if (found !== undefined && found.number !== 0) return found.protoName;
  }
  return undefined;
}
