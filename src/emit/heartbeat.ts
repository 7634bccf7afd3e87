/**
 * Defaults around the HEARTBEAT role message (e.g. `Ping { uint64 timestamp }` answered by `Pong`):
 * what the device puts in each heartbeat, and how one is answered without a user handler.
 */
import type { FieldModel, MessageModel, ProtoModel } from "../model/types.js";
import { isOptionalProperty } from "./ts-types.js";
import type { EmitOptions } from "./types.js";
import { buildSdkView, isSixtyFourBit, scalarField, type WireView } from "./wire-view.js";

const TIMESTAMP_FIELD = "timestamp";

/** The `{ timestamp: ... }` initialiser of a heartbeat, or `undefined` when there is no usable field. */
export function heartbeatTimestampInit(message: MessageModel, options: EmitOptions): string | undefined {
  const field = scalarField(message, [TIMESTAMP_FIELD]);
  if (field === undefined || field.value.kind !== "scalar") return undefined;
  const scalar = field.value.scalar;
  // 64-bit and floating fields carry epoch milliseconds; 32-bit ones cannot, so they get seconds.
  if (isSixtyFourBit(scalar)) {
    const millis = options.int64 === "bigint" ? "BigInt(Date.now())" : "String(Date.now())";
    return `${field.tsName}: ${millis}`;
  }
  if (scalar === "double" || scalar === "float") return `${field.tsName}: Date.now()`;
  if (scalar === "string" || scalar === "bool" || scalar === "bytes") return undefined;
  return `${field.tsName}: Math.floor(Date.now() / 1000)`;
}

/** The default answer to a heartbeat (the cloud's; the device's too when the heartbeat is BOTH): request, reply, echoed field. */
export interface HeartbeatAnswer {
  readonly request: WireView;
  readonly reply: WireView;
  /** TS name of a field present in both with the same type (`timestamp`), echoed back. */
  readonly echo: string | undefined;
}

export function heartbeatAnswer(model: ProtoModel, options: EmitOptions): HeartbeatAnswer | undefined {
  const role = model.roles.heartbeat;
  if (role === undefined || role.wire.reply === undefined || role.wire.direction === "down") return undefined;
  const view = buildSdkView(model, options);
  const request = view.byFullName.get(role.message.fullName);
  const reply = view.byFullName.get(role.wire.reply);
  if (request === undefined || reply === undefined) return undefined;
  const replyMessage = model.messages.find((message) => message.fullName === role.wire.reply);
  const mine = scalarField(role.message, [TIMESTAMP_FIELD]);
  const theirs = replyMessage === undefined ? undefined : scalarField(replyMessage, [TIMESTAMP_FIELD]);
  const echo =
    mine !== undefined && theirs !== undefined && sameValue(mine, theirs) ? mine.tsName : undefined;
  return { request, reply, echo };
}

function sameValue(a: FieldModel, b: FieldModel): boolean {
  // Echoing an optional field would need a presence check; heartbeats use plain fields.
  return (
    !isOptionalProperty(a) &&
    !isOptionalProperty(b) &&
    a.value.kind === b.value.kind &&
    (a.value.kind === "scalar" && b.value.kind === "scalar" ? a.value.scalar === b.value.scalar : false)
  );
}
