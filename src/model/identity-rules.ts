/**
 * The identity fields of the login flow: `(paynet.identity) = SERIAL` / `DEVICE_ID` on the messages
 * that name the device, so the server can check the claim against the client certificate.
 */
import type { MessageAnnotation } from "./annotations.js";
import type { MessageDraft } from "./build.js";
import type { DiagnosticBag } from "./diagnostics.js";
import { describeField } from "./field-text.js";
import type { Candidate } from "./validate.js";

const IDENTITY_OPTION = { serial: "(paynet.identity) = SERIAL", deviceId: "(paynet.identity) = DEVICE_ID" };

/**
 * The identity fields: what a login-flow message says about the device (its serial, its id), for
 * the server to check against the client certificate. Only the login flow's messages name the
 * device: SERIAL on the REGISTER (or LOGIN) request, DEVICE_ID on the LOGIN request or the reply
 * of the REGISTER request; each on a single string field. Returns the valid ones by message.
 */
export function checkIdentities(
  annotations: readonly MessageAnnotation[],
  candidates: readonly Candidate[],
  messages: ReadonlyMap<string, MessageDraft>,
  diagnostics: DiagnosticBag,
): Map<string, { serialField?: string; deviceIdField?: string }> {
  const withRole = (role: string) => candidates.find((c) => c.annotation.role?.value === role);
  const register = withRole("register");
  const login = withRole("login");
  const allowed = {
    serial: new Set([register?.fullName, login?.fullName]),
    deviceId: new Set([login?.fullName, register?.annotation.reply?.value]),
  };
  const valid = new Map<string, { serialField?: string; deviceIdField?: string }>();
  for (const annotation of annotations) {
    const name = annotation.symbol.fullName;
    for (const key of ["serial", "deviceId"] as const) {
      const fact = annotation[key];
      if (fact === undefined) continue;
      if (!allowed[key].has(name)) {
        diagnostics.error(
          "identity-misplaced",
          `${IDENTITY_OPTION[key]} marks ${name}.${fact.value}, but only the login flow names the device: SERIAL on the REGISTER (or LOGIN) request, DEVICE_ID on the LOGIN request or the REGISTER request's reply`,
          fact.position,
        );
        continue;
      }
      const field = messages.get(name)?.fields.find((f) => f.protoName === fact.value);
      if (field === undefined) continue;
      if (
        field.repeated ||
        field.mapKey !== undefined ||
        field.value.kind !== "scalar" ||
        field.value.scalar !== "string"
      ) {
        diagnostics.error(
          "identity-invalid-field",
          `${IDENTITY_OPTION[key]} field ${name}.${field.protoName} must be a single string, not ${describeField(field)}`,
          fact.position,
        );
        continue;
      }
      valid.set(name, {
        ...valid.get(name),
        [key === "serial" ? "serialField" : "deviceIdField"]: field.protoName,
      });
    }
  }
  const loginFacts = login?.annotation;
  if (
    login !== undefined &&
    login.direction !== "down" &&
    loginFacts?.deviceId === undefined &&
    !loginFacts?.invalid.has("deviceId")
  ) {
    diagnostics.warning(
      "identity-missing",
      `${login.fullName} has role LOGIN but no field marked ${IDENTITY_OPTION.deviceId}: under mTLS the generated server cannot check the claimed device id before the login handler runs (session.login() still checks it, closing the connection on a mismatch)`,
      login.annotation.role!.position,
    );
  }
  const registerFacts = register?.annotation;
  if (
    register !== undefined &&
    register.direction !== "down" &&
    registerFacts?.serial === undefined &&
    !registerFacts?.invalid.has("serial")
  ) {
    diagnostics.warning(
      "identity-missing",
      `${register.fullName} has role REGISTER but no field marked ${IDENTITY_OPTION.serial}: under mTLS the device ids it assigns are not bound to certificates, so the generated server refuses the logins that use them`,
      register.annotation.role!.position,
    );
  }
  return valid;
}
