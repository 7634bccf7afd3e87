/**
 * Registers handlers in a project's handlers index: the object literal typed as
 * `<Service>ServerHandlers` / `<Service>ClientHandlers` that the app passes to the generated facade.
 * ts-morph parses the user's file to find the literal, its properties and the imports; the edits are
 * then made as targeted text insertions, so every byte the user wrote stays where it was.
 */
import { Node, type ObjectLiteralExpression, Project, type SourceFile, SyntaxKind } from "ts-morph";
import { ScaffoldError } from "./errors.js";
import { requireHandlersObject } from "./handlers-object.js";
import { type IndexSpread, resolveSpreads, spreadConflict } from "./handlers-spreads.js";

export { type IndexSpread, spreadConflict } from "./handlers-spreads.js";

/** One handler to register: `property: identifier`, imported from `module`. */
export interface HandlerEntry {
  /** Property of the handlers object (the message's TS name, `CoinAck`). */
  readonly property: string;
  /** Exported name of the handler (`coinAck`). */
  readonly identifier: string;
  /** Import specifier from the index (`./coin-ack.js`). */
  readonly module: string;
}

/** What an index looks like to the scaffolder. */
export interface IndexInfo {
  /** Properties already present in the handlers object (spread keys that are always there included). */
  readonly properties: ReadonlySet<string>;
  /** Spread elements of the handlers object, in order. */
  readonly spreads: readonly IndexSpread[];
  /** Names bound at the top level of the index (imports and declarations). */
  readonly bindings: ReadonlySet<string>;
  /** Local names imported per module specifier. */
  readonly imports: ReadonlyMap<string, ReadonlySet<string>>;
}

interface Splice {
  readonly at: number;
  readonly text: string;
}

function parse(text: string, fileName: string): SourceFile {
  const project = new Project({ useInMemoryFileSystem: true, skipLoadingLibFiles: true });
  return project.createSourceFile(fileName, text, { overwrite: true });
}

function propertyName(node: Node): string | undefined {
  if (
    Node.isPropertyAssignment(node) ||
    Node.isMethodDeclaration(node) ||
    Node.isShorthandPropertyAssignment(node)
  ) {
    const name = node.getNameNode();
    if (Node.isStringLiteral(name) || Node.isNoSubstitutionTemplateLiteral(name))
      return name.getLiteralValue();
    return name.getText();
  }
  return undefined;
}

function analyse(
  file: SourceFile,
  literal: ObjectLiteralExpression,
  path: string,
  typeName: string,
  factoryName: string,
): IndexInfo {
  const properties = new Set<string>();
  for (const property of literal.getProperties()) {
    const name = propertyName(property);
    if (name !== undefined) properties.add(name);
  }
  const spreads = literal.getProperties().some(Node.isSpreadAssignment)
    ? resolveSpreads(file.getFullText(), path, typeName, factoryName)
    : [];
  for (const spread of spreads) for (const key of spread.keys ?? []) properties.add(key);
  const bindings = new Set<string>();
  const imports = new Map<string, Set<string>>();
  for (const declaration of file.getImportDeclarations()) {
    const names = imports.get(declaration.getModuleSpecifierValue()) ?? new Set<string>();
    const add = (name: string) => {
      bindings.add(name);
      names.add(name);
    };
    const defaultImport = declaration.getDefaultImport();
    if (defaultImport !== undefined) add(defaultImport.getText());
    const namespaceImport = declaration.getNamespaceImport();
    if (namespaceImport !== undefined) add(namespaceImport.getText());
    for (const named of declaration.getNamedImports())
      add(named.getAliasNode()?.getText() ?? named.getName());
    imports.set(declaration.getModuleSpecifierValue(), names);
  }
  for (const statement of file.getStatements()) {
    if (Node.isVariableStatement(statement)) {
      for (const declaration of statement.getDeclarations()) bindings.add(declaration.getName());
    } else if (
      Node.isFunctionDeclaration(statement) ||
      Node.isClassDeclaration(statement) ||
      Node.isInterfaceDeclaration(statement) ||
      Node.isTypeAliasDeclaration(statement) ||
      Node.isEnumDeclaration(statement)
    ) {
      const name = statement.getName();
      if (name !== undefined) bindings.add(name);
    }
  }
  return { properties, spreads, bindings, imports };
}

/** Reads an index: which handlers it registers and which names it binds. */
export function inspectIndex(text: string, path: string, typeName: string, factoryName: string): IndexInfo {
  const file = parse(text, path);
  return analyse(file, requireHandlersObject(file, path, typeName, factoryName), path, typeName, factoryName);
}

/**
 * Returns `text` with `entries` registered: one import and one property each. Entries whose property
 * already exists (written, or always brought by a `...spread`) are skipped; an import that is already
 * there is not repeated. Everything else in the file keeps its bytes. Throws `INDEX_SPREAD` when a
 * spread element may already hold one of the properties (the new one would silently override it).
 */
