/**
 * Minimal text edits of annotated sources for `paynet-gen types add`: the paynet annotation of one
 * message is inserted into (or, with `force`, replaced in) a .proto file as a handful of spliced
 * lines, so every other byte of the user's file stays as it was. Sidecar maps are edited by
 * `./sidecar-edit.js`, re-exported here.
 */

import { type Token, tokenize } from "./lexer.js";
import { PAYNET_OPTIONS_IMPORT } from "./paths.js";
import { formatType } from "./type-number.js";
import type { Direction, Role } from "./types.js";

export { annotateSidecar } from "./sidecar-edit.js";

/** The annotation `types add` writes for one message. */
export interface AnnotationSpec {
  /** Wire Type, 1..255. */
  readonly type: number;
  readonly direction: Direction;
  /** Name of the reply message, as written in the source (`CoinAck` or `paybox.CoinAck`). */
  readonly reply?: string;
  readonly role?: Role;
  /** proto name of the correlation field of this message (`order_id`). */
  readonly correlation?: string;
}

/**
 * Part of an annotation: with `merge`, the keys given replace the message's current ones and the
 * others stay as they are written.
 */
export type AnnotationPatch = { readonly [K in keyof AnnotationSpec]?: AnnotationSpec[K] };

/** Why a text edit could not be made; `code` is stable. */
export class SourceEditError extends Error {
  readonly code:
    | "MESSAGE_NOT_IN_SOURCE"
    | "FIELD_NOT_FOUND"
    | "ALREADY_ANNOTATED"
    | "INVALID_SOURCE"
    | "INCOMPLETE_ANNOTATION";

  constructor(code: SourceEditError["code"], message: string) {
    super(message);
    this.name = "SourceEditError";
    this.code = code;
  }
}

const DIRECTION_ENUM: Record<Direction, string> = { up: "UPLINK", down: "DOWNLINK", both: "BOTH" };
const ROLE_ENUM: Record<Role, string> = {
  register: "REGISTER",
  login: "LOGIN",
  heartbeat: "HEARTBEAT",
  error: "ERROR",
};
/** Message-level paynet options, in the order `types add` writes them. */
const MESSAGE_OPTION_KEYS = ["type", "direction", "reply", "role"] as const;
type MessageOptionKey = (typeof MESSAGE_OPTION_KEYS)[number];

/** A token with its offsets in the source. */
interface Located extends Token {
  readonly start: number;
  /** Exclusive; exact for everything but strings (which the edits never need the end of). */
  readonly end: number;
}

/** One statement (up to its `;`) directly inside a message body or one of its oneofs. */
interface Statement {
  readonly tokens: readonly Located[];
}

interface MessageBlock {
  readonly open: Located;
  readonly close: Located;
  /** Indentation of the line holding `message Name {`. */
  readonly outerIndent: string;
  readonly statements: readonly Statement[];
  /** First token of the first member (statement or nested block) of the body, if any. */
  readonly firstMember: Located | undefined;
}

