/**
 * How the runtime's errors become the protocol's error message (role ERROR), e.g.
 * `ErrorMsg { uint32 code; string msg }`. The mapping is decided from the error message's fields:
 *
 * - a field named `code`: numeric → an HTTP-like status of the error (`DECODE_ERROR`/`PROTOCOL_ERROR`
 *   400, `LOGIN_REFUSED` 401, `UNKNOWN_TYPE` 404, `REQUEST_TIMEOUT` 408, `SESSION_REPLACED` 409,
 *   `QUEUE_FULL`/`PENDING_LIMIT` 429, `SERVER_DRAINING` 503, anything else 500); string → the
 *   runtime's error code (`UNKNOWN_TYPE`); other types are left at their default;
 * - the first string field named `msg`, `message`, `error`, `detail`, `description` or `reason` → the
 *   error's message (cut to the field's `max_size` when it has one).
 *
 * Apps override it with the facades' `errorMessage` option.
 *
 * The same `code` field tells the device client a close notice (see `ErrorMessageSpec.noticeOf`):
 * status 503 (or the string `SERVER_DRAINING`) is the server draining, 409 (or `SESSION_REPLACED`)
 * a newer login of the device taking its session over.
 */
import type { FieldModel, MessageModel } from "../model/types.js";
import type { EmitOptions } from "./types.js";
import { isSixtyFourBit, scalarField } from "./wire-view.js";

export const ERROR_TEXT_FIELDS = ["msg", "message", "error", "detail", "description", "reason"] as const;

/** One `field: expression` entry of the default error message, as TS source over `error` / `status`. */
export interface ErrorFieldInit {
  readonly property: string;
  readonly expression: string;
}

/** Property initialisers of the default error message built from a `PaynetError` named `error`. */
export function errorMessageInits(message: MessageModel, options: EmitOptions): ErrorFieldInit[] {
  const inits: ErrorFieldInit[] = [];
  const code = scalarField(message, ["code"]);
  const codeExpression = code === undefined ? undefined : codeInit(code, options);
  if (code !== undefined && codeExpression !== undefined)
    inits.push({ property: code.tsName, expression: codeExpression });
  const text = textField(message);
  // A bounded text field gets the message cut to its max_size, so that the report itself encodes.
  if (text !== undefined)
    inits.push({
      property: text.tsName,
      expression:
        text.maxSize === undefined ? "error.message" : `$pb.truncateUtf8(error.message, ${text.maxSize})`,
    });
  return inits;
}

/** Status the numeric `code` carries for a server that drains (`errorStatus` of `SERVER_DRAINING`). */
export const DRAINING_STATUS = 503;

/** The close notices an error message can carry, with the status of each (`errorStatus`). */
const CLOSE_NOTICES = [
  ["SERVER_DRAINING", DRAINING_STATUS],
  ["SESSION_REPLACED", 409],
] as const;

/**
 * The body of the spec's `noticeOf(message)`: an expression naming the close notice a received error
 * message carries, or `undefined` when the message has no usable `code` field.
 */
export function noticeExpression(message: MessageModel): string | undefined {
  const code = scalarField(message, ["code"]);
  if (code === undefined || code.value.kind !== "scalar") return undefined;
  const scalar = code.value.scalar;
  if (scalar === "bool" || scalar === "bytes") return undefined;
  const field = `message.${code.tsName}`;
  const value = scalar === "string" ? field : `Number(${field})`;
  const chain = CLOSE_NOTICES.reduceRight(
    (otherwise, [notice, status]) =>
      `${value} === ${scalar === "string" ? `"${notice}"` : status} ? "${notice}" : ${otherwise}`,
    "undefined",
  );
  return `(${chain})`;
}

/** Whether the default mapping calls `@paynet/runtime/protobuf` (imported as `$pb`). */
export function needsProtobufHelpers(inits: readonly ErrorFieldInit[]): boolean {
  return inits.some((init) => init.expression.includes("$pb."));
}

/** Whether the default mapping needs the numeric status helper. */
export function needsStatus(inits: readonly ErrorFieldInit[]): boolean {
  return inits.some((init) => init.expression.includes("errorStatus("));
}

function codeInit(field: FieldModel, options: EmitOptions): string | undefined {
  if (field.value.kind !== "scalar") return undefined;
  const scalar = field.value.scalar;
  if (scalar === "string") return "error.code";
  if (scalar === "bool" || scalar === "bytes") return undefined;
  if (isSixtyFourBit(scalar))
    return options.int64 === "bigint" ? "BigInt(errorStatus(error))" : "String(errorStatus(error))";
  return "errorStatus(error)";
}

/** The string field carrying a human-readable text (`msg`), if the message has one. */
export function textField(message: MessageModel): FieldModel | undefined {
  for (const name of ERROR_TEXT_FIELDS) {
    const field = scalarField(message, [name]);
    if (field?.value.kind === "scalar" && field.value.scalar === "string") return field;
  }
  return undefined;
}
