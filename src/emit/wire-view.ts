/**
 * What the SDK emitters need to know about each wire message, derived once from the model: names of
 * the generated identifiers, direction facts, the reply and how correlation keys are computed. Every
 * list keeps the model's order (by Type, then direction), so output is deterministic.
 */

import { formatType } from "../model/type-number.js";
import type {
  Direction,
  FieldModel,
  MessageModel,
  ProtoModel,
  ReplyFinality,
  ScalarType,
  WireMessage,
} from "../model/types.js";
import { textField } from "./error-message.js";
import { isOptionalProperty, ownProperty } from "./ts-types.js";
import type { EmitOptions } from "./types.js";

/** The reply side of a request/reply pair. */
export interface ReplyView {
  /** TS name of the reply message. */
  readonly name: string;
  readonly defName: string;
  readonly typeHex: string;
  /** Name of the `RequestSpec` constant (`CoinCommandRequest`). */
  readonly requestName: string;
  /** Both sides carry a correlation field: replies are matched by key (and may arrive several times). */
  readonly correlated: boolean;
  /** Expression over `message` (the request) giving its correlation key, when correlated. */
  readonly requestKey: string | undefined;
  /** Expression over `message` (the reply) giving its correlation key, when correlated. */
  readonly replyKey: string | undefined;
  /**
   * Delivered at least once (cloud → device, correlated): which replies are final, from
   * `(paynet.final)`, and the failure reply the device answers a command it cannot complete with.
   */
  readonly final: FinalView | undefined;
}

/** Finality of a delivered request's reply, as TypeScript. */
export interface FinalView {
  /** Boolean expression over `message` (the reply): it is final. */
  readonly isFinal: string;
  /** `state` COIN_DONE or COIN_FAILED, for doc comments. */
  readonly text: string;
  /** TS names of the enums the expressions use. */
  readonly enumNames: readonly string[];
  /**
   * Object literal over `message` (the request) and `reason`: the failure reply. Undefined when no
   * final value names a failure.
   */
  readonly failureReply: string | undefined;
  /** `reason`, or `_reason` when the reply has no text field to put it in. */
  readonly reasonParameter: string;
  /** The failure reply calls `$pb.truncateUtf8` (its text field is bounded). */
  readonly usesProtobuf: boolean;
}

export interface WireView {
  /** TS name (`CoinCommand`), also the handler method name and the suffix of facade methods. */
  readonly name: string;
  /** Protobuf full name (`paybox.CoinCommand`). */
  readonly fullName: string;
  readonly type: number;
  /** `0x04` */
  readonly typeHex: string;
  readonly direction: Direction;
  /** `device → cloud`, `cloud → device` or `both ways`. */
  readonly directionText: string;
  /** Received by the cloud side (UPLINK or BOTH). */
  readonly uplink: boolean;
  /** Received by the device side (DOWNLINK or BOTH). */
  readonly downlink: boolean;
  /** `CoinCommandDef` */
  readonly defName: string;
  /** `createCoinCommand` (from the messages emitter). */
  readonly createName: string;
  readonly reply: ReplyView | undefined;
  /** Expression over `message` giving this message's correlation key, when it has a correlation field. */
  readonly key: string | undefined;
  readonly role: string | undefined;
}

/** The SDK-level view of a model. */
export interface SdkView {
  readonly service: string;
  readonly wire: readonly WireView[];
  readonly byFullName: ReadonlyMap<string, WireView>;
}

const DIRECTION_TEXT: Record<Direction, string> = {
  up: "device → cloud",
  down: "cloud → device",
  both: "both ways",
};

export function buildSdkView(model: ProtoModel, options: EmitOptions): SdkView {
  const messages = new Map(model.messages.map((message) => [message.fullName, message]));
  const byFullName = new Map<string, WireView>();
  const wire = model.wire.map((entry) => {
    const view = wireView(entry, messages, model, options);
    byFullName.set(view.fullName, view);
    return view;
  });
  return { service: model.serviceName, wire, byFullName };
}

function wireView(
  entry: WireMessage,
  messages: ReadonlyMap<string, MessageModel>,
  model: ProtoModel,
  options: EmitOptions,
): WireView {
  const { message, wire } = entry;
  const name = message.tsName;
  const correlation = correlationField(message, wire.correlationField);
  const key = correlation === undefined ? undefined : keyExpression(correlation, "message", options);
  let reply: ReplyView | undefined;
  if (wire.reply !== undefined) {
    const replyEntry = model.wire.find((candidate) => candidate.message.fullName === wire.reply);
    const replyMessage = replyEntry?.message ?? messages.get(wire.reply);
    if (replyMessage === undefined)
      throw new Error(`model invariant: reply ${wire.reply} of ${message.fullName} is unknown`);
    const replyCorrelation = correlationField(replyMessage, replyEntry?.wire.correlationField);
    const correlated = key !== undefined && replyCorrelation !== undefined;
    reply = {
      name: replyMessage.tsName,
      defName: `${replyMessage.tsName}Def`,
      typeHex: formatType(replyEntry?.wire.type ?? 0),
      requestName: `${name}Request`,
      correlated,
      requestKey: correlated ? key : undefined,
      replyKey: correlated ? keyExpression(replyCorrelation, "message", options) : undefined,
      final:
        wire.replyFinal === undefined || correlation === undefined || replyCorrelation === undefined
          ? undefined
          : finalView(wire.replyFinal, correlation, replyCorrelation, replyMessage, model),
    };
  }
  return {
    name,
    fullName: message.fullName,
    type: wire.type,
    typeHex: formatType(wire.type),
    direction: wire.direction,
    directionText: DIRECTION_TEXT[wire.direction],
    uplink: wire.direction !== "down",
    downlink: wire.direction !== "up",
    defName: `${name}Def`,
    createName: `create${name}`,
    reply,
    key,
    role: wire.role,
  };
}