/** A pending splice; applied from the end of the file backwards so offsets stay valid. */
interface Splice {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/**
 * Returns `source` with the paynet annotation of `messageName` (`CoinAck`, `Outer.Inner`, or with
 * the package prefix) added: option lines right after the message's opening brace, indented like
 * its body, the correlation marker on the field, and `import "paynet/options.proto";` when missing.
 * Throws `SourceEditError` when the message (or the correlation field) is not defined in `source`,
 * or when it is already annotated and `force` is not set. With `force` the old options are replaced;
 * with `force` and `merge` only the keys `spec` gives are, and the others keep their text (a patch
 * that leaves the message without a type or direction is refused).
 */
export function annotateProto(
  source: string,
  messageName: string,
  spec: AnnotationPatch,
  options: { force?: boolean; merge?: boolean } = {},
): string {
  const tokens = locate(source);
  const eol = source.includes("\r\n") ? "\r\n" : "\n";
  const block = findMessage(source, tokens, messageName);
  const existing = existingOptions(block);
  if (existing.size > 0 && options.force !== true) {
    throw new SourceEditError(
      "ALREADY_ANNOTATED",
      `${messageName} is already annotated (${[...existing.keys()].map((key) => `(paynet.${key})`).join(", ")}); use --force to change it (the keys you pass replace the current ones, the others stay)`,
    );
  }

  const values = optionValues(spec);
  const splices: Splice[] = [];
  const missing: MessageOptionKey[] = [];
  let lastKept: Statement | undefined;
  for (const key of MESSAGE_OPTION_KEYS) {
    const statement = existing.get(key);
    const value = values.get(key);
    if (statement !== undefined && value !== undefined) {
      splices.push(replaceOptionValue(statement, value));
      lastKept = statement;
    } else if (statement !== undefined) {
      if (options.merge === true) lastKept = statement;
      else splices.push(removeStatement(source, statement));
    } else if (value !== undefined) missing.push(key);
  }
  const absent = (["type", "direction"] as const).filter(
    (key) => !values.has(key) && !(options.merge === true && existing.has(key)),
  );
  if (absent.length > 0) {
    throw new SourceEditError(
      "INCOMPLETE_ANNOTATION",
      `${messageName} needs a ${absent.join(" and a ")}: the annotation has none`,
    );
  }
  if (missing.length > 0) {
    const lines = missing.map((key) => `option (paynet.${key}) = ${values.get(key)};`);
    // New options join the kept ones (keeping the usual order), else open the body.
    const afterKept = lastKept === undefined ? undefined : insertAfterStatement(source, lastKept, lines, eol);
    splices.push(afterKept ?? insertOptions(source, block, lines, eol));
  }
  splices.push(...correlationSplices(source, block, spec.correlation));
  if (!hasOptionsImport(tokens)) splices.push(insertImport(source, tokens, eol));
  return applySplices(source, splices);
}

function optionValues(spec: AnnotationPatch): Map<MessageOptionKey, string> {
  const values = new Map<MessageOptionKey, string>();
  if (spec.type !== undefined) values.set("type", formatType(spec.type));
  if (spec.direction !== undefined) values.set("direction", DIRECTION_ENUM[spec.direction]);
  if (spec.reply !== undefined) values.set("reply", JSON.stringify(spec.reply));
  if (spec.role !== undefined) values.set("role", ROLE_ENUM[spec.role]);
  return values;
}

/** Tokens with offsets, from the model's lexer (so both agree on what is code and what is comment). */
function locate(source: string): Located[] {
  const lineStarts = [0];
  for (let i = 0; i < source.length; i++) if (source[i] === "\n") lineStarts.push(i + 1);
  return tokenize(source).map((token) => {
    const start = (lineStarts[token.line - 1] ?? 0) + token.column - 1;
    return { ...token, start, end: token.kind === "string" ? start + 1 : start + token.text.length };
  });
}

interface Scope {
  readonly kind: "message" | "oneof" | "other";
  readonly name: string;
  readonly open: Located;
  readonly statements: Statement[];
  firstMember: Located | undefined;
}

/** Finds the definition of `messageName` (package prefix optional, nested names dotted). */
function findMessage(source: string, tokens: readonly Located[], messageName: string): MessageBlock {
  const packageName = readPackage(tokens);
  let path = messageName.split(".");
  if (packageName !== undefined && messageName.startsWith(`${packageName}.`)) {
    path = messageName.slice(packageName.length + 1).split(".");
  }
  for (const { names, block } of messageBlocks(source, tokens)) {
    if (names.join(".") === path.join(".")) return block;
  }
  throw new SourceEditError("MESSAGE_NOT_IN_SOURCE", `message ${messageName} is not defined in this file`);
}

/** Every message of the file (nested ones too, not those inside other constructs), innermost first. */
function* messageBlocks(
  source: string,
  tokens: readonly Located[],
): Generator<{ names: string[]; block: MessageBlock }> {
  const stack: Scope[] = [];
  let statementStart = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind !== "punct") continue;
    const parent = stack.at(-1);
    if (token.text === "{") {
      const header = tokens.slice(statementStart, i);
      if (parent !== undefined && parent.firstMember === undefined && header[0] !== undefined)
        parent.firstMember = header[0];
      const keyword = header[0]?.text;
      const kind = keyword === "message" ? "message" : keyword === "oneof" ? "oneof" : "other";
      stack.push({ kind, name: header[1]?.text ?? "", open: token, statements: [], firstMember: undefined });
      statementStart = i + 1;
    } else if (token.text === "}") {
      const scope = stack.pop();
      if (scope?.kind === "message" && stack.every((outer) => outer.kind === "message")) {
        yield {
          names: [...stack.map((outer) => outer.name), scope.name],
          block: {
            open: scope.open,
            close: token,
            outerIndent: lineIndent(source, scope.open.start),
            statements: scope.statements,
            firstMember: scope.firstMember,
          },
        };
      }
      if (scope?.kind === "oneof" && stack.at(-1)?.kind === "message")
        stack.at(-1)!.statements.push(...scope.statements);
      statementStart = i + 1;
    } else if (token.text === ";") {
      const statement = tokens.slice(statementStart, i + 1);
      if (parent !== undefined && statement.length > 1) {
        parent.firstMember ??= statement[0];
        parent.statements.push({ tokens: statement });
      }
      statementStart = i + 1;
    }
  }
}

