/**
 * The token view of a .proto text that `types add` edits and reads annotations from: tokens with
 * their offsets (from the model's lexer, so both agree on what is code and what is comment), the
 * statements of each message body and its paynet options.
 */
import { type Token, tokenize } from "./lexer.js";
import { lineIndent } from "./text-splice.js";

/** Message-level paynet options, in the order `types add` writes them. */
export const MESSAGE_OPTION_KEYS = ["type", "direction", "reply", "role"] as const;
export type MessageOptionKey = (typeof MESSAGE_OPTION_KEYS)[number];

/** A token with its offsets in the source. */
export interface Located extends Token {
  readonly start: number;
  /** Exclusive; exact for everything but strings (which the edits never need the end of). */
  readonly end: number;
}

/** One statement (up to its `;`) directly inside a message body or one of its oneofs. */
export interface Statement {
  readonly tokens: readonly Located[];
}

export interface MessageBlock {
  readonly open: Located;
  readonly close: Located;
  /** Indentation of the line holding `message Name {`. */
  readonly outerIndent: string;
  readonly statements: readonly Statement[];
  /** First token of the first member (statement or nested block) of the body, if any. */
  readonly firstMember: Located | undefined;
}

/** Tokens with offsets, from the model's lexer (so both agree on what is code and what is comment). */
export function locate(source: string): Located[] {
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

/** Every message of the file (nested ones too, not those inside other constructs), innermost first. */
export function* messageBlocks(
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

export function readPackage(tokens: readonly Located[]): string | undefined {
  const index = tokens.findIndex(
    (token, i) => token.text === "package" && (i === 0 || tokens[i - 1]?.text === ";"),
  );
  if (index < 0) return undefined;
  let name = "";
  for (let i = index + 1; i < tokens.length && tokens[i]!.text !== ";"; i++) name += tokens[i]!.text;
  return name;
}

/** `option (paynet.<key>) = ...;` statements of the message itself, by key. */
export function existingOptions(block: MessageBlock): Map<MessageOptionKey, Statement> {
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
