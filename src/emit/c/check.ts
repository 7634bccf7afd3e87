/**
 * What the C target needs beyond the shared model rules: every string, bytes, repeated and map field
 * bounded (a device holds each message in fixed memory), no message containing itself, sizes that
 * fit 32-bit arithmetic, and C names that do not collide. Each problem is a positioned diagnostic
 * naming the field or message, like the loader's.
 */
import { DiagnosticBag, formatPosition } from "../../model/diagnostics.js";
import type { Diagnostic, FieldModel, MessageModel, ProtoModel } from "../../model/types.js";
import { enumCName, enumValueCName, messageCName, oneofCaseName, serviceNames, typeMacro } from "./names.js";
import { SizeTable } from "./sizes.js";

/** Largest message the C target accepts: its sizes are computed in 32-bit arithmetic. */
export const C_MAX_MESSAGE_SIZE = 0x7fffffff;

function isSized(scalar: string): boolean {
  return scalar === "string" || scalar === "bytes";
}

/** Whether a field holds strings or bytes somewhere (value, element, map key or map value). */
export function needsMaxSize(field: FieldModel): boolean {
  return (
    (field.value.kind === "scalar" && isSized(field.value.scalar)) ||
    (field.mapKey !== undefined && isSized(field.mapKey))
  );
}

export function needsMaxCount(field: FieldModel): boolean {
  return field.repeated || field.mapKey !== undefined;
}

function describeField(field: FieldModel): string {
  const value = field.value.kind === "scalar" ? field.value.scalar : field.value.fullName;
  if (field.mapKey !== undefined) return `map<${field.mapKey}, ${value}>`;
  return field.repeated ? `repeated ${value}` : value;
}

/** Every problem that keeps `model` from becoming C; empty when it can. */
export function checkCTarget(model: ProtoModel): Diagnostic[] {
  const bag = new DiagnosticBag();
  const error = (rule: string, message: string, position: Diagnostic["position"]) =>
    bag.error(rule, message, position);

  for (const message of model.messages) {
    for (const field of message.fields) {
      const name = `${message.fullName}.${field.protoName}`;
      const missing: string[] = [];
      if (needsMaxSize(field) && field.maxSize === undefined) missing.push("max_size");
      if (needsMaxCount(field) && field.maxCount === undefined) missing.push("max_count");
      if (missing.length === 0) continue;
      const options = missing.map((bound) => `(paynet.${bound}) = N`).join(", ");
      const sidecar = missing.map((bound) => `${bound}: N`).join(", ");
      error(
        "c-unbounded-field",
        `field ${name} (${describeField(field)}) has no ${missing.join(" and no ")}: a device holds it in fixed memory, so --lang c needs [${options}] on it (or \`fields: { ${field.protoName}: { ${sidecar} } }\` in the sidecar map)`,
        field.position,
      );
    }
  }
  const recursive = checkRecursion(model, error);
  if (!bag.hasErrors && !recursive) {
    const sizes = new SizeTable(model.messages);
    for (const message of model.messages) {
      const size = sizes.maxSize(message.fullName);
      if (size > C_MAX_MESSAGE_SIZE) {
        error(
          "c-message-too-large",
          `message ${message.fullName} may take ${size} bytes encoded, more than the C target's ${C_MAX_MESSAGE_SIZE}: lower the bounds of its fields`,
          message.position,
        );
      }
    }
  }
  checkNames(model, error);
  return bag.sorted();
}

/** Reports each message that contains itself, at the field closing the cycle. True when any does. */
function checkRecursion(
  model: ProtoModel,
  error: (rule: string, message: string, position: Diagnostic["position"]) => void,
): boolean {
  const byName = new Map(model.messages.map((message) => [message.fullName, message]));
  const state = new Map<string, "open" | "done">();
  const path: { message: MessageModel; field?: FieldModel }[] = [];
  let found = false;
  const visit = (message: MessageModel): void => {
    state.set(message.fullName, "open");
    path.push({ message });
    for (const field of message.fields) {
      if (field.value.kind !== "message") continue;
      const target = byName.get(field.value.fullName);
      if (target === undefined) continue;
      path[path.length - 1]!.field = field;
      const seen = state.get(target.fullName);
      if (seen === "open") {
        found = true;
        const start = path.findIndex((step) => step.message.fullName === target.fullName);
        const cycle = [...path.slice(start).map((step) => step.message.fullName), target.fullName].join(
          " → ",
        );
        error(
          "c-recursive-message",
          `field ${message.fullName}.${field.protoName}: message ${target.fullName} contains itself (${cycle}); a device lays each message out in fixed memory without malloc, so the C target cannot hold a recursive message`,
          field.position,
        );
      } else if (seen === undefined) visit(target);
    }
    path.pop();
    state.set(message.fullName, "done");
  };
  for (const message of model.messages) if (!state.has(message.fullName)) visit(message);
  return found;
}

function checkNames(
  model: ProtoModel,
  error: (rule: string, message: string, position: Diagnostic["position"]) => void,
): void {
  const service = serviceNames(model);
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(service.prefix)) {
    error(
      "c-invalid-name",
      `the service name ${model.serviceName} gives the C prefix "${service.prefix}", which is no C identifier; pass --name`,
      undefined,
    );
    return;
  }
  const owners = new Map<string, { what: string; position: Diagnostic["position"] }>();
  const claim = (identifier: string, what: string, position: Diagnostic["position"]): void => {
    const owner = owners.get(identifier);
    if (owner === undefined) {
      owners.set(identifier, { what, position });
      return;
    }
    const where = owner.position === undefined ? "" : ` (${formatPosition(owner.position)})`;
    error(
      "c-name-collision",
      `${what} and ${owner.what}${where} would both be named ${identifier} in C; rename one of them`,
      position,
    );
  };
  for (const message of model.messages) {
    const name = messageCName(message);
    claim(name, `message ${message.fullName}`, message.position);
    for (const suffix of ["init", "encode", "decode", "size", "MAX_ENCODED_SIZE"]) {
      claim(`${name}_${suffix}`, `the ${suffix} of message ${message.fullName}`, message.position);
    }
    for (const oneof of message.oneofs) {
      for (const number of oneof.fieldNumbers) {
        const member = message.fields.find((field) => field.number === number);
        if (member !== undefined)
          claim(
            oneofCaseName(message, oneof, member),
            `oneof case ${message.fullName}.${member.protoName}`,
            member.position,
          );
      }
    }
  }
  for (const enumModel of model.enums) {
    claim(enumCName(enumModel), `enum ${enumModel.fullName}`, enumModel.position);
    for (const value of enumModel.values) {
      claim(
        enumValueCName(enumModel, value.protoName),
        `enum value ${enumModel.fullName}.${value.protoName}`,
        enumModel.position,
      );
    }
  }
  for (const { message } of model.wire) {
    claim(typeMacro(service, message), `the Type-ID of ${message.fullName}`, message.position);
  }
  for (const suffix of ["device", "device_init", "handlers", "command", "report"]) {
    claim(`${service.prefix}_${suffix}`, `the SDK's ${service.prefix}_${suffix}`, undefined);
  }
}
