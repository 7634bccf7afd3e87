/**
 * Loads the input files and, transitively, everything they import. Imports are looked up like protoc
 * does, in include directories: each input's directory, the `--proto-path` directories in order, the
 * generator's own `proto/` (for `paynet/options.proto`), then protobufjs's bundled
 * `google/protobuf/*` definitions.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import protobuf from "protobufjs";
import type { DiagnosticBag } from "./diagnostics.js";
import { parseBuiltinJson, parseProto, type ParsedProto } from "./parse-file.js";
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
  /** File contents; empty for JSON built-ins. */
  readonly source: string;
  /** Shipped with paynet-gen or protobufjs: never annotated, not part of the source hash. */
  readonly bundled: boolean;
  readonly isInput: boolean;
  readonly proto: ParsedProto;
  /** Keys of the imported files that could be loaded. */
  readonly importKeys: readonly string[];
  /** Some import, directly or transitively, is missing or unparsable: suppress follow-up errors. */
  incomplete: boolean;
}

export interface FileSet {
  /** Every successfully parsed file, imported files before the files importing them. */
  readonly files: readonly ProtoFile[];
  readonly byKey: ReadonlyMap<string, ProtoFile>;
  /** Keys of the input files that could be parsed, in input order. */
  readonly inputKeys: readonly string[];
  /** Display paths of all inputs (even unreadable ones), in input order. */
  readonly inputDisplayPaths: readonly string[];
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
        diagnostics.error(outcome.failure.rule, outcome.failure.message, {
          file: shown,
          ...outcome.failure.place,
        });
        return undefined;
      }
      proto = outcome.proto;
    }
    const file: ProtoFile = {
      key: located.key,
      displayPath: shown,
      source,
      bundled:
        located.absPath === undefined ||
        located.absPath === PAYNET_OPTIONS_FILE ||
        located.key.startsWith(PROTOBUFJS_DIR),
      isInput,
      proto,
      importKeys: [],
      incomplete: false,
    };
    byKey.set(file.key, file);
    files.push(file);
    pending.push(file);
    return file;
  };

  const inputKeys: string[] = [];
  for (const absPath of inputPaths) {
    const file = load({ key: absPath, absPath }, true);
    if (file !== undefined && !inputKeys.includes(file.key)) inputKeys.push(file.key);
  }

  const missingImports = new Set<string>();
  while (pending.length > 0) {
    const file = pending.shift()!;
    const importKeys = file.importKeys as string[];
    for (const importName of file.proto.imports) {
      const located = locateImport(importName, includeDirs);
      const imported = located === undefined ? undefined : load(located, false);
      if (imported === undefined) {
        file.incomplete = true;
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
    }
  }
  propagateIncompleteness(files, byKey);
  return {
    files: dependencyOrder(files, byKey),
    byKey,
    inputKeys,
    inputDisplayPaths: unique(inputPaths.map((p) => displayPath(p, cwd))),
  };
}

function locateImport(importName: string, includeDirs: readonly string[]): Located | undefined {
  for (const dir of includeDirs) {
    const candidate = join(dir, importName);
    if (isFile(candidate)) return { key: candidate, absPath: candidate };
  }
  if (PROTOBUFJS_TEXT_IMPORTS.has(importName)) {
    const absPath = join(PROTOBUFJS_DIR, importName);
    return { key: absPath, absPath, display: importName };
  }
  const json = protobuf.common.get(importName);
  return json === null ? undefined : { key: `builtin:${importName}`, json, display: importName };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function propagateIncompleteness(files: readonly ProtoFile[], byKey: ReadonlyMap<string, ProtoFile>): void {
  let changed = true;
  while (changed) {
    changed = false;
    for (const file of files) {
      if (file.incomplete) continue;
      if (file.importKeys.some((key) => byKey.get(key)?.incomplete)) {
        file.incomplete = true;
        changed = true;
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
