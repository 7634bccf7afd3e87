/**
 * Positions of the declarations of one .proto file, recovered from its tokens: protobufjs records
 * none. Also the raw option uses (with the kind of their value token), which is what the paynet
 * annotations are checked against — protobufjs turns `= UPLINK` and `= "UPLINK"` into the same
 * string and never validates custom options.
 */
import type { Token } from "./lexer.js";

/** 1-based line and column within the indexed file. */
export interface Place {
  readonly line: number;
  readonly column: number;
}

/** The element an option is attached to. */
export type OptionTarget =
  | { readonly kind: "file" }
  | { readonly kind: "message"; readonly fullName: string }
  | { readonly kind: "field"; readonly message: string; readonly field: string }
  | { readonly kind: "oneof"; readonly message: string; readonly oneof: string }
  | { readonly kind: "enum"; readonly fullName: string }
  | { readonly kind: "enum-value"; readonly enumName: string; readonly value: string }
  | { readonly kind: "extension"; readonly field: string }
  | { readonly kind: "service" | "method"; readonly name: string };

export type OptionValue =
  | { readonly kind: "number"; readonly text: string; readonly negative: boolean; readonly place: Place }
  | { readonly kind: "string" | "ident"; readonly text: string; readonly place: Place }
  | { readonly kind: "aggregate"; readonly place: Place }
  | { readonly kind: "missing"; readonly place: Place };

export interface OptionUse {
  readonly target: OptionTarget;
  /** Normalised name: `(paynet.type)`, `packed`, `(foo).bar`. */
  readonly name: string;
  /** Position of the option name's first token. */
  readonly place: Place;
  readonly value: OptionValue;
}

export interface DeclPlace {
  readonly kind: "message" | "enum" | "group";
  readonly place: Place;
}

export interface ImportUse {
  readonly path: string;
  readonly place: Place;
  readonly modifier?: "public" | "weak";
}

/** A field declared inside `extend X { … }`. */
export interface ExtensionUse {
  /** Full name of the extension field (`pkg.name`, or `pkg.Msg.name` when declared in a message). */
  readonly fullName: string;
  /** The extended message as written (`R`, `google.protobuf.MessageOptions`). */
  readonly extended: string;
  /** Scope the extended name is resolved in (a package or message full name). */
  readonly scope: string;
  /** Place of the field's name. */
  readonly place: Place;
}

export interface SourceIndex {
  readonly packageName: string;
  readonly imports: readonly ImportUse[];
  /** By full name (`pkg.Outer.Inner`). */
  readonly declarations: ReadonlyMap<string, DeclPlace>;
  /** By `messageFullName#fieldName`: place of the field's name and of its type. */
  readonly fields: ReadonlyMap<string, { readonly place: Place; readonly typePlace: Place }>;
  readonly options: readonly OptionUse[];
  /** Extension fields, in source order. */
  readonly extensions: readonly ExtensionUse[];
}

/** Key of `SourceIndex.fields`. */
export function fieldKey(messageFullName: string, fieldName: string): string {
  return `${messageFullName}#${fieldName}`;
}

type Scope =
  | { readonly kind: "file" }
  | { readonly kind: "message"; readonly fullName: string }
  | { readonly kind: "oneof"; readonly message: string; readonly name: string }
  | { readonly kind: "enum"; readonly fullName: string }
  | { readonly kind: "extend"; readonly scope: string; readonly extended: string }
  | { readonly kind: "service"; readonly name: string }
  | { readonly kind: "method"; readonly name: string };

const SKIPPED_STATEMENTS = new Set(["syntax", "edition", "reserved", "extensions"]);

