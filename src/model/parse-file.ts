/**
 * One .proto file parsed by protobufjs, plus the position index protobufjs cannot give. Parse
 * failures become a message with a line and a column (protobufjs gives a line at best).
 */
import protobuf from "protobufjs";
import { type Token, tokenize } from "./lexer.js";
import { indexSource, type Place, type SourceIndex } from "./source-index.js";

export interface ParsedProto {
  readonly syntax: "proto2" | "proto3";
  readonly packageName: string;
  /** Import names in source order (regular, public and weak). */
  readonly imports: readonly string[];
  /** A root of its own per file; treated as immutable (it may be shared through the cache). */
  readonly root: protobuf.Root;
  /** Absent for built-in definitions that come as JSON (no source text). */
  readonly index?: SourceIndex;
}

export interface ParseFailure {
  readonly rule: "syntax" | "unsupported-edition" | "duplicate-name";
  readonly message: string;
  readonly place: Place;
  /** For `duplicate-name`: the first declaration of the name (the message then ends with its position). */
  readonly previous?: Place;
}

export type ParseOutcome =
  | { readonly ok: true; readonly proto: ParsedProto }
  | { readonly ok: false; readonly failure: ParseFailure };

const PARSE_OPTIONS = { keepCase: true, alternateCommentMode: true } as const;

/** Parsed files by absolute path; reused while the source text is unchanged (descriptor.proto, options.proto, …). */
const cache = new Map<string, { readonly source: string; readonly outcome: ParseOutcome }>();

/** Parses `source` (the contents of the file at `key`), using the cache when the text is unchanged. */
export function parseProto(key: string, source: string): ParseOutcome {
  const cached = cache.get(key);
  if (cached !== undefined && cached.source === source) return cached.outcome;
  const outcome = parseUncached(source);
  cache.set(key, { source, outcome });
  return outcome;
}

/** A built-in definition shipped as JSON by protobufjs (`google/protobuf/timestamp.proto`, …). */
export function parseBuiltinJson(key: string, json: protobuf.INamespace): ParsedProto {
  const cached = cache.get(key);
  if (cached?.outcome.ok) return cached.outcome.proto;
  const proto: ParsedProto = {
    syntax: "proto3",
    packageName: "google.protobuf",
    imports: [],
    root: protobuf.Root.fromJSON(withProtoFieldNames(json) as protobuf.INamespace),
  };
  cache.set(key, { source: "", outcome: { ok: true, proto } });
  return proto;
}

/**
 * protobufjs's JSON copies of the well-known types spell a few field names in camelCase
 * (`google.protobuf.Value.nullValue`); the .proto names are snake_case, which the model carries.
 */
function withProtoFieldNames(json: unknown): unknown {
  if (Array.isArray(json)) return json.map(withProtoFieldNames);
  if (json === null || typeof json !== "object") return json;
  const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    if (key === "fields" && value !== null && typeof value === "object") {
      result[key] = Object.fromEntries(Object.entries(value).map(([name, field]) => [snake(name), field]));
    } else if (key === "oneof" && Array.isArray(value)) {
      result[key] = value.map((name) => (typeof name === "string" ? snake(name) : name));
    } else result[key] = withProtoFieldNames(value);
  }
  return result;
}

function parseUncached(source: string): ParseOutcome {
  const tokens = tokenize(source);
  const edition = declaredSyntax(tokens);
  if (edition !== undefined && edition.value !== "proto2" && edition.value !== "proto3") {
    return {
      ok: false,
      failure: {
        rule: edition.keyword === "edition" ? "unsupported-edition" : "syntax",
        message:
          edition.keyword === "edition"
            ? `editions are not supported (edition "${edition.value}"); use syntax = "proto3" or "proto2"`
            : `unknown syntax "${edition.value}"; expected "proto3" or "proto2"`,
        place: edition.place,
      },
    };
  }
  let result: protobuf.IParserResult;
  try {
    result = protobuf.parse(source, new protobuf.Root(), PARSE_OPTIONS);
  } catch (error) {
    return { ok: false, failure: describeParseError(error, source, tokens) };
  }
  const last = tokens[tokens.length - 1];
  if (
    last !== undefined && last.kind === "punct" ? last.text !== ";" && last.text !== "}" : last !== undefined
  ) {
    // protobufjs silently accepts some truncated statements (`option x =` at the end of the file).
    return {
      ok: false,
      failure: {
        rule: "syntax",
        message: "unexpected end of input",
        place: { line: last.line, column: last.column + last.text.length },
      },
    };
  }
  const index = indexSource(tokens);
  return {
    ok: true,
    proto: {
      syntax: edition?.value === "proto3" ? "proto3" : "proto2",
      packageName: result.package ?? "",
      imports: [...(result.imports ?? []), ...(result.weakImports ?? [])],
      root: result.root,
      index,
    },
  };
}

