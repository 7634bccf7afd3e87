/**
 * What the device side of a model is, as the C emitters see it: the login flow's messages (register,
 * login and their replies), the heartbeat, the error role, the commands executed through the record,
 * and which messages the device receives (dispatch table) and sends (typed senders).
 */
import type { MessageModel, ProtoModel, WireMessage } from "../../model/types.js";
import { type DeviceCommand, deviceCommands } from "./commands.js";
import type { CServiceNames } from "./names.js";

/** Text an interrupted command's failure reply carries (the TypeScript runtime's too). */
export const INTERRUPTED_REASON =
  "interrupted, reconcile manually: the device stopped while executing this command";

export interface DeviceView {
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

export function deviceView(model: ProtoModel, service: CServiceNames): DeviceView {
  const found = viewOf(model, service);
  if (found === undefined) throw new Error("internal: the model has no device side");
  return found;
}

export function isCommand(v: DeviceView, message: MessageModel): DeviceCommand | undefined {
  return v.commands.find((command) => command.request.fullName === message.fullName);
}

/** A call of the generated `report(...)`: tells the application what the SDK decided about a frame. */
export function reportCall(
  v: DeviceView,
  kind: string,
  status: string,
  type: string,
  key = "NULL",
  keyLen = "0",
): string {
  return `report(d, ${v.service.macro}_REPORT_${kind}, ${status}, ${type}, ${key}, ${keyLen});`;
}
