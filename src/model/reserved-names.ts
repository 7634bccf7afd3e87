/**
 * The identifiers a generated SDK declares or relies on, and the check that no proto name takes one
 * of them. Names of the runtime package are not reserved: the emitters import those under an alias
 * when a proto type takes the name. What cannot be aliased is reported here:
 *
 * - globals the generated code uses (`Promise`, `Uint8Array`, `Object.keys`, …), reserved words and
 *   the names every JavaScript object inherits (`constructor`, `toString`, …);
 * - identifiers the SDK generates (`codecs`, `MessageType`, `createFoo`, `FooDef`, `<Service>Server`,
 *   …), which share one namespace because the SDK's `index.ts` re-exports every module;
 * - fields that cannot be properties (`__proto__`) and fields whose properties would coincide.
 */
import type { MessageDraft } from "./build.js";
import type { DiagnosticBag } from "./diagnostics.js";
import { compareStrings, formatPosition } from "./diagnostics.js";
import type { EnumModel, SourcePosition, WireInfo } from "./types.js";

/** Globals referenced by generated code: a proto type of the same name would shadow them. */
export const GLOBALS_USED_BY_SDK: ReadonlySet<string> = new Set([
  "AbortSignal",
  "Array",
  "AsyncDisposable",
  "AsyncIterable",
  "BigInt",
  "Date",
  "Math",
  "NonNullable",
  "Number",
  "Object",
  "Omit",
  "Partial",
  "Promise",
  "Readonly",
  "Record",
  "String",
  "Symbol",
  "Uint8Array",
  "globalThis",
  "undefined",
]);

/** Words that cannot name an interface, a type alias or a `const` in a strict-mode ES module. */
export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  // ECMAScript reserved words (strict mode and modules included)
  ..."break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with".split(
    " ",
  ),
  ..."implements interface let package private protected public static yield await arguments eval".split(" "),
  // TypeScript's predefined type names
  ..."any bigint boolean never number object string symbol unknown".split(" "),
]);

/**
 * Properties every object inherits: a handler, codec or enum looked up by such a name would find the
 * inherited member instead of the generated one.
 */
export const OBJECT_PROTOTYPE_NAMES: ReadonlySet<string> = new Set(
  [
    "__proto__",
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
    "constructor",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "toString",
    "valueOf",
  ].sort(),
);

/** Identifiers every SDK generates, whatever the proto, and what each one is. */
const FIXED_IDENTIFIERS: ReadonlyMap<string, string> = new Map([
  ["codecs", "the codec map"],
  ["MessageType", "the Type-ID map"],
  ["MessageTypeName", "the union of wire message names"],
  ["UPLINK_TYPES", "the UPLINK Type table"],
  ["DOWNLINK_TYPES", "the DOWNLINK Type table"],
  ["messageTypeName", "the reverse Type lookup"],
  ["errorStatus", "the error status helper"],
  ["loginStep", "the login step helper"],
  ["loginFlow", "the login flow builder"],
  ["heartbeat", "the heartbeat options builder"],
]);

/** Identifiers generated from the service name (`--name`), with what each one is. */
function serviceIdentifiers(service: string): [string, string][] {
  const lower = `${service.charAt(0).toLowerCase()}${service.slice(1)}`;
  return [
    [`${service}Reply`, "the handler reply type"],
    [`${service}ServerContext`, "the server handler context"],
    [`${service}ClientContext`, "the client handler context"],
    [`${service}ServerContextImpl`, "the server handler context class"],
    [`${service}ClientContextImpl`, "the client handler context class"],
    [`${service}ServerHandlers`, "the server handler interface"],
    [`${service}ClientHandlers`, "the client handler interface"],
    [`register${service}ServerHandlers`, "the server registration function"],
    [`register${service}ClientHandlers`, "the client registration function"],
    [`${service}ServerOptions`, "the server options type"],
    [`${service}Server`, "the server facade"],
    [`${service}ServerFacade`, "the server facade class"],
    [`create${service}Server`, "the server factory"],
    [`${service}ClientOptions`, "the client options type"],
    [`${service}Client`, "the client facade"],
    [`${service}ClientFacade`, "the client facade class"],
    [`create${service}Client`, "the client factory"],
    [`default${service}ErrorMessage`, "the default error message builder"],
    [`${lower}ErrorMessage`, "the error message spec"],
  ];
}

/** A proto type (message or enum) with its TypeScript name. */
interface NamedType {
  readonly kind: "message" | "enum";
  readonly fullName: string;
  readonly tsName: string;
  readonly position: SourcePosition;
}

