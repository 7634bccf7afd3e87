/**
 * Adds one message's annotation to a sidecar map (`messages: { Name: { type, direction, ... } }`).
 * The yaml Document API finds where the entry goes; the entry is then spliced in as text so the
 * user's comments, quoting and number formats elsewhere stay byte for byte (re-printing the whole
 * document would, for instance, turn `0x01` into `0x1`). JSON maps are re-printed (JSON has no
 * comments to lose).
 */
import { isMap, isScalar, type Pair, parseDocument, type Scalar, type YAMLMap } from "yaml";
import type { AnnotationPatch, AnnotationSpec } from "./edit.js";
import { formatType } from "./type-number.js";
import type { Direction, Role } from "./types.js";

/** Thrown for an unreadable map or an existing entry without `force`. */
export class SidecarEditError extends Error {
  readonly code: "INVALID_SIDECAR" | "ALREADY_ANNOTATED" | "INCOMPLETE_ANNOTATION";

  constructor(code: SidecarEditError["code"], message: string) {
    super(message);
    this.name = "SidecarEditError";
    this.code = code;
  }
}

/**
 * The size bounds (`fields:`) of an existing entry. They are facts about fields, not the message
 * annotation this edit is about, so they are kept whatever the edit does (also with `--force`).
 */
type KeptFields = Record<string, unknown> | undefined;

function keptFields(current: unknown): KeptFields {
  if (typeof current !== "object" || current === null) return undefined;
  const fields = (current as Record<string, unknown>).fields;
  return typeof fields === "object" && fields !== null ? (fields as Record<string, unknown>) : undefined;
}

/** Plain data (the bounds) as a YAML flow value: `{ order_id: { max_size: 64 } }`. */
function flowText(value: unknown): string {
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).map(([key, item]) => `${flowText(key)}: ${flowText(item)}`);
    return `{ ${entries.join(", ")} }`;
  }
  if (typeof value === "string" && /^[A-Za-z_][\w.-]*$/.test(value)) return value;
  return typeof value === "number" ? String(value) : JSON.stringify(value);
}

/** The entry's fields in a fixed order, with text as it is written in YAML. */
function entryFields(spec: AnnotationSpec, kept: KeptFields): Array<[string, string]> {
  const fields: Array<[string, string]> = [
    ["type", formatType(spec.type)],
    ["direction", spec.direction satisfies Direction],
  ];
  if (spec.reply !== undefined) fields.push(["reply", spec.reply]);
  if (spec.role !== undefined) fields.push(["role", spec.role]);
  if (spec.correlation !== undefined) fields.push(["correlation", spec.correlation]);
  if (kept !== undefined) fields.push(["fields", flowText(kept)]);
  return fields;
}

/** The entry as plain data (what the map must read back as). */
function entryData(spec: AnnotationSpec, kept: KeptFields): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [key, value] of entryFields(spec, undefined)) data[key] = key === "type" ? spec.type : value;
  if (kept !== undefined) data.fields = kept;
  return data;
}

/**
 * The entry `patch` makes of `current` (an existing entry's data, if any): with `merge` the keys of
 * the patch replace the current ones and the others stay; without it the patch is the entry.
 */
function mergedSpec(name: string, current: unknown, patch: AnnotationPatch, merge: boolean): AnnotationSpec {
  const base =
    merge && typeof current === "object" && current !== null ? (current as Record<string, unknown>) : {};
  const pick = <T>(value: T | undefined, key: string): T | undefined =>
    value !== undefined ? value : (base[key] as T | undefined);
  const type = pick(patch.type, "type");
  const direction = pick(patch.direction, "direction");
  if (typeof type !== "number" || typeof direction !== "string") {
    throw new SidecarEditError(
      "INCOMPLETE_ANNOTATION",
      `${name} needs a type and a direction: the entry would have ${typeof type === "number" ? "no direction" : "no type"}`,
    );
  }
  const reply = pick(patch.reply, "reply");
  const role = pick(patch.role, "role");
  const correlation = pick(patch.correlation, "correlation");
  return {
    type,
    direction: direction as Direction,
    ...(typeof reply === "string" ? { reply } : {}),
    ...(typeof role === "string" ? { role: role as Role } : {}),
    ...(typeof correlation === "string" ? { correlation } : {}),
  };
}