function finalView(
  finality: ReplyFinality,
  requestCorrelation: FieldModel,
  replyCorrelation: FieldModel,
  reply: MessageModel,
  model: ProtoModel,
): FinalView {
  const state = reply.fields.find((field) => field.protoName === finality.field);
  const enumModel = model.enums.find((candidate) => candidate.fullName === finality.enumName);
  if (state === undefined || enumModel === undefined)
    throw new Error(`model invariant: final field ${finality.field} of ${reply.fullName} is unknown`);
  const access = ownProperty("message", state.tsName);
  const isFinal = finality.finalValues
    .map((value) => `${access} === ${enumModel.tsName}.${value}`)
    .join(" || ");
  let failureReply: string | undefined;
  let usesProtobuf = false;
  let reasonParameter = "_reason";
  if (finality.failureValue !== undefined) {
    // An optional correlation field is copied only when set (a Partial property cannot hold undefined).
    const copy = optional(requestCorrelation)
      ? `...(${ownProperty("message", requestCorrelation.tsName)} === undefined ? {} : { ${replyCorrelation.tsName}: ${ownProperty("message", requestCorrelation.tsName)} })`
      : `${replyCorrelation.tsName}: message.${requestCorrelation.tsName}`;
    const parts = [copy, `${state.tsName}: ${enumModel.tsName}.${finality.failureValue}`];
    const text = textField(reply);
    if (text !== undefined) {
      reasonParameter = "reason";
      usesProtobuf = text.maxSize !== undefined;
      parts.push(`${text.tsName}: ${usesProtobuf ? `$pb.truncateUtf8(reason, ${text.maxSize})` : "reason"}`);
    }
    failureReply = `{ ${parts.join(", ")} }`;
  }
  return {
    isFinal,
    text: `\`${finality.field}\` ${finality.finalValues.join(" or ")}`,
    enumNames: [enumModel.tsName],
    failureReply,
    reasonParameter,
    usesProtobuf,
  };
}

function correlationField(message: MessageModel, protoName: string | undefined): FieldModel | undefined {
  if (protoName !== undefined) {
    const named = message.fields.find((field) => field.protoName === protoName);
    if (named !== undefined) return named;
  }
  return message.fields.find((field) => field.correlation);
}

const SIXTY_FOUR_BIT: ReadonlySet<ScalarType> = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);

export function isSixtyFourBit(scalar: ScalarType): boolean {
  return SIXTY_FOUR_BIT.has(scalar);
}

const optional = isOptionalProperty;

/**
 * A TypeScript expression turning the correlation field of `variable` into a string key. Request and
 * reply fields have the same type (validated), so both sides convert identically.
 */
export function keyExpression(field: FieldModel, variable: string, options: EmitOptions): string {
  const access = optional(field) ? ownProperty(variable, field.tsName) : `${variable}.${field.tsName}`;
  const value = field.value;
  // A field at its default (0, false, empty) gives the empty key: the runtime refuses such a command
  // (CORRELATION_MISSING) rather than treating every command without a value as one.
  if (value.kind === "scalar") {
    if (value.scalar === "string") return optional(field) ? `${access} ?? ""` : access;
    if (value.scalar === "bytes") {
      const bytes = optional(field) ? `(${access} ?? new Uint8Array())` : access;
      return `Array.from(${bytes}, (byte) => byte.toString(16).padStart(2, "0")).join("")`;
    }
    if (isSixtyFourBit(value.scalar) && options.int64 === "string") {
      return optional(field)
        ? `${access} === "0" ? "" : (${access} ?? "")`
        : `${access} === "0" ? "" : ${access}`;
    }
  }
  return `${access} ? String(${access}) : ""`;
}

/** The first field of `message` named one of `names` whose value is a single (non-repeated, non-map) scalar. */
export function scalarField(message: MessageModel, names: readonly string[]): FieldModel | undefined {
  for (const name of names) {
    const field = message.fields.find(
      (candidate) => candidate.protoName === name && !candidate.repeated && candidate.mapKey === undefined,
    );
    if (field !== undefined) return field;
  }
  return undefined;
}