/** One identifier the SDK declares because of a proto type. */
interface Derived {
  readonly identifier: string;
  /** `the encoder of`, or empty for the type's own name. */
  readonly role: string;
  readonly owner: NamedType;
}

export interface GeneratedNameInput {
  readonly messages: ReadonlyMap<string, MessageDraft>;
  readonly enums: ReadonlyMap<string, Omit<EnumModel, "tsName">>;
  readonly wire: ReadonlyMap<string, WireInfo>;
  readonly tsNames: ReadonlyMap<string, string>;
  readonly serviceName: string;
  /** Whether the service name came from `--name` (the fix suggested differs). */
  readonly explicitName: boolean;
}

/**
 * Reports proto types whose TypeScript name, or a name derived from it, is reserved or generated
 * twice (`reserved-name`, `ts-name-collision`).
 */
export function checkGeneratedNames(input: GeneratedNameInput, diagnostics: DiagnosticBag): void {
  const types: NamedType[] = [
    ...[...input.messages.values()].map((m) => named("message", m.fullName, m.position, input)),
    ...[...input.enums.values()].map((e) => named("enum", e.fullName, e.position, input)),
  ].sort((a, b) => compareStrings(a.fullName, b.fullName));

  const reported = new Set(types.filter((type) => checkOwnName(type, input, diagnostics)));

  const derived: Derived[] = [];
  for (const type of types) derived.push(...derivedIdentifiers(type, input));
  const service = new Map(serviceIdentifiers(input.serviceName));
  const first = new Map<string, Derived>();
  for (const entry of derived) {
    // A type's own name is checked by checkOwnName; one report per type is enough.
    if (entry.role === "" || reported.has(entry.owner)) continue;
    const fixed = FIXED_IDENTIFIERS.get(entry.identifier) ?? service.get(entry.identifier);
    if (fixed !== undefined) {
      diagnostics.error(
        "reserved-name",
        `${describe(entry)} would be ${entry.identifier}, which the SDK uses for ${fixed}; rename ${entry.owner.kind} ${entry.owner.fullName}`,
        entry.owner.position,
      );
    }
  }
  for (const entry of [...derived].sort(compareDerived)) {
    const earlier = first.get(entry.identifier);
    if (earlier === undefined) {
      first.set(entry.identifier, entry);
      continue;
    }
    // Two types with the same TypeScript name are reported by assignTsNames already.
    if (earlier.owner.tsName === entry.owner.tsName) continue;
    diagnostics.error(
      "ts-name-collision",
      `${describe(entry)} and ${describe(earlier)} (${formatPosition(earlier.owner.position)}) would both be ${entry.identifier} in TypeScript; rename one of them`,
      entry.owner.position,
    );
  }

  for (const message of [...input.messages.values()].sort((a, b) => compareStrings(a.fullName, b.fullName)))
    checkProperties(message, diagnostics);
}

function named(
  kind: NamedType["kind"],
  fullName: string,
  position: SourcePosition,
  input: GeneratedNameInput,
): NamedType {
  return { kind, fullName, tsName: input.tsNames.get(fullName) ?? fullName, position };
}

/** Reports a type whose own TypeScript name is reserved; returns whether it did. */
function checkOwnName(type: NamedType, input: GeneratedNameInput, diagnostics: DiagnosticBag): boolean {
  const name = type.tsName;
  const head = `${type.kind} ${type.fullName} would be named ${name} in TypeScript`;
  const service = serviceIdentifiers(input.serviceName).find(([identifier]) => identifier === name);
  if (service !== undefined) {
    const origin = input.explicitName ? "--name" : "its package";
    diagnostics.error(
      "reserved-name",
      `${head}, which the SDK generates for ${service[1]} of service ${input.serviceName} (named after ${origin}); rename the ${type.kind} or choose another service name with --name`,
      type.position,
    );
    return true;
  }
  const fixed = FIXED_IDENTIFIERS.get(name);
  const reason = RESERVED_WORDS.has(name)
    ? "a reserved word"
    : OBJECT_PROTOTYPE_NAMES.has(name)
      ? "a name every JavaScript object inherits (lookups by name would find the inherited member)"
      : GLOBALS_USED_BY_SDK.has(name)
        ? `which would shadow the global ${name} that the generated code uses`
        : fixed !== undefined
          ? `which the SDK uses for ${fixed}`
          : undefined;
  if (reason === undefined) return false;
  diagnostics.error("reserved-name", `${head}, ${reason}; rename the ${type.kind}`, type.position);
  return true;
}