/** The direction and reply a message's paynet options say, as written in a .proto. */
export interface WrittenAnnotation {
  /** Full name (`paybox.LoginReq`, `pkg.Outer.Inner`). */
  readonly fullName: string;
  readonly direction?: Direction;
  /** Full name of the reply, resolved the simple way (relative names are taken as package-level). */
  readonly reply?: string;
}

// A Map, so that `constructor` written as a direction finds nothing.
const DIRECTION_OF: ReadonlyMap<string, Direction> = new Map([
  ["UPLINK", "up"],
  ["DOWNLINK", "down"],
  ["BOTH", "both"],
]);

/**
 * The `(paynet.direction)` and `(paynet.reply)` options of every message in `source`, read from the
 * text: what `types add` infers a direction from, even when the protos do not load yet.
 */
export function writtenAnnotations(source: string): WrittenAnnotation[] {
  const tokens = locate(source);
  const packageName = readPackage(tokens);
  const qualify = (name: string) =>
    name.startsWith(".")
      ? name.slice(1)
      : packageName && !name.startsWith(`${packageName}.`)
        ? `${packageName}.${name}`
        : name;
  const found: WrittenAnnotation[] = [];
  for (const { names, block } of messageBlocks(source, tokens)) {
    const options = existingOptions(block);
    const value = (key: MessageOptionKey) => {
      const statement = options.get(key)?.tokens;
      const equals = statement?.findIndex((token) => token.text === "=") ?? -1;
      return equals < 0 ? undefined : statement?.[equals + 1];
    };
    const direction = DIRECTION_OF.get(value("direction")?.text ?? "");
    const reply = value("reply");
    found.push({
      fullName: qualify(names.join(".")),
      ...(direction === undefined ? {} : { direction }),
      ...(reply?.kind === "string" ? { reply: qualify(reply.text) } : {}),
    });
  }
  return found;
}

function readPackage(tokens: readonly Located[]): string | undefined {
  const index = tokens.findIndex(
    (token, i) => token.text === "package" && (i === 0 || tokens[i - 1]?.text === ";"),
  );
  if (index < 0) return undefined;
  let name = "";
  for (let i = index + 1; i < tokens.length && tokens[i]!.text !== ";"; i++) name += tokens[i]!.text;
  return name;
}

/** `option (paynet.<key>) = ...;` statements of the message itself, by key. */
function existingOptions(block: MessageBlock): Map<MessageOptionKey, Statement> {
  const found = new Map<MessageOptionKey, Statement>();
  for (const statement of block.statements) {
    const key = paynetOptionKey(statement.tokens);
    if (key !== undefined) found.set(key, statement);
  }
  return found;
}

/** Recognises `option ( paynet . key ) = ...` (and the fully-qualified `(.paynet.key)`). */
function paynetOptionKey(tokens: readonly Located[]): MessageOptionKey | undefined {
  if (tokens[0]?.text !== "option" || tokens[1]?.text !== "(") return undefined;
  const close = tokens.findIndex((token) => token.text === ")");
  const name = tokens
    .slice(2, close)
    .map((token) => token.text)
    .join("")
    .replace(/^\./, "");
  const key = name.startsWith("paynet.") ? name.slice("paynet.".length) : undefined;
  return MESSAGE_OPTION_KEYS.find((candidate) => candidate === key);
}

function replaceOptionValue(statement: Statement, value: string): Splice {
  const tokens = statement.tokens;
  const equals = tokens.findIndex((token) => token.text === "=");
  const semicolon = tokens.at(-1)!;
  return { start: tokens[equals + 1]!.start, end: semicolon.start, text: value };
}

