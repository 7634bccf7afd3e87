/**
 * The sidecar map (`--map FILE`, YAML or JSON): paynet annotations for protos that must stay
 * untouched. Format (JSON is read as YAML, so it works too):
 *
 * ```yaml
 * package: paybox        # optional scope for the names below (default: the first input's package)
 * messages:
 *   RegisterReq: { type: 0x01, direction: up, reply: RegisterRsp, role: register }
 *   CoinCommand:
 *     { type: 0x04, direction: down, reply: CoinAck, correlation: order_id,
 *       fields: { order_id: { max_size: 64 } } }   # size bounds, as (paynet.max_size) / max_count
 *   LoginReq: { type: 0x02, direction: up, reply: LoginRsp, role: login, device_id: device_id }
 * enums:                 # optional: final reply values, as (paynet.final) (see sidecar-enums.ts)
 *   CoinState: { final: [COIN_DONE, COIN_FAILED] }
 * ```
 *
 * `serial` and `device_id` name the field that `(paynet.identity) = SERIAL / DEVICE_ID` marks.
 *
 * This module checks the shape and the value types; names are resolved later against the protos.
 */
import { isMap, isScalar, LineCounter, type Node, type Pair, parseDocument } from "yaml";
import type { DiagnosticBag } from "./diagnostics.js";
import { parseSidecarEnums, type SidecarEnumEntry } from "./sidecar-enums.js";
import { parseTypeNumber, type TypeNumber } from "./type-number.js";
import type { Direction, Role, SourcePosition } from "./types.js";

export interface SidecarFact<T> {
  readonly value: T;
  readonly position: SourcePosition;
}

export interface SidecarEntry {
  /** The message name as written. */
  readonly name: string;
  readonly position: SourcePosition;
  readonly type?: SidecarFact<TypeNumber>;
  readonly direction?: SidecarFact<Direction>;
  readonly reply?: SidecarFact<string>;
  readonly role?: SidecarFact<Role>;
  readonly correlation?: SidecarFact<string>;
  /** Field naming the device serial (`serial: device_sn`). */
  readonly serial?: SidecarFact<string>;
  /** Field naming the device id (`device_id: device_id`). */
  readonly deviceId?: SidecarFact<string>;
  /** Size bounds of fields (`fields: { name: { max_size, max_count } }`), in the order given. */
  readonly fields: readonly SidecarFieldBounds[];
  /** Annotations given with an invalid value (reported as `sidecar-invalid`). */
  readonly invalid: readonly (
    | "type"
    | "direction"
    | "reply"
    | "role"
    | "correlation"
    | "serial"
    | "deviceId"
  )[];
}

/** The bounds the sidecar gives one field. */
export interface SidecarFieldBounds {
  /** Field name as written (a proto field name). */
  readonly name: string;
  readonly position: SourcePosition;
  readonly maxSize?: SidecarFact<number>;
  readonly maxCount?: SidecarFact<number>;
}

export interface Sidecar {
  readonly displayPath: string;
  readonly content: string;
  /** Scope for names, when given. */
  readonly packageName?: string;
  readonly entries: readonly SidecarEntry[];
  /** The `enums:` section. */
  readonly enums: readonly SidecarEnumEntry[];
}

// Maps, not object literals: a value such as `constructor` or `__proto__` must find nothing here
// (an object literal would answer with what every object inherits).
const DIRECTIONS: ReadonlyMap<string, Direction> = new Map([
  ["up", "up"],
  ["uplink", "up"],
  ["down", "down"],
  ["downlink", "down"],
  ["both", "both"],
]);
const ROLES: ReadonlyMap<string, Role> = new Map([
  ["register", "register"],
  ["login", "login"],
  ["heartbeat", "heartbeat"],
  ["error", "error"],
]);
const ENTRY_KEYS = ["type", "direction", "reply", "role", "correlation", "serial", "device_id", "fields"];
/** Largest bound: the options are uint32. */
export const MAX_BOUND = 0xffffffff;

