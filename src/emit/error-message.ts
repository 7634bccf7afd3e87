/**
 * How the runtime's errors become the protocol's error message (role ERROR), e.g.
 * `ErrorMsg { uint32 code; string msg }`. The mapping is decided from the error message's fields:
 *
 * - a field named `code`: numeric → an HTTP-like status of the error (`DECODE_ERROR`/`PROTOCOL_ERROR`
 *   400, `LOGIN_REFUSED` 401, `UNKNOWN_TYPE` 404, `REQUEST_TIMEOUT` 408, `SESSION_REPLACED` 409,
 *   `QUEUE_FULL`/`PENDING_LIMIT` 429, anything else 500); string → the runtime's error code
 *   (`UNKNOWN_TYPE`); other types are left at their default;
 * - the first string field named `msg`, `message`, `error`, `detail`, `description` or `reason` → the
 *   error's message.
 *
 * The statuses that name one error (401, 404, 408, 409), or the code strings, are read back from an
 * inbound error message (`codeOf`), so a device learns that its session was replaced.
 *
 * Apps override it with the facades' `errorMessage` option.
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
  if (text !== undefined) inits.push({ property: text.tsName, expression: "error.message" });
  return inits;
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

/** Runtime error codes an error message's `code` names unambiguously, with their status. */
const READABLE_CODES = [
  ["LOGIN_REFUSED", 401],
  ["UNKNOWN_TYPE", 404],
  ["REQUEST_TIMEOUT", 408],
  ["SESSION_REPLACED", 409],
] as const;

/** How the generated `codeOf` reads a runtime error code back: `switch (subject)` over `cases`. */
export interface ErrorCodeReader {
  readonly subject: string;
  readonly cases: readonly { readonly label: string; readonly code: string }[];
}

/** The reader of `message`'s `code` field (over a variable `message`), when it has a usable one. */
export function errorCodeReader(message: MessageModel): ErrorCodeReader | undefined {
  const code = scalarField(message, ["code"]);
  if (code === undefined || code.value.kind !== "scalar") return undefined;
  const scalar = code.value.scalar;
  const access = `message.${code.tsName}`;
  if (scalar === "string") {
    return { subject: access, cases: READABLE_CODES.map(([name]) => ({ label: `"${name}"`, code: name })) };
  }
  if (scalar === "bool" || scalar === "bytes") return undefined;
  const wide = isSixtyFourBit(scalar);
  return {
    subject: wide ? `String(${access})` : access,
    cases: READABLE_CODES.map(([name, status]) => ({
      label: wide ? `"${status}"` : String(status),
      code: name,
    })),
  };
}