/** Removes a statement; its whole line when nothing else (but a trailing comment) is on it. */
function removeStatement(source: string, statement: Statement): Splice {
  const first = statement.tokens[0]!;
  const last = statement.tokens.at(-1)!;
  const lineStart = source.lastIndexOf("\n", first.start - 1) + 1;
  const newline = source.indexOf("\n", last.end);
  const lineEnd = newline < 0 ? source.length : newline + 1;
  const before = source.slice(lineStart, first.start);
  const after = source.slice(last.end, lineEnd);
  if (before.trim() === "" && (after.trim() === "" || after.trim().startsWith("//"))) {
    return { start: lineStart, end: lineEnd, text: "" };
  }
  return { start: first.start, end: last.end, text: "" };
}

/**
 * Option lines right after the opening brace. When the brace ends its line they become lines of
 * their own, indented like the body's first member; a one-line message gets them inline.
 */
function insertOptions(source: string, block: MessageBlock, lines: readonly string[], eol: string): Splice {
  const afterBrace = block.open.end;
  const newline = source.indexOf("\n", afterBrace);
  const restOfLine = source.slice(afterBrace, newline < 0 ? source.length : newline).replace(/\r$/, "");
  const restIsBlank = restOfLine.trim() === "" || restOfLine.trim().startsWith("//");
  if (!restIsBlank || newline < 0) {
    const closesHere = source.slice(afterBrace, block.close.start).trim() === "";
    const text = ` ${lines.join(" ")}${closesHere ? " " : ""}`;
    return { start: afterBrace, end: afterBrace, text };
  }
  const indent = bodyIndent(source, block);
  return {
    start: newline + 1,
    end: newline + 1,
    text: lines.map((line) => `${indent}${line}${eol}`).join(""),
  };
}

/** Lines after the line of `statement`, indented like it; `undefined` when it shares its line. */
function insertAfterStatement(
  source: string,
  statement: Statement,
  lines: readonly string[],
  eol: string,
): Splice | undefined {
  const first = statement.tokens[0]!;
  const indent = lineIndent(source, first.start);
  const lineStart = source.lastIndexOf("\n", first.start - 1) + 1;
  const newline = source.indexOf("\n", statement.tokens.at(-1)!.end);
  if (source.slice(lineStart, first.start) !== indent || newline < 0) return undefined;
  return {
    start: newline + 1,
    end: newline + 1,
    text: lines.map((line) => `${indent}${line}${eol}`).join(""),
  };
}

function bodyIndent(source: string, block: MessageBlock): string {
  const member = block.firstMember;
  if (member !== undefined) {
    const lineStart = source.lastIndexOf("\n", member.start - 1) + 1;
    const before = source.slice(lineStart, member.start);
    if (before.trim() === "" && lineStart > block.open.start) return before;
  }
  const unit = block.outerIndent.includes("\t") ? "\t" : "  ";
  return block.outerIndent + unit;
}

function lineIndent(source: string, offset: number): string {
  const lineStart = source.lastIndexOf("\n", offset - 1) + 1;
  return /^[ \t]*/.exec(source.slice(lineStart, offset))?.[0] ?? "";
}

/** Field statement (`[label] type name = number [opts];`) named `fieldName`, if any. */
function findField(block: MessageBlock, fieldName: string): Statement | undefined {
  return block.statements.find((statement) => {
    const equals = statement.tokens.findIndex((token) => token.text === "=");
    const first = statement.tokens[0]?.text;
    if (equals < 1 || first === "option" || first === "reserved" || first === "extensions") return false;
    return statement.tokens[equals - 1]?.text === fieldName;
  });
}

/** Index range of the `(paynet.correlation) = value` entry in a field's `[...]`, if present. */
function correlationEntry(tokens: readonly Located[]): { start: number; end: number } | undefined {
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]!.text !== "(") continue;
    const close = tokens.findIndex((token, j) => j > i && token.text === ")");
    const name = tokens
      .slice(i + 1, close)
      .map((token) => token.text)
      .join("")
      .replace(/^\./, "");
    if (name !== "paynet.correlation") continue;
    let end = close + 1;
    while (end < tokens.length && tokens[end]!.text !== "," && tokens[end]!.text !== "]") end++;
    return { start: i, end };
  }
  return undefined;
}