function declaredSyntax(
  tokens: readonly Token[],
): { keyword: string; value: string; place: Place } | undefined {
  const [keyword, equals, value] = tokens;
  if (keyword?.kind !== "ident" || (keyword.text !== "syntax" && keyword.text !== "edition"))
    return undefined;
  if (equals?.text !== "=" || value === undefined) return undefined;
  return { keyword: keyword.text, value: value.text, place: { line: value.line, column: value.column } };
}

/** Turns a protobufjs parse error into a message and a place (column found by re-scanning the line). */
function describeParseError(error: unknown, source: string, tokens: readonly Token[]): ParseFailure {
  const raw = error instanceof Error ? error.message : String(error);
  const located = /^(.*) \((?:.*, )?line (\d+)\)$/s.exec(raw);
  if (located) {
    const text = located[1]!;
    const line = Number(located[2]);
    return { rule: "syntax", message: text, place: { line, column: columnOf(text, line, source, tokens) } };
  }
  if (error instanceof TypeError && / of (null|undefined)\b/.test(raw)) {
    // protobufjs dereferences the `null` token it returns at the end of the input.
    const last = tokens[tokens.length - 1];
    const place =
      last === undefined
        ? { line: 1, column: 1 }
        : { line: last.line, column: last.column + last.text.length };
    return { rule: "syntax", message: "unexpected end of input", place };
  }
  const duplicate = describeDuplicate(raw, tokens);
  if (duplicate !== undefined) return duplicate;
  return { rule: "syntax", message: raw, place: placeOfUnlocatedError(raw, tokens) };
}

/**
 * protobufjs's `duplicate name 'x' in Namespace .pkg` as the loader's own `duplicate-name` rule (the
 * same as for a name defined in two files), when both declarations can be found in the tokens.
 */
function describeDuplicate(raw: string, tokens: readonly Token[]): ParseFailure | undefined {
  const match = /^duplicate name '([^']+)' in (?:Type|Enum|Namespace|Root|Service)(?: \.?([\w.]*))?$/.exec(
    raw,
  );
  if (match === null) return undefined;
  const [first, second] = declarationsOf(match[1]!, tokens);
  if (first === undefined || second === undefined) return undefined;
  const owner = match[2] ?? "";
  return {
    rule: "duplicate-name",
    message: `${owner === "" ? "" : `${owner}.`}${match[1]} is already defined`,
    place: { line: second.line, column: second.column },
    previous: { line: first.line, column: first.column },
  };
}

/** Tokens that declare `name`: a message, enum, oneof or service name, or a field or enum value name. */
function declarationsOf(name: string, tokens: readonly Token[]): Token[] {
  return tokens.filter(
    (t, i) =>
      t.kind === "ident" &&
      t.text === name &&
      (tokens[i + 1]?.text === "=" ||
        tokens[i + 1]?.text === "{" ||
        ["message", "enum", "oneof", "service"].includes(tokens[i - 1]?.text ?? "")),
  );
}

function columnOf(text: string, line: number, source: string, tokens: readonly Token[]): number {
  const lineText = source.split("\n")[line - 1] ?? "";
  if (text.startsWith("illegal string")) return firstIndex(lineText, ['"', "'"]);
  if (text.startsWith("illegal comment")) return firstIndex(lineText, ["/*"]);
  const quoted = /'(.*?)'/s.exec(text)?.[1];
  if (quoted === undefined) return 1;
  const token = tokens.find((t) => t.line === line && t.text === quoted);
  if (token !== undefined) return token.column;
  const at = lineText.indexOf(quoted);
  if (at >= 0) return at + 1;
  // `null` is protobufjs's end of input.
  return quoted === "null" ? lineText.length + 1 : 1;
}

function firstIndex(lineText: string, needles: readonly string[]): number {
  const found = needles.map((n) => lineText.indexOf(n)).filter((at) => at >= 0);
  return found.length === 0 ? 1 : Math.min(...found) + 1;
}

/**
 * Errors thrown while protobufjs adds a declaration (`duplicate name 'x' in Type .pkg.M`) carry no
 * line: point at the second declaration of the name, or at the enclosing type.
 */
function placeOfUnlocatedError(message: string, tokens: readonly Token[]): Place {
  const duplicate = /^duplicate name '([^']+)'/.exec(message)?.[1];
  if (duplicate !== undefined) {
    const declaring = declarationsOf(duplicate, tokens);
    const second = declaring[1] ?? declaring[0];
    if (second !== undefined) return { line: second.line, column: second.column };
  }
  const owner = / in (?:Type|Enum|Namespace|Root|Service) \.?([\w.]+)$/.exec(message)?.[1]?.split(".").pop();
  if (owner !== undefined) {
    const at = tokens.findIndex(
      (t, i) => t.text === owner && ["message", "enum"].includes(tokens[i - 1]?.text ?? ""),
    );
    if (at >= 0) return { line: tokens[at]!.line, column: tokens[at]!.column };
  }
  return { line: 1, column: 1 };
}
