/**
 * Local names of the runtime's exports in generated modules. A proto type may be named like one of
 * them (`Session`, `Registry`, …) and generated modules import both, so such a runtime name is
 * imported under an alias (`Registry as $Registry`); proto identifiers cannot start with `$`.
 * Without a clash the plain name is kept, so ordinary SDKs read naturally.
 */
import type { ProtoModel } from "../model/types.js";
import { importList } from "./code.js";

/** Every runtime export the generated code refers to. */
export const RUNTIME_NAMES = [
  "ClientContext",
  "ClientEvents",
  "ClientOptions",
  "DeliveryOptions",
  "ErrorMessageSpec",
  "HeartbeatOptions",
  "LoginFlow",
  "LoginStep",
  "LoginVerdict",
  "MessageDef",
  "PaynetClient",
  "PaynetError",
  "PaynetServer",
  "Registry",
  "RequestOptions",
  "RequestSpec",
  "ServerContext",
  "ServerEvents",
  "ServerOptions",
  "Session",
] as const;

export type RuntimeName = (typeof RUNTIME_NAMES)[number];

/** Local identifier of each runtime export in the modules generated for one model. */
export type RuntimeLocals = Readonly<Record<RuntimeName, string>>;

export function runtimeLocals(model: ProtoModel): RuntimeLocals {
  const taken = new Set([...model.messages, ...model.enums].map((type) => type.tsName));
  const locals = {} as Record<RuntimeName, string>;
  for (const name of RUNTIME_NAMES) locals[name] = taken.has(name) ? `$${name}` : name;
  return locals;
}

/** Import clause body for `names`, aliased where needed: `PaynetError, Registry as $Registry`. */
export function runtimeImportList(names: Iterable<RuntimeName>, locals: RuntimeLocals): string {
  return importList([...names].map((name) => (locals[name] === name ? name : `${name} as ${locals[name]}`)));
}
