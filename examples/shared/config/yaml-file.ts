/**
 * The config file: YAML read with positions (the `yaml` package's `LineCounter`), checked against
 * the settings table strictly: an unknown key, a mapping where a value belongs or a value of the
 * wrong kind is an error naming `file:line:col`, the key and what was expected.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";
import { ExampleError } from "../errors.js";
import type { Setting, SettingsTable } from "./settings.js";
import { readYaml, ValueError } from "./values.js";

/** A config file that cannot be used; the message starts with `file:line:col:`. */
export class ConfigError extends ExampleError {
  constructor(message: string) {
    super("CONFIG", message);
    this.name = "ConfigError";
  }
}

/** One value of the file, with where it stands. */
export interface FileValue {
  readonly value: unknown;
  readonly where: string;
}

/** Nested keys of the table: a mapping level's children, or the setting a leaf key holds. */
type KeyTree = Map<string, KeyTree | Setting>;

/** Reads `path` and returns its values by setting flag; throws {@link ConfigError}. */
export function readConfigFile(table: SettingsTable, path: string): Map<string, FileValue> {
  let source: string;
  try {
    source = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ConfigError(`${path}: cannot read the config file (${code})`);
  }
  return parseConfig(table, path, source);
}

/** Parses config `source` (named `path` in errors). */
export function parseConfig(table: SettingsTable, path: string, source: string): Map<string, FileValue> {
  const lines = new LineCounter();
  const document = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return `${path}:${line}:${col}`;
  };
  const [syntax] = document.errors;
  if (syntax !== undefined) {
    // The yaml package's messages end with " at line L, column C:" and an excerpt: the position leads ours.
    const message = syntax.message.split(/ at line \d+, column \d+/)[0];
    throw new ConfigError(`${at(syntax.pos[0])}: ${message}`);
  }
  const values = new Map<string, FileValue>();
  const root = document.contents;
  if (root === null || (isScalar(root) && root.value === null)) return values;
  if (!isMap(root))
    throw new ConfigError(`${at(root.range?.[0] ?? 0)}: expected a mapping of sections (${topLevel(table)})`);
  walk(keyTree(table), root, "", at, (setting, node) => {
    const where = at(node.range?.[0] ?? 0);
    const list = setting.kind.list === true && isSeq(node) && node.items.every((item) => isScalar(item));
    if (!isScalar(node) && !list) {
      throw new ConfigError(
        `${where}: ${setting.key}: expected ${setting.kind.expected}, got a ${isMap(node) ? "mapping" : "list"}`,
      );
    }
    let value: unknown;
    try {
      if (isScalar(node)) value = node.value === null ? undefined : readYaml(setting.kind, node.value);
      else
        value = readYaml(
          setting.kind,
          (node as YAMLSeq<Scalar>).items.map((item) => item.value),
        );
    } catch (error) {
      if (error instanceof ValueError) throw new ConfigError(`${where}: ${setting.key}: ${error.message}`);
      throw error;
    }
    if (value === undefined)
      throw new ConfigError(`${where}: ${setting.key}: expected ${setting.kind.expected}, got nothing`);
    if (setting.isPath === true && typeof value === "string" && !isAbsolute(value)) {
      value = resolve(dirname(path), value);
    }
    values.set(setting.flag, { value, where });
  });
  return values;
}

function walk(
  tree: KeyTree,
  map: YAMLMap,
  prefix: string,
  at: (offset: number) => string,
  leaf: (setting: Setting, node: Node) => void,
): void {
  for (const pair of map.items) {
    const keyNode = pair.key as Node | null;
    const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
    const where = at(keyNode?.range?.[0] ?? 0);
    const entry = key === undefined ? undefined : tree.get(key);
    const section = prefix === "" ? "the top level" : prefix.slice(0, -1);
    if (entry === undefined) {
      throw new ConfigError(
        `${where}: unknown key ${key === undefined ? "(not a string)" : `"${prefix}${key}"`} in ${section}; expected one of ${[...tree.keys()].join(", ")}`,
      );
    }
    const value = pair.value as Node | null;
    if (entry instanceof Map) {
      if (value === null || (isScalar(value) && value.value === null)) continue;
      if (!isMap(value)) {
        throw new ConfigError(
          `${at(value.range?.[0] ?? 0)}: ${prefix}${key}: expected a mapping of ${[...entry.keys()].join(", ")}`,
        );
      }
      walk(entry, value, `${prefix}${key}.`, at, leaf);
    } else if (value !== null) {
      leaf(entry, value);
    }
  }
}

function keyTree(table: SettingsTable): KeyTree {
  const root: KeyTree = new Map();
  for (const setting of table.settings) {
    if (setting.key === undefined) continue;
    const parts = setting.key.split(".");
    let level = root;
    for (const part of parts.slice(0, -1)) {
      let next = level.get(part);
      if (!(next instanceof Map)) {
        next = new Map();
        level.set(part, next);
      }
      level = next;
    }
    level.set(parts.at(-1)!, setting);
  }
  return root;
}

function topLevel(table: SettingsTable): string {
  return [...keyTree(table).keys()].join(", ");
}