/**
 * Returns `source` (a YAML or JSON sidecar map) with `messageName` annotated as `patch`. An existing
 * entry is an error unless `force` (then it is replaced, or with `merge` updated: the keys the patch
 * gives replace the entry's, the others stay). `format` picks JSON re-printing for `.json`.
 */
export function annotateSidecar(
  source: string,
  messageName: string,
  patch: AnnotationPatch,
  options: { force?: boolean; merge?: boolean; format?: "yaml" | "json" } = {},
): string {
  if (options.format === "json")
    return annotateJson(source, messageName, patch, options.force === true, options.merge === true);
  const doc = parseDocument(source, { keepSourceTokens: false });
  if (doc.errors.length > 0) {
    throw new SidecarEditError("INVALID_SIDECAR", `the map is not valid YAML: ${doc.errors[0]!.message}`);
  }
  const eol = source.includes("\r\n") ? "\r\n" : "\n";
  const root = doc.contents;
  if (root !== null && !isMap(root) && !(isScalar(root) && root.value === null)) {
    throw new SidecarEditError(
      "INVALID_SIDECAR",
      "the map's top level must be a mapping with a `messages` key",
    );
  }
  const messagesPair = isMap(root)
    ? (root.items.find((pair) => keyText(pair) === "messages") as Pair | undefined)
    : undefined;
  const messages = messagesPair?.value;
  if (
    messages !== undefined &&
    messages !== null &&
    !isMap(messages) &&
    !(isScalar(messages) && messages.value === null)
  ) {
    throw new SidecarEditError(
      "INVALID_SIDECAR",
      "`messages` must be a mapping of message name → annotation",
    );
  }

  const existing = isMap(messages) ? messages.items.find((pair) => keyText(pair) === messageName) : undefined;
  if (existing !== undefined && options.force !== true) {
    throw new SidecarEditError(
      "ALREADY_ANNOTATED",
      `${messageName} is already annotated in the map; use --force to replace the annotation`,
    );
  }
  const current = existing === undefined ? undefined : (existing.value as { toJSON?: () => unknown } | null);
  const currentData = current?.toJSON?.();
  const spec = mergedSpec(messageName, currentData, patch, options.merge === true);
  const kept = keptFields(currentData);

  const edited = spliceEntry(
    source,
    messagesPair,
    messages as YAMLMap | Scalar | null | undefined,
    existing,
    messageName,
    spec,
    kept,
    eol,
  );
  // The splice must read back as intended; if the layout defeated it, re-print through the Document API.
  return readsBackAs(edited, messageName, spec, kept) ? edited : reprint(source, messageName, spec, kept);
}

function keyText(pair: Pair): string | undefined {
  const key = pair.key;
  if (isScalar(key)) return String(key.value);
  return typeof key === "string" ? key : undefined;
}

function spliceEntry(
  source: string,
  messagesPair: Pair | undefined,
  messages: YAMLMap | Scalar | null | undefined,
  existing: Pair | undefined,
  name: string,
  spec: AnnotationSpec,
  kept: KeptFields,
  eol: string,
): string {
  const flowEntry = `${name}: { ${entryFields(spec, kept)
    .map(([key, value]) => `${key}: ${value}`)
    .join(", ")} }`;

  if (messagesPair === undefined) {
    const base = source.length === 0 || source.endsWith("\n") ? source : source + eol;
    return `${base}messages:${eol}  ${flowEntry}${eol}`;
  }
  if (!isMap(messages) || messages.items.length === 0 || messages.flow === true) {
    // `messages:` with nothing (or `{}`) after it: the value is replaced by a block with one entry.
    const keyNode = messagesPair.key as Scalar;
    const keyEnd = keyNode.range?.[1] ?? 0;
    const colon = source.indexOf(":", keyEnd);
    const valueNode = messages as { range?: [number, number, number] } | null | undefined;
    const valueEnd = valueNode?.range?.[1] ?? colon + 1;
    const indent = lineIndent(source, keyNode.range?.[0] ?? 0);
    if (isMap(messages) && messages.items.length > 0) return source; // flow map with entries: re-printed
    return `${source.slice(0, colon + 1)}${eol}${indent}  ${flowEntry}${source.slice(Math.max(valueEnd, colon + 1))}`;
  }

  const siblings = messages.items;
  const firstKey = siblings[0]!.key as Scalar;
  const indent = lineIndent(source, firstKey.range![0]);
  const firstValue = siblings[0]!.value;
  const useFlow = !isMap(firstValue) || firstValue.flow === true;
  const entry = useFlow ? flowEntry : blockEntry(source, name, spec, kept, indent, firstValue, eol);

  if (existing !== undefined) {
    const start = (existing.key as Scalar).range![0];
    const end = pairEnd(existing);
    return source.slice(0, start) + entry.trimStart() + source.slice(end);
  }
  const last = siblings.at(-1)!;
  const lastEnd = pairEnd(last);
  const newline = source.indexOf("\n", lastEnd);
  if (newline < 0) return `${source}${eol}${indent}${entry.trimStart()}${eol}`;
  return `${source.slice(0, newline + 1)}${indent}${entry.trimStart()}${eol}${source.slice(newline + 1)}`;
}

