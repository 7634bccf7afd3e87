/**
 * Minimal text edits of annotated sources for `paynet-gen types add`: the paynet annotation of one
 * message is inserted into (or, with `force`, replaced in) a .proto file as a handful of spliced
 * lines, so every other byte of the user's file stays as it was. Sidecar maps are edited by
 * `./sidecar-edit.js`; the annotations already written are read by `./written-annotations.js`.
 * Both are re-exported here.
 */
import { correlationSplices } from "./edit-correlation.js";
import { SourceEditError } from "./edit-error.js";
import { PAYNET_OPTIONS_IMPORT } from "./paths.js";
import {
  existingOptions,
  type Located,
  locate,
  MESSAGE_OPTION_KEYS,
  type MessageBlock,
  type MessageOptionKey,
  messageBlocks,
  readPackage,
  type Statement,
} from "./proto-text.js";
import { applySplices, lineIndent, type Splice } from "./text-splice.js";
import { formatType } from "./type-number.js";
import type { Direction, Role } from "./types.js";

export { SourceEditError } from "./edit-error.js";
export { annotateSidecar } from "./sidecar-edit.js";
export { type WrittenAnnotation, writtenAnnotations } from "./written-annotations.js";

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

const DIRECTION_ENUM: Record<Direction, string> = { up: "UPLINK", down: "DOWNLINK", both: "BOTH" };
const ROLE_ENUM: Record<Role, string> = {
  register: "REGISTER",
  login: "LOGIN",
  heartbeat: "HEARTBEAT",
  error: "ERROR",
};
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
