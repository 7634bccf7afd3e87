/**
 * The commands of the device side: cloud → device requests with a reply and a correlation field
 * (e.g. CoinCommand → CoinAck by order_id). Each is executed at most once through the device's
 * record; how its replies say "final" comes from the reply's state enum: the values marked
 * `(paynet.final)` when the model carries them, else (until it does) the values whose names say an
 * end (DONE, FAILED, ...). A reply without such a field ends its command with its first reply.
 */
import type { EnumModel, FieldModel, MessageModel, ProtoModel, WireInfo } from "../../model/types.js";
import { textField } from "../error-message.js";

/** How replies of a command end it. */
export interface CommandFinality {
  /** The reply's state field. */
  readonly field: FieldModel;
  readonly enumModel: EnumModel;
  /** Names of the values that end the command. */
  readonly finalValues: readonly string[];
  /** The final value meaning failure: what an interrupted command is answered with. */
  readonly failureValue: string | undefined;
}

export interface DeviceCommand {
  readonly request: MessageModel;
  readonly requestWire: WireInfo;
  readonly reply: MessageModel;
  readonly replyWire: WireInfo;
  /** The request's and the reply's correlation fields. */
  readonly key: FieldModel;
  readonly replyKey: FieldModel;
  readonly finality: CommandFinality | undefined;
  /** The reply's text field (error, msg, …) that carries the failure reason, if any. */
  readonly reasonField: FieldModel | undefined;
}

/** The shape in which the model states finality (`wire.replyFinal`, from `(paynet.final)`). */
interface ModelFinality {
  readonly field: string;
  readonly enumName: string;
  readonly finalValues: readonly string[];
  readonly failureValue?: string;
}

const FINAL_NAME =
  /(^|_)(DONE|SUCCESS|SUCCEEDED|COMPLETE|COMPLETED|FINISHED|FAIL|FAILED|FAILURE|ERROR|ABORT|ABORTED|REJECT|REJECTED|CANCEL|CANCELED|CANCELLED|DENIED|TIMEOUT|EXPIRED)$/;
const FAILURE_NAME = /(FAIL|ERROR|ABORT|REJECT|CANCEL|DENIED|TIMEOUT|EXPIRED)/;

function finalityOf(model: ProtoModel, wire: WireInfo, reply: MessageModel): CommandFinality | undefined {
  const stated = (wire as WireInfo & { readonly replyFinal?: ModelFinality }).replyFinal;
  if (stated !== undefined) {
    const field = reply.fields.find((candidate) => candidate.protoName === stated.field);
    const enumModel = model.enums.find((candidate) => candidate.fullName === stated.enumName);
    if (field !== undefined && enumModel !== undefined) {
      return { field, enumModel, finalValues: stated.finalValues, failureValue: stated.failureValue };
    }
  }
  for (const field of reply.fields) {
    if (
      field.value.kind !== "enum" ||
      field.repeated ||
      field.mapKey !== undefined ||
      field.oneof !== undefined
    )
      continue;
    const fullName = field.value.fullName;
    const enumModel = model.enums.find((candidate) => candidate.fullName === fullName);
    if (enumModel === undefined) continue;
    const finalValues = enumModel.values
      .map((value) => value.protoName)
      .filter((name) => FINAL_NAME.test(name));
    if (finalValues.length === 0) continue;
    return {
      field,
      enumModel,
      finalValues,
      failureValue: finalValues.find((name) => FAILURE_NAME.test(name)),
    };
  }
  return undefined;
}

/** The commands the device executes, in the model's wire order. */
export function deviceCommands(model: ProtoModel): DeviceCommand[] {
  const commands: DeviceCommand[] = [];
  for (const { message, wire } of model.wire) {
    if (wire.direction === "up" || wire.reply === undefined || wire.correlationField === undefined) continue;
    const replyEntry = model.wire.find((entry) => entry.message.fullName === wire.reply);
    if (replyEntry === undefined || replyEntry.wire.correlationField === undefined) continue;
    const key = message.fields.find((field) => field.protoName === wire.correlationField);
    const replyKey = replyEntry.message.fields.find(
      (field) => field.protoName === replyEntry.wire.correlationField,
    );
    if (key === undefined || replyKey === undefined) continue;
    const text = textField(replyEntry.message);
    commands.push({
      request: message,
      requestWire: wire,
      reply: replyEntry.message,
      replyWire: replyEntry.wire,
      key,
      replyKey,
      finality: finalityOf(model, wire, replyEntry.message),
      reasonField: text !== undefined && text.protoName !== replyKey.protoName ? text : undefined,
    });
  }
  return commands;
}