/**
 * End offset of a pair's value text. A block mapping's own range runs on over trailing comments and
 * blank lines (which belong to whatever follows), so it ends with its last value instead.
 */
function pairEnd(pair: Pair): number {
  const value = pair.value as { range?: [number, number, number] | null } | null;
  if (isMap(value) && value.flow !== true && value.items.length > 0) return pairEnd(value.items.at(-1)!);
  return value?.range?.[1] ?? (pair.key as Scalar).range![1];
}

function blockEntry(
  source: string,
  name: string,
  spec: AnnotationSpec,
  kept: KeptFields,
  indent: string,
  sibling: YAMLMap,
  eol: string,
): string {
  const nestedKey = sibling.items[0]?.key as Scalar | undefined;
  const nestedIndent = nestedKey?.range ? lineIndent(source, nestedKey.range[0]) : `${indent}  `;
  const lines = entryFields(spec, kept).map(([key, value]) => `${nestedIndent}${key}: ${value}`);
  return `${indent}${name}:${eol}${lines.join(eol)}`;
}

function lineIndent(source: string, offset: number): string {
  const lineStart = source.lastIndexOf("\n", offset - 1) + 1;
  return /^[ \t]*/.exec(source.slice(lineStart, offset))?.[0] ?? "";
}

function readsBackAs(text: string, name: string, spec: AnnotationSpec, kept: KeptFields): boolean {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return false;
  const data = doc.toJS() as { messages?: Record<string, unknown> } | null;
  const messages = data?.messages;
  const entry = messages !== undefined && Object.hasOwn(messages, name) ? messages[name] : undefined;
  return JSON.stringify(entry) === JSON.stringify(entryData(spec, kept));
}

function reprint(source: string, name: string, spec: AnnotationSpec, kept: KeptFields): string {
  const doc = parseDocument(source);
  if (!isMap(doc.contents)) doc.contents = doc.createNode({}) as never;
  const node = doc.createNode(entryData(spec, kept)) as YAMLMap;
  const typeNode = node.items.find((pair) => keyText(pair) === "type")?.value;
  if (isScalar(typeNode)) typeNode.format = "HEX";
  const messages = doc.get("messages");
  if (isMap(messages)) messages.set(name, node);
  else doc.set("messages", doc.createNode({ [name]: node }));
  return doc.toString();
}

function annotateJson(
  source: string,
  name: string,
  patch: AnnotationPatch,
  force: boolean,
  merge: boolean,
): string {
  let data: unknown;
  try {
    data = source.trim() === "" ? {} : JSON.parse(source);
  } catch (error) {
    throw new SidecarEditError("INVALID_SIDECAR", `the map is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new SidecarEditError(
      "INVALID_SIDECAR",
      "the map's top level must be an object with a `messages` key",
    );
  }
  const root = data as { messages?: Record<string, unknown> };
  root.messages ??= {};
  // Own entries only: a message named like an inherited member (`constructor`) is not "annotated".
  const current = Object.hasOwn(root.messages, name) ? root.messages[name] : undefined;
  if (current !== undefined && !force) {
    throw new SidecarEditError(
      "ALREADY_ANNOTATED",
      `${name} is already annotated in the map; use --force to replace the annotation`,
    );
  }
  root.messages[name] = entryData(mergedSpec(name, current, patch, merge), keptFields(current));
  return `${JSON.stringify(root, null, 2)}\n`;
}