export function registerHandlers(
  text: string,
  path: string,
  typeName: string,
  factoryName: string,
  entries: readonly HandlerEntry[],
): string {
  const file = parse(text, path);
  const literal = requireHandlersObject(file, path, typeName, factoryName);
  const info = analyse(file, literal, path, typeName, factoryName);
  const pending = entries.filter((entry) => !info.properties.has(entry.property));
  if (pending.length === 0) return text;
  for (const entry of pending) {
    const conflict = spreadConflict(info, path, entry.property);
    if (conflict !== undefined) throw new ScaffoldError("INDEX_SPREAD", conflict);
  }

  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const splices: Splice[] = [];
  const newImports = pending.filter((entry) => !info.imports.get(entry.module)?.has(entry.identifier));
  if (newImports.length > 0) splices.push(importSplice(text, file, newImports, eol));
  splices.push(...propertySplice(text, literal, pending, eol));
  // From the end backwards so offsets stay valid; at one offset, later splices first so that the
  // texts end up in list order.
  return splices
    .map((splice, index) => ({ ...splice, index }))
    .sort((a, b) => b.at - a.at || b.index - a.index)
    .reduce((result, splice) => result.slice(0, splice.at) + splice.text + result.slice(splice.at), text);
}

/** New imports go on the lines after the last import, in its quote and semicolon style. */
function importSplice(text: string, file: SourceFile, entries: readonly HandlerEntry[], eol: string): Splice {
  const imports = file.getImportDeclarations();
  const last = imports.at(-1);
  const quote = last?.getModuleSpecifier().getText().startsWith("'") ? "'" : '"';
  const semicolon = last === undefined || last.getText().trimEnd().endsWith(";") ? ";" : "";
  const lines = entries.map(
    (entry) => `import { ${entry.identifier} } from ${quote}${entry.module}${quote}${semicolon}`,
  );
  if (last === undefined) return { at: 0, text: lines.map((line) => line + eol).join("") + eol };
  const end = lineEnd(text, last.getEnd());
  return { at: end, text: lines.map((line) => eol + line).join("") };
}

/** New properties go after the last one (on their own lines when the object spans several lines). */
function propertySplice(
  text: string,
  literal: ObjectLiteralExpression,
  entries: readonly HandlerEntry[],
  eol: string,
): Splice[] {
  const properties = literal.getProperties();
  const entryText = (entry: HandlerEntry) =>
    entry.property === entry.identifier ? entry.property : `${entry.property}: ${entry.identifier}`;
  const open = literal.getStart();
  const close = literal.getEnd() - 1;
  const lastProperty = properties.at(-1);

  if (lastProperty === undefined) {
    const indent = lineIndent(text, open);
    const inner = `${indent}${indentUnit(text)}`;
    const body = entries.map((entry) => `${eol}${inner}${entryText(entry)},`).join("");
    const between = text.slice(open + 1, close);
    if (between.includes("\n")) {
      // `{\n}`: keep the brace's line, add after it.
      return [{ at: lineEnd(text, open + 1), text: body }];
    }
    return [{ at: open + 1, text: `${body}${eol}${indent}` }];
  }

  const comma = lastProperty.getNextSiblingIfKind(SyntaxKind.CommaToken);
  const afterLast = comma?.getEnd() ?? lastProperty.getEnd();
  const multiline =
    text.slice(afterLast, close).includes("\n") || text.slice(open, lastProperty.getStart()).includes("\n");
  if (!multiline) {
    const body = entries.map((entry) => ` ${entryText(entry)}`).join(",");
    return [{ at: afterLast, text: comma === undefined ? `,${body}` : `${body},` }];
  }
  const indent = lineIndent(text, lastProperty.getStart());
  const body = entries.map((entry) => `${eol}${indent}${entryText(entry)},`).join("");
  const lines = { at: lineEnd(text, afterLast), text: body };
  // A missing comma goes right after the property; the new lines after any trailing comment.
  return comma === undefined ? [{ at: lastProperty.getEnd(), text: "," }, lines] : [lines];
}

/** Offset of the end of the line holding `offset` (before its line break). */
function lineEnd(text: string, offset: number): number {
  const newline = text.indexOf("\n", offset);
  if (newline < 0) return text.length;
  return text[newline - 1] === "\r" ? newline - 1 : newline;
}

function lineIndent(text: string, offset: number): string {
  const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))?.[0] ?? "";
}

/** The file's indentation step: tabs, else the smallest indentation in use, else two spaces. */
function indentUnit(text: string): string {
  const indents = text
    .split("\n")
    .map((line) => /^([ \t]+)\S/.exec(line)?.[1])
    .filter((indent): indent is string => indent !== undefined);
  if (indents.some((indent) => indent.startsWith("\t"))) return "\t";
  const smallest = Math.min(...indents.map((indent) => indent.length));
  return Number.isFinite(smallest) ? " ".repeat(smallest) : "  ";
}
