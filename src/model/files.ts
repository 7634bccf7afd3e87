/**
 * Loads the input files and, transitively, everything they import. Imports are looked up like protoc
 * does, in include directories: each input's directory, the `--proto-path` directories in order, the
 * generator's own `proto/` (for `paynet/options.proto`), then protobufjs's bundled
 * `google/protobuf/*` definitions.
 */
import { readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import protobuf from "protobufjs";
import { type DiagnosticBag, formatPosition } from "./diagnostics.js";
import { type ParsedProto, parseBuiltinJson, parseProto } from "./parse-file.js";
import {
  absolutePath,
  displayPath,
  PAYNET_OPTIONS_IMPORT,
  PAYNET_PROTO_DIR,
  PROTOBUFJS_DIR,
} from "./paths.js";
import type { Place } from "./source-index.js";
import type { SourcePosition } from "./types.js";

export interface ProtoFile {
  /** Absolute path, or `builtin:<import name>` for definitions protobufjs ships as JSON. */
  readonly key: string;
  /** Name in diagnostics and positions. */
  readonly displayPath: string;
  /**
   * Name independent of the working directory and of where the file was found: the base name for an
   * input, the import string for an imported file. Generated headers and the source hash use it.
   */
  readonly sourceName: string;
  /** File contents; empty for JSON built-ins. */
  readonly source: string;
  /** Shipped with paynet-gen or protobufjs: never annotated, not part of the source hash. */
  readonly bundled: boolean;
  readonly isInput: boolean;
  readonly proto: ParsedProto;
  /** Keys of the imported files that could be loaded. */
  readonly importKeys: readonly string[];
  /** Some import, directly or transitively, is missing or unparsable. */
  incomplete: boolean;
  /**
   * Import names (as written in an `import`) that could not be read or parsed, of this file and of
   * the files it imports, transitively, in discovery order: where an unknown type may be defined.
   */
  readonly unreadableImports: readonly string[];
}

export interface FileSet {
  /** Every successfully parsed file, imported files before the files importing them. */
  readonly files: readonly ProtoFile[];
  readonly byKey: ReadonlyMap<string, ProtoFile>;
  /** Keys of the input files that could be parsed, in input order. */
  readonly inputKeys: readonly string[];
  /** Display paths of all inputs (even unreadable ones), in input order. */
  readonly inputDisplayPaths: readonly string[];
  /** Source names (base names) of all inputs, in the order of `inputDisplayPaths`. */
  readonly inputSourceNames: readonly string[];
}

const PAYNET_OPTIONS_FILE = join(PAYNET_PROTO_DIR, PAYNET_OPTIONS_IMPORT);
const PROTOBUFJS_TEXT_IMPORTS = new Set([
  "google/protobuf/descriptor.proto",
  "google/protobuf/api.proto",
  "google/protobuf/source_context.proto",
  "google/protobuf/type.proto",
]);

/** Converts a 1-based place in `file` to a position. */
export function positionIn(file: { readonly displayPath: string }, place: Place): SourcePosition {
  return { file: file.displayPath, line: place.line, column: place.column };
}

type Located = {
  readonly key: string;
  readonly absPath?: string;
  readonly json?: protobuf.INamespace;
  /** Shown instead of the path (bundled files are named by their import name). */
  readonly display?: string;
  /** See `ProtoFile.sourceName`. */
  readonly sourceName: string;
};

export function loadFileSet(
  inputs: readonly string[],
  protoPaths: readonly string[],
  cwd: string,
  diagnostics: DiagnosticBag,
): FileSet {
  const inputPaths = inputs.map((input) => absolutePath(input, cwd));
  const includeDirs = unique([
    ...inputPaths.map((p) => dirname(p)),
    ...protoPaths.map((p) => absolutePath(p, cwd)),
    PAYNET_PROTO_DIR,
  ]);
  const byKey = new Map<string, ProtoFile>();
  const failed = new Set<string>();
  const files: ProtoFile[] = [];
  const pending: ProtoFile[] = [];

  const load = (located: Located, isInput: boolean): ProtoFile | undefined => {
    const existing = byKey.get(located.key);
    if (existing !== undefined) return existing;
    if (failed.has(located.key)) return undefined;
    const shown = located.display ?? displayPath(located.absPath!, cwd);
    let proto: ParsedProto;
    let source = "";
    if (located.json !== undefined) {
      proto = parseBuiltinJson(located.key, located.json);
    } else {
      try {
        source = readFileSync(located.absPath!, "utf8");
      } catch (error) {
        failed.add(located.key);
        diagnostics.error(
          "input-not-found",
          `cannot read ${shown}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        );
        return undefined;
      }
      const outcome = parseProto(located.absPath!, source);
      if (!outcome.ok) {
        failed.add(located.key);
        const { rule, message, place, previous } = outcome.failure;
        const at = previous === undefined ? "" : ` at ${formatPosition({ file: shown, ...previous })}`;
        diagnostics.error(rule, `${message}${at}`, { file: shown, ...place });
        return undefined;
      }
      proto = outcome.proto;
    }
    const file: ProtoFile = {
      key: located.key,
      displayPath: shown,
      sourceName: located.sourceName,
      source,
      bundled:
        located.absPath === undefined ||
        located.absPath === PAYNET_OPTIONS_FILE ||
        located.key.startsWith(PROTOBUFJS_DIR),
      isInput,
      proto,
      importKeys: [],
      incomplete: false,
      unreadableImports: [],
    };
    byKey.set(file.key, file);
    files.push(file);
    pending.push(file);
    return file;
  };

  const inputKeys: string[] = [];
  for (const absPath of inputPaths) {
    const file = load({ key: absPath, absPath, sourceName: basename(absPath) }, true);
    if (file !== undefined && !inputKeys.includes(file.key)) inputKeys.push(file.key);
  }

  const edges = new Map<string, { readonly importName: string; readonly key: string }[]>();
  const missingImports = new Set<string>();
  while (pending.length > 0) {
    const file = pending.shift()!;
    const importKeys = file.importKeys as string[];
    for (const importName of file.proto.imports) {
      const located = locateImport(importName, includeDirs);
      const imported = located === undefined ? undefined : load(located, false);
      if (imported === undefined) {
        file.incomplete = true;
        const unreadable = file.unreadableImports as string[];
        if (!unreadable.includes(importName)) unreadable.push(importName);
        if (located === undefined) {
          const place = file.proto.index?.imports.find((i) => i.path === importName)?.place ?? {
            line: 1,
            column: 1,
          };
          const searched = includeDirs.map((dir) => displayPath(dir, cwd) || ".").join(", ");
          const key = `${file.key}\0${importName}`;
          if (!missingImports.has(key)) {
            missingImports.add(key);
            diagnostics.error(
              "unresolved-import",
              `import "${importName}" not found (searched: ${searched}, built-in google/protobuf)`,
              positionIn(file, place),
            );
          }
        }
        continue;
      }
      if (!importKeys.includes(imported.key)) importKeys.push(imported.key);
      edges.set(file.key, [...(edges.get(file.key) ?? []), { importName, key: imported.key }]);
    }
  }
  reportImportCycles(files, byKey, edges, diagnostics);
  propagateIncompleteness(files, byKey);
  const uniqueInputs = unique(inputPaths);
  return {
    files: dependencyOrder(files, byKey),
    byKey,
    inputKeys,
    inputDisplayPaths: uniqueInputs.map((p) => displayPath(p, cwd)),
    inputSourceNames: uniqueInputs.map((p) => basename(p)),
  };
}

function locateImport(importName: string, includeDirs: readonly string[]): Located | undefined {
  for (const dir of includeDirs) {
    const candidate = join(dir, importName);
    if (isFile(candidate)) return { key: candidate, absPath: candidate, sourceName: importName };
  }
  if (PROTOBUFJS_TEXT_IMPORTS.has(importName)) {
    const absPath = join(PROTOBUFJS_DIR, importName);
    return { key: absPath, absPath, display: importName, sourceName: importName };
  }
  const json = protobuf.common.get(importName);
  return json === null
    ? undefined
    : { key: `builtin:${importName}`, json, display: importName, sourceName: importName };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * protoc rejects a file that imports itself, directly or through others. Each cycle is reported once,
 * at the import that closes it (depth-first from the inputs, in import order).
 */
function reportImportCycles(
  files: readonly ProtoFile[],
  byKey: ReadonlyMap<string, ProtoFile>,
  edges: ReadonlyMap<string, readonly { readonly importName: string; readonly key: string }[]>,
  diagnostics: DiagnosticBag,
): void {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (key: string): void => {
    path.push(key);
    for (const edge of edges.get(key) ?? []) {
      const start = path.indexOf(edge.key);
      if (start >= 0) {
        const file = byKey.get(key)!;
        const cycle = [...path.slice(start), edge.key].map((k) => byKey.get(k)!.sourceName);
        const place = file.proto.index?.imports.find((i) => i.path === edge.importName)?.place ?? {
          line: 1,
          column: 1,
        };
        diagnostics.error(
          "import-cycle",
          `import cycle: ${cycle.join(" → ")}; a file must not import itself, directly or indirectly`,
          positionIn(file, place),
        );
      } else if (!done.has(edge.key)) visit(edge.key);
    }
    path.pop();
    done.add(key);
  };
  for (const file of files) if (!done.has(file.key)) visit(file.key);
}

function propagateIncompleteness(files: readonly ProtoFile[], byKey: ReadonlyMap<string, ProtoFile>): void {
  let changed = true;
  while (changed) {
    changed = false;
    for (const file of files) {
      const unreadable = file.unreadableImports as string[];
      for (const key of file.importKeys) {
        for (const name of byKey.get(key)?.unreadableImports ?? []) {
          if (unreadable.includes(name)) continue;
          unreadable.push(name);
          file.incomplete = true;
          changed = true;
        }
      }
    }
  }
}

/** Post-order over the imports, so that a name defined twice is reported in the importing file. */
function dependencyOrder(files: readonly ProtoFile[], byKey: ReadonlyMap<string, ProtoFile>): ProtoFile[] {
  const ordered: ProtoFile[] = [];
  const visited = new Set<string>();
  const visit = (file: ProtoFile): void => {
    if (visited.has(file.key)) return;
    visited.add(file.key);
    for (const key of file.importKeys) visit(byKey.get(key)!);
    ordered.push(file);
  };
  for (const file of files) visit(file);
  return ordered;
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}