/** Every module-level identifier the SDK declares for `type`. */
function derivedIdentifiers(type: NamedType, input: GeneratedNameInput): Derived[] {
  const name = type.tsName;
  const entry = (identifier: string, role: string): Derived => ({ identifier, role, owner: type });
  if (type.kind === "enum") return [entry(name, ""), entry(`isKnown${name}`, "the enum guard")];
  const entries = [
    entry(name, ""),
    entry(`create${name}`, "the factory"),
    entry(`encode${name}`, "the encoder"),
    entry(`decode${name}`, "the decoder"),
  ];
  const wire = input.wire.get(type.fullName);
  if (wire !== undefined) {
    entries.push(entry(`${name}Def`, "the MessageDef"));
    if (wire.reply !== undefined) entries.push(entry(`${name}Request`, "the RequestSpec"));
    if (wire.role === "heartbeat") entries.push(entry(`answer${name}`, "the default heartbeat answer"));
  }
  for (const [requestName, info] of input.wire) {
    if (info.reply === type.fullName && (info.role === "login" || info.role === "register")) {
      entries.push(entry(`accept${name}`, `the default judgement (as reply of ${requestName})`));
    }
  }
  return entries;
}

function describe(entry: Derived): string {
  const owner = `${entry.owner.kind} ${entry.owner.fullName}`;
  return entry.role === "" ? `the TypeScript name of ${owner}` : `${entry.role} of ${owner}`;
}

function compareDerived(a: Derived, b: Derived): number {
  return (
    compareStrings(a.owner.position.file, b.owner.position.file) ||
    a.owner.position.line - b.owner.position.line ||
    a.owner.position.column - b.owner.position.column ||
    compareStrings(a.owner.fullName, b.owner.fullName) ||
    compareStrings(a.role, b.role)
  );
}

/** Fields and oneofs of one message become properties of one interface: they must be distinct. */
function checkProperties(message: MessageDraft, diagnostics: DiagnosticBag): void {
  const owners = new Map<string, { what: string; position: SourcePosition }>();
  const claim = (property: string, what: string, position: SourcePosition, optional?: string) => {
    if (optional !== undefined && OBJECT_PROTOTYPE_NAMES.has(property)) {
      // An object without the property still has the inherited member, so `{}` would not even
      // type-check as the message.
      diagnostics.error(
        "reserved-name",
        `${what} of ${message.fullName} would be the optional property ${property}, which every object inherits from Object.prototype; ${optional}`,
        position,
      );
    }
    const earlier = owners.get(property);
    if (earlier === undefined) {
      owners.set(property, { what, position });
      return;
    }
    diagnostics.error(
      "ts-name-collision",
      `${what} and ${earlier.what} (${formatPosition(earlier.position)}) would both be property ${property} of ${message.fullName} in TypeScript; rename one of them`,
      position,
    );
  };
  const oneofPosition = new Map<string, SourcePosition>();
  for (const field of message.fields) {
    if (field.oneof !== undefined) {
      if (!oneofPosition.has(field.oneof)) oneofPosition.set(field.oneof, field.position);
      continue;
    }
    const singular = !field.repeated && field.mapKey === undefined;
    const optional = singular && (field.value.kind === "message" || (field.hasPresence && !field.required));
    const fix =
      field.value.kind !== "message" && message.syntax === "proto3"
        ? "rename the field or drop `optional`"
        : "rename the field";
    claim(field.tsName, `field ${field.protoName}`, field.position, optional ? fix : undefined);
  }
  for (const oneof of message.oneofs) {
    claim(
      oneof.tsName,
      `oneof ${oneof.protoName}`,
      oneofPosition.get(oneof.protoName) ?? message.position,
      "rename the oneof",
    );
  }
}

/**
 * Fields named `__proto__`: protobufjs drops them while parsing (its field table is a plain object)
 * and an object literal cannot hold them, so they are reported from the source index.
 */
export function checkPrototypeFields(
  fields: Iterable<{ readonly key: string; readonly position: SourcePosition }>,
  diagnostics: DiagnosticBag,
): void {
  for (const { key, position } of fields) {
    const hash = key.lastIndexOf("#");
    if (key.slice(hash + 1) !== "__proto__") continue;
    diagnostics.error(
      "reserved-name",
      `field ${key.slice(0, hash)}.__proto__ cannot be a property: __proto__ is the prototype accessor of JavaScript objects; rename the field`,
      position,
    );
  }
}