/** Marks `fieldName` as the correlation field; with another field marked before, unmarks it. */
function correlationSplices(source: string, block: MessageBlock, fieldName: string | undefined): Splice[] {
  if (fieldName === undefined) return [];
  const field = findField(block, fieldName);
  if (field === undefined) {
    const fields = block.statements.filter(
      (s) => s.tokens.some((t) => t.text === "=") && s.tokens[0]?.text !== "option",
    );
    const names = fields
      .map((s) => s.tokens[s.tokens.findIndex((t) => t.text === "=") - 1]?.text)
      .filter(Boolean);
    throw new SourceEditError(
      "FIELD_NOT_FOUND",
      `correlation field ${fieldName} is not a field of this message (fields: ${names.join(", ") || "none"})`,
    );
  }
  const splices: Splice[] = [];
  for (const statement of block.statements) {
    if (statement === field) continue;
    const entry = correlationEntry(statement.tokens);
    if (entry !== undefined) splices.push(removeCorrelation(statement.tokens, entry));
  }
  if (correlationEntry(field.tokens) !== undefined) return splices;
  const tokens = field.tokens;
  const semicolon = tokens.at(-1)!;
  const bracket = lastIndexWhere(tokens, (token) => token.text === "]");
  if (bracket > 0 && tokens.slice(0, bracket).some((token) => token.text === "[")) {
    splices.push({
      start: tokens[bracket]!.start,
      end: tokens[bracket]!.start,
      text: ", (paynet.correlation) = true",
    });
  } else {
    const end = source.slice(0, semicolon.start).trimEnd().length;
    splices.push({ start: end, end, text: " [(paynet.correlation) = true]" });
  }
  return splices;
}

function removeCorrelation(tokens: readonly Located[], entry: { start: number; end: number }): Splice {
  const open = lastIndexWhere(tokens, (token, i) => i < entry.start && token.text === "[");
  const onlyEntry = tokens[entry.start - 1]?.text === "[" && tokens[entry.end]?.text === "]";
  if (onlyEntry) {
    // ` [(paynet.correlation) = true]` goes entirely, including the space before `[`.
    const close = tokens[entry.end]!;
    return { start: tokens[open - 1]!.end, end: close.end, text: "" };
  }
  if (tokens[entry.end]?.text === ",")
    return { start: tokens[entry.start]!.start, end: tokens[entry.end + 1]!.start, text: "" };
  return { start: tokens[entry.start - 1]!.start, end: tokens[entry.end - 1]!.end, text: "" };
}

function hasOptionsImport(tokens: readonly Located[]): boolean {
  return tokens.some(
    (token, i) =>
      token.kind === "string" &&
      token.text === PAYNET_OPTIONS_IMPORT &&
      (tokens[i - 1]?.text === "import" || tokens[i - 2]?.text === "import"),
  );
}

/** `import "paynet/options.proto";` after the last import, else after `package`, else `syntax`. */
function insertImport(source: string, tokens: readonly Located[], eol: string): Splice {
  const line = `import "${PAYNET_OPTIONS_IMPORT}";`;
  const anchor = (keyword: string): Located | undefined => {
    let found: Located | undefined;
    for (let i = 0; i < tokens.length; i++) {
      if (
        tokens[i]!.text === keyword &&
        (i === 0 || tokens[i - 1]!.text === ";" || tokens[i - 1]!.text === "}")
      ) {
        found = tokens.slice(i).find((token) => token.text === ";");
      }
    }
    return found;
  };
  const lastImport = anchor("import");
  const after = lastImport ?? anchor("package") ?? anchor("syntax") ?? anchor("edition");
  if (after === undefined) return { start: 0, end: 0, text: `${line}${eol}` };
  const newline = source.indexOf("\n", after.end);
  if (newline < 0)
    return { start: source.length, end: source.length, text: `${eol}${lastImport ? "" : eol}${line}${eol}` };
  // A new import block after package/syntax is set off by a blank line, as protos usually are.
  return { start: newline + 1, end: newline + 1, text: lastImport ? `${line}${eol}` : `${eol}${line}${eol}` };
}

/** `Array.prototype.findLastIndex` (ES2023, newer than the compile target's lib). */
function lastIndexWhere<T>(items: readonly T[], predicate: (item: T, index: number) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!, i)) return i;
  return -1;
}

function applySplices(source: string, splices: readonly Splice[]): string {
  const ordered = [...splices].sort((a, b) => b.start - a.start || b.end - a.end);
  let result = source;
  for (const splice of ordered)
    result = result.slice(0, splice.start) + splice.text + result.slice(splice.end);
  return result;
}
