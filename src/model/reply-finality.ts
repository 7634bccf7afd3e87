/**
 * Which reply ends an at-least-once delivery. A request the cloud delivers at least once (it
 * travels to the device and correlates with its reply) is redelivered until a final reply; that
 * reply must say so: one of its enum fields holds a value marked `(paynet.final)`. A reply with no
 * way to tell final from progress is an error here, not a delivery that ends at the first reply.
 */
import type { EnumDraft, MessageDraft } from "./build.js";
import type { DiagnosticBag } from "./diagnostics.js";
import type { FieldModel, ReplyFinality, SourcePosition } from "./types.js";

/** Final values whose name says the command failed; the device answers failures with it. */
const FAILURE_NAME = /FAIL|ERROR|ABORT|REJECT|CANCEL|DENIED/i;

/**
 * The finality of `replyName` as the reply of the delivered request `requestName`, or undefined
 * (reported) when it has none or several candidate fields. `position` is the request's reply
 * annotation; `correlationField` the reply's correlation field (never a state).
 */
export function replyFinality(
  requestName: string,
  replyName: string,
  correlationField: string,
  position: SourcePosition,
  messages: ReadonlyMap<string, MessageDraft>,
  enums: ReadonlyMap<string, EnumDraft>,
  diagnostics: DiagnosticBag,
): ReplyFinality | undefined {
  const reply = messages.get(replyName);
  if (reply === undefined) return undefined;
  const candidates = reply.fields.filter(
    (field): field is FieldModel & { value: { kind: "enum"; fullName: string } } =>
      field.value.kind === "enum" &&
      !field.repeated &&
      field.mapKey === undefined &&
      field.protoName !== correlationField &&
      enums.get(field.value.fullName)?.values.some((value) => value.final) === true,
  );
  if (candidates.length === 0) {
    diagnostics.error(
      "reply-final-missing",
      `${requestName} is delivered at least once (it travels to the device and correlates with ${replyName}), but ${replyName} cannot say which reply is final: ` +
        "give it an enum field whose final values are marked, e.g. `COIN_DONE = 2 [(paynet.final) = true];` (or `enums: { State: { final: [DONE] } }` in the sidecar)",
      position,
    );
    return undefined;
  }
  if (candidates.length > 1) {
    diagnostics.error(
      "reply-final-ambiguous",
      `${replyName}, the reply of ${requestName}, has several fields with (paynet.final) values (${candidates.map((field) => field.protoName).join(", ")}): which one ends the delivery is unclear; keep final values on one of them`,
      position,
    );
    return undefined;
  }
  const field = candidates[0]!;
  const finalValues = enums
    .get(field.value.fullName)!
    .values.filter((value) => value.final)
    .map((value) => value.protoName);
  const failureValue = finalValues.find((name) => FAILURE_NAME.test(name));
  if (failureValue === undefined) {
    diagnostics.warning(
      "reply-final-no-failure",
      `no final value of ${field.value.fullName} (${finalValues.join(", ")}) names a failure (FAIL, ERROR, ABORT, REJECT, CANCEL, DENIED): when the device cannot complete a ${requestName} (interrupted by a restart, or its handler threw), it answers with the error message only, and the delivery runs to its deadline`,
      position,
    );
  }
  return {
    field: field.protoName,
    enumName: field.value.fullName,
    finalValues,
    ...(failureValue === undefined ? {} : { failureValue }),
  };
}