/** Builds the position index of a file that protobufjs parsed successfully. */
export function indexSource(tokens: readonly Token[]): SourceIndex {
  let i = 0;
  let packageName = "";
  const imports: ImportUse[] = [];
  const declarations = new Map<string, DeclPlace>();
  const fields = new Map<string, { place: Place; typePlace: Place }>();
  const options: OptionUse[] = [];
  const extensions: ExtensionUse[] = [];
  const scopes: Scope[] = [{ kind: "file" }];

  const peek = (offset = 0): Token | undefined => tokens[i + offset];
  const place = (t: Token | undefined): Place => (t ? { line: t.line, column: t.column } : endPlace(tokens));
  const is = (t: Token | undefined, text: string): boolean =>
    t !== undefined && t.kind !== "string" && t.text === text;
  const skipStatement = (): void => {
    while (i < tokens.length && !is(peek(), ";")) i++;
    i++;
  };
  const prefixOf = (scope: Scope): string => {
    if (scope.kind === "message" || scope.kind === "enum") return scope.fullName;
    if (scope.kind === "oneof") return scope.message;
    return packageName;
  };
  const join = (prefix: string, name: string): string => (prefix === "" ? name : `${prefix}.${name}`);

  /** Reads `name = value` after `option` or inside `[...]`, with `i` on the name's first token. */
  const readOption = (target: OptionTarget): void => {
    const start = peek();
    let name = "";
    while (i < tokens.length && !is(peek(), "=") && !is(peek(), ";") && !is(peek(), "]")) {
      name += peek()!.text;
      i++;
    }
    if (!is(peek(), "=")) return;
    i++;
    options.push({ target, name: name.replace(/\(\./, "("), place: place(start), value: readOptionValue() });
  };

  const readOptionValue = (): OptionValue => {
    const t = peek();
    if (t === undefined) return { kind: "missing", place: endPlace(tokens) };
    if (is(t, "{")) {
      let depth = 0;
      do {
        if (is(peek(), "{")) depth++;
        else if (is(peek(), "}")) depth--;
        i++;
      } while (i < tokens.length && depth > 0);
      return { kind: "aggregate", place: place(t) };
    }
    if ((is(t, "-") || is(t, "+")) && peek(1) !== undefined) {
      const operand = peek(1)!;
      i += 2;
      if (operand.kind === "number") {
        return { kind: "number", text: operand.text, negative: t.text === "-", place: place(t) };
      }
      // `-inf`, `-nan`
      return { kind: "ident", text: t.text + operand.text, place: place(t) };
    }
    i++;
    if (t.kind === "number") return { kind: "number", text: t.text, negative: false, place: place(t) };
    if (t.kind === "string") {
      let text = t.text;
      while (peek()?.kind === "string") text += tokens[i++]!.text;
      return { kind: "string", text, place: place(t) };
    }
    if (t.kind === "ident") return { kind: "ident", text: t.text, place: place(t) };
    return { kind: "missing", place: place(t) };
  };

  const readInlineOptions = (target: OptionTarget): void => {
    if (!is(peek(), "[")) return;
    i++;
    while (i < tokens.length && !is(peek(), "]")) {
      readOption(target);
      if (is(peek(), ",")) i++;
      else if (!is(peek(), "]")) i++;
    }
    i++;
  };

  /** Option statements inside `{ ... }` of a field, enum value or rpc. */
  const readOptionBlock = (target: OptionTarget): void => {
    i++;
    while (i < tokens.length && !is(peek(), "}")) {
      if (is(peek(), "option")) {
        i++;
        readOption(target);
        skipStatement();
      } else i++;
    }
    i++;
  };

  const readField = (scope: Scope & { kind: "message" | "oneof" | "extend" }): void => {
    const typeToken = peek();
    const label = typeToken && ["optional", "required", "repeated"].includes(typeToken.text) ? 1 : 0;
    if (is(peek(label), "group")) {
      readGroup(scope, label);
      return;
    }
    const typePlace = place(peek(label));
    let nameToken: Token | undefined;
    let angle = 0;
    while (i < tokens.length && !(angle === 0 && is(peek(), "="))) {
      if (is(peek(), ";") || is(peek(), "}")) return;
      if (is(peek(), "<")) angle++;
      if (is(peek(), ">")) angle--;
      nameToken = peek();
      i++;
    }
    i += 2; // `=` and the field number
    if (nameToken === undefined) return;
    const message =
      scope.kind === "message" ? scope.fullName : scope.kind === "oneof" ? scope.message : undefined;
    const target: OptionTarget =
      message === undefined
        ? { kind: "extension", field: nameToken.text }
        : { kind: "field", message, field: nameToken.text };
    if (message !== undefined)
      fields.set(fieldKey(message, nameToken.text), { place: place(nameToken), typePlace });
    if (scope.kind === "extend") {
      extensions.push({
        fullName: join(scope.scope, nameToken.text),
        extended: scope.extended,
        scope: scope.scope,
        place: place(nameToken),
      });
    }
    readInlineOptions(target);
    if (is(peek(), "{")) readOptionBlock(target);
    else if (is(peek(), ";")) i++;
  };

  const readGroup = (scope: Scope, label: number): void => {
    i += label + 1;
    const nameToken = peek();
    if (nameToken === undefined) return;
    const fullName = join(prefixOf(scope), nameToken.text);
    declarations.set(fullName, { kind: "group", place: place(nameToken) });
    while (i < tokens.length && !is(peek(), "{")) i++;
    i++;
    scopes.push({ kind: "message", fullName });
  };

  while (i < tokens.length) {
    const scope = scopes[scopes.length - 1]!;
    const t = peek()!;
    if (is(t, ";")) {
      i++;
      continue;
    }
    if (is(t, "}")) {
      i++;
      if (scopes.length > 1) scopes.pop();
      continue;
    }
    if (t.kind === "ident" && SKIPPED_STATEMENTS.has(t.text)) {
      skipStatement();
      continue;
    }
    if (scope.kind === "file" && t.text === "package") {
      i++;
      let name = "";
      while (i < tokens.length && !is(peek(), ";")) name += tokens[i++]!.text;
      packageName = name.replace(/^\./, "");
      i++;
      continue;
    }
    if (scope.kind === "file" && t.text === "import") {
      i++;
      let modifier: "public" | "weak" | undefined;
      if (is(peek(), "public") || is(peek(), "weak")) modifier = tokens[i++]!.text as "public" | "weak";
      const pathToken = peek();
      if (pathToken?.kind === "string") {
        imports.push(
          modifier === undefined
            ? { path: pathToken.text, place: place(pathToken) }
            : { path: pathToken.text, place: place(pathToken), modifier },
        );
      }
      skipStatement();
      continue;
    }
    if (t.text === "option") {
      i++;
      readOption(optionTargetOf(scope));
      skipStatement();
      continue;
    }
    if ((t.text === "message" || t.text === "enum") && peek(1)?.kind === "ident" && is(peek(2), "{")) {
      const fullName = join(prefixOf(scope), peek(1)!.text);
      declarations.set(fullName, { kind: t.text, place: place(peek(1)) });
      scopes.push(t.text === "message" ? { kind: "message", fullName } : { kind: "enum", fullName });
      i += 3;
      continue;
    }
    if (t.text === "oneof" && scope.kind === "message" && peek(1)?.kind === "ident" && is(peek(2), "{")) {
      scopes.push({ kind: "oneof", message: scope.fullName, name: peek(1)!.text });
      i += 3;
      continue;
    }
    if (t.text === "extend" && scope.kind !== "enum") {
      i++;
      let extended = "";
      while (i < tokens.length && !is(peek(), "{")) extended += tokens[i++]!.text;
      i++;
      scopes.push({ kind: "extend", scope: prefixOf(scope), extended });
      continue;
    }
    if (t.text === "service" && scope.kind === "file") {
      const name = peek(1)?.text ?? "";
      while (i < tokens.length && !is(peek(), "{")) i++;
      i++;
      scopes.push({ kind: "service", name });
      continue;
    }
    if (t.text === "rpc" && scope.kind === "service") {
      const name = peek(1)?.text ?? "";
      while (i < tokens.length && !is(peek(), "{") && !is(peek(), ";")) i++;
      if (is(peek(), "{")) {
        i++;
        scopes.push({ kind: "method", name });
      } else i++;
      continue;
    }
    if (scope.kind === "message" || scope.kind === "oneof" || scope.kind === "extend") {
      readField(scope);
      continue;
    }
    if (scope.kind === "enum" && t.kind === "ident" && is(peek(1), "=")) {
      i += 3; // name, `=`, number (possibly signed: the sign is consumed by the loop below)
      if (is(tokens[i - 1], "-")) i++;
      const target: OptionTarget = { kind: "enum-value", enumName: scope.fullName, value: t.text };
      readInlineOptions(target);
      if (is(peek(), "{")) readOptionBlock(target);
      continue;
    }
    i++;
  }

  return { packageName, imports, declarations, fields, options, extensions };
}

function optionTargetOf(scope: Scope): OptionTarget {
  switch (scope.kind) {
    case "file":
      return { kind: "file" };
    case "message":
      return { kind: "message", fullName: scope.fullName };
    case "oneof":
      return { kind: "oneof", message: scope.message, oneof: scope.name };
    case "enum":
      return { kind: "enum", fullName: scope.fullName };
    case "extend":
      return { kind: "extension", field: "" };
    case "service":
    case "method":
      return { kind: scope.kind, name: scope.name };
  }
}

function endPlace(tokens: readonly Token[]): Place {
  const last = tokens[tokens.length - 1];
  return last ? { line: last.line, column: last.column + last.text.length } : { line: 1, column: 1 };
}