/** Parses sidecar `content`; shape errors are reported as `sidecar-invalid` and the faulty parts skipped. */
export function parseSidecar(content: string, displayPath: string, diagnostics: DiagnosticBag): Sidecar {
  const lineCounter = new LineCounter();
  const doc = parseDocument(content, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset ?? 0);
    return { file: displayPath, line, column: col };
  };
  const nodeAt = (node: Node | null | undefined, fallback: number): SourcePosition =>
    at(node?.range?.[0] ?? fallback);
  const invalid = (message: string, position: SourcePosition) =>
    diagnostics.error("sidecar-invalid", message, position);

  const result: { packageName?: string; entries: SidecarEntry[]; enums: SidecarEnumEntry[] } = {
    entries: [],
    enums: [],
  };
  const sidecar = (): Sidecar => ({
    displayPath,
    content,
    entries: result.entries,
    enums: result.enums,
    ...(result.packageName === undefined ? {} : { packageName: result.packageName }),
  });

  if (doc.errors.length > 0) {
    for (const error of doc.errors) invalid(`not valid YAML/JSON: ${error.message}`, at(error.pos[0]));
    return sidecar();
  }
  const root = doc.contents;
  if (!isMap(root)) {
    invalid(
      "the sidecar must be a mapping with the keys `package` (optional) and `messages`",
      nodeAt(root, 0),
    );
    return sidecar();
  }
  let messagesSeen = false;
  for (const pair of root.items as Pair<Node, Node>[]) {
    const key = scalarText(pair.key);
    const keyPosition = nodeAt(pair.key, 0);
    if (key === "package") {
      if (
        isScalar(pair.value) &&
        typeof pair.value.value === "string" &&
        /^\.?[A-Za-z_][\w.]*$/.test(pair.value.value)
      ) {
        result.packageName = pair.value.value.replace(/^\./, "");
      } else invalid("`package` must be a protobuf package name", nodeAt(pair.value, keyPosition.line));
    } else if (key === "messages") {
      messagesSeen = true;
      if (!isMap(pair.value)) {
        invalid("`messages` must map message names to their annotations", nodeAt(pair.value ?? pair.key, 0));
        continue;
      }
      for (const entry of pair.value.items as Pair<Node, Node>[]) {
        const parsed = parseEntry(entry, nodeAt, invalid);
        if (parsed !== undefined) result.entries.push(parsed);
      }
    } else if (key === "enums") {
      result.enums.push(...parseSidecarEnums(pair.value, keyPosition, nodeAt, invalid));
    } else {
      invalid(`unknown key \`${key ?? "?"}\` (expected \`package\`, \`messages\` or \`enums\`)`, keyPosition);
    }
  }
  if (!messagesSeen) invalid("the sidecar has no `messages` mapping", at(0));
  return sidecar();
}

function parseEntry(
  entry: Pair<Node, Node>,
  nodeAt: (node: Node | null | undefined, fallback: number) => SourcePosition,
  invalid: (message: string, position: SourcePosition) => void,
): SidecarEntry | undefined {
  const name = scalarText(entry.key);
  const position = nodeAt(entry.key, 0);
  if (name === undefined || !/^\.?[A-Za-z_][\w.]*$/.test(name)) {
    invalid("message names must be protobuf names like `RegisterReq` or `paybox.RegisterReq`", position);
    return undefined;
  }
  if (!isMap(entry.value)) {
    invalid(
      `annotations of ${name} must be a mapping like { type: 0x01, direction: up }`,
      nodeAt(entry.value, 0) ?? position,
    );
    return undefined;
  }
  const facts: {
    type?: SidecarFact<TypeNumber>;
    direction?: SidecarFact<Direction>;
    reply?: SidecarFact<string>;
    role?: SidecarFact<Role>;
    correlation?: SidecarFact<string>;
    serial?: SidecarFact<string>;
    deviceId?: SidecarFact<string>;
  } = {};
  let fields: SidecarFieldBounds[] = [];
  const invalidKeys: SidecarEntry["invalid"][number][] = [];
  const invalidValue = (
    key: SidecarEntry["invalid"][number],
    message: string,
    position: SourcePosition,
  ): void => {
    invalidKeys.push(key);
    invalid(message, position);
  };
  for (const pair of entry.value.items as Pair<Node, Node>[]) {
    const key = scalarText(pair.key);
    const valuePosition = nodeAt(pair.value ?? pair.key, 0);
    const raw = isScalar(pair.value) ? pair.value.value : undefined;
    switch (key) {
      case "type": {
        const type =
          typeof raw === "number"
            ? numberType(raw)
            : typeof raw === "string"
              ? parseTypeNumber(raw.trim(), false)
              : undefined;
        if (type === undefined)
          invalidValue(
            "type",
            `type of ${name} must be a number 1..255 such as 0x01, got ${describe(pair.value)}`,
            valuePosition,
          );
        else facts.type = { value: type, position: valuePosition };
        break;
      }
      case "direction": {
        const direction = typeof raw === "string" ? DIRECTIONS.get(raw.toLowerCase()) : undefined;
        if (direction === undefined)
          invalidValue(
            "direction",
            `direction of ${name} must be up, down or both, got ${describe(pair.value)}`,
            valuePosition,
          );
        else facts.direction = { value: direction, position: valuePosition };
        break;
      }
      case "role": {
        const role = typeof raw === "string" ? ROLES.get(raw.toLowerCase()) : undefined;
        if (role === undefined)
          invalidValue(
            "role",
            `role of ${name} must be register, login, heartbeat or error, got ${describe(pair.value)}`,
            valuePosition,
          );
        else facts.role = { value: role, position: valuePosition };
        break;
      }
      case "reply":
      case "correlation":
      case "serial":
      case "device_id": {
        const fact = key === "device_id" ? "deviceId" : key;
        const pattern = key === "reply" ? /^\.?[A-Za-z_][\w.]*$/ : /^[A-Za-z_]\w*$/;
        if (typeof raw !== "string" || !pattern.test(raw)) {
          const what = key === "reply" ? "a message name" : "a field name";
          invalidValue(fact, `${key} of ${name} must be ${what}, got ${describe(pair.value)}`, valuePosition);
        } else facts[fact] = { value: raw, position: valuePosition };
        break;
      }
      case "fields":
        fields = parseFieldBounds(name, pair.value, valuePosition, nodeAt, invalid);
        break;
      default:
        invalid(
          `unknown annotation \`${key ?? "?"}\` for ${name} (expected one of ${ENTRY_KEYS.join(", ")})`,
          nodeAt(pair.key, 0),
        );
    }
  }
  return { name, position, ...facts, fields, invalid: invalidKeys };
}

