/**
 * The commands of the device side: cloud → device requests with a reply and a correlation field
 * (e.g. CoinCommand → CoinAck by order_id). Each is executed at most once through the device's
 * record; which reply ends it comes from the model: the `(paynet.final)` values of the reply's
 * state enum (the model requires them on every delivered request), the failure one answering
 * commands a reboot interrupted.
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

/** How the model says replies of the command end it (`(paynet.final)` values of its state enum). */
function finalityOf(model: ProtoModel, wire: WireInfo, reply: MessageModel): CommandFinality | undefined {
  const stated = wire.replyFinal;
  if (stated === undefined) return undefined;
  const field = reply.fields.find((candidate) => candidate.protoName === stated.field);
  const enumModel = model.enums.find((candidate) => candidate.fullName === stated.enumName);
  if (field === undefined || enumModel === undefined) return undefined;
  return { field, enumModel, finalValues: stated.finalValues, failureValue: stated.failureValue };
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