/** `fields: { order_id: { max_size: 64 }, items: { max_count: 8 } }` of message `message`. */
function parseFieldBounds(
  message: string,
  node: Node | null,
  position: SourcePosition,
  nodeAt: (node: Node | null | undefined, fallback: number) => SourcePosition,
  invalid: (message: string, position: SourcePosition) => void,
): SidecarFieldBounds[] {
  if (!isMap(node)) {
    invalid(`fields of ${message} must map field names to bounds like { max_size: 64 }`, position);
    return [];
  }
  const result: SidecarFieldBounds[] = [];
  for (const pair of node.items as Pair<Node, Node>[]) {
    const name = scalarText(pair.key);
    const namePosition = nodeAt(pair.key, 0);
    if (name === undefined || !/^[A-Za-z_]\w*$/.test(name)) {
      invalid(`field names in fields of ${message} must be proto field names like order_id`, namePosition);
      continue;
    }
    if (!isMap(pair.value)) {
      invalid(
        `bounds of ${message}.${name} must be a mapping like { max_size: 64 }`,
        nodeAt(pair.value ?? pair.key, 0),
      );
      continue;
    }
    const bounds: { maxSize?: SidecarFact<number>; maxCount?: SidecarFact<number> } = {};
    for (const boundPair of pair.value.items as Pair<Node, Node>[]) {
      const key = scalarText(boundPair.key);
      const valuePosition = nodeAt(boundPair.value ?? boundPair.key, 0);
      if (key !== "max_size" && key !== "max_count") {
        invalid(
          `unknown bound \`${key ?? "?"}\` for ${message}.${name} (expected max_size or max_count)`,
          nodeAt(boundPair.key, 0),
        );
        continue;
      }
      const value = boundValue(isScalar(boundPair.value) ? boundPair.value.value : undefined);
      if (value === undefined) {
        invalid(
          `${key} of ${message}.${name} must be an integer 1..${MAX_BOUND}, got ${describe(boundPair.value)}`,
          valuePosition,
        );
        continue;
      }
      bounds[key === "max_size" ? "maxSize" : "maxCount"] = { value, position: valuePosition };
    }
    result.push({ name, position: namePosition, ...bounds });
  }
  return result;
}

/** A bound from YAML: a number or a number literal string, integer in 1..MAX_BOUND. */
function boundValue(raw: unknown): number | undefined {
  const parsed =
    typeof raw === "number"
      ? numberType(raw)
      : typeof raw === "string"
        ? parseTypeNumber(raw.trim(), false)
        : undefined;
  return parsed?.kind === "integer" && parsed.value >= 1 && parsed.value <= MAX_BOUND
    ? parsed.value
    : undefined;
}

function numberType(value: number): TypeNumber {
  return Number.isInteger(value)
    ? { kind: "integer", value, text: String(value) }
    : { kind: "non-integer", text: String(value) };
}

function scalarText(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  const value = node.value;
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : undefined;
}

function describe(node: unknown): string {
  if (isScalar(node)) {
    if (node.value === null) return "nothing";
    return typeof node.value === "string" ? `"${node.value}"` : String(node.value);
  }
  if (isMap(node)) return "a mapping";
  return node === null || node === undefined ? "nothing" : "a list";
}
