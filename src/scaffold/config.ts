/**
 * Where a paynet project keeps things, declared in its package.json under `"paynet"`:
 *
 * ```json
 * "paynet": {
 *   "proto": ["proto/paybox.proto"],
 *   "protoPaths": ["proto"],
 *   "map": "proto/paybox.map.yaml",
 *   "sdk": "src/generated",
 *   "target": "both",
 *   "int64": "bigint",
 *   "handlers": { "server": "src/handlers/server", "client": "src/handlers/client" }
 * }
 * ```
 *
 * Paths are relative to the package.json's directory. `init` writes this block; `generate` (without
 * arguments) and the scaffolding commands read it, and their flags override it. A bad block is
 * reported at its place in the file (`package.json:12:14`).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { formatPosition } from "../model/diagnostics.js";
import { displayPath } from "../model/paths.js";
import type { SourcePosition } from "../model/types.js";
import { ScaffoldError } from "./errors.js";
import { locateJson, syntaxErrorPosition } from "./json-locate.js";

export type Side = "server" | "client";
export type ConfigTarget = Side | "both";
export type ConfigInt64 = "bigint" | "string";

/** The `"paynet"` block of a project's package.json, as written there. */
export interface PaynetProjectConfig {
  /** Input .proto files. */
  proto: string[];
  /** Extra import directories (`-I`). */
  protoPaths?: string[];
  /** Sidecar map, if the protos are not annotated in place. */
  map?: string;
  /** Service name override (`--name` of generate). */
  name?: string;
  /** Output directory of the generated SDK. Default `src/generated`. */
  sdk?: string;
  /** Which facades `generate` writes (`--target`). Default `both`. */
  target?: ConfigTarget;
  /** TypeScript type of 64-bit integers (`--int64`). Default `bigint`. */
  int64?: ConfigInt64;
  /** Handler directories per side; each holds `index.ts` plus one file per handler. */
  handlers?: Partial<Record<Side, string>>;
}

/** A project's layout with every path absolute. */
export interface ProjectLayout {
  /** Directory of the package.json. */
  readonly root: string;
  readonly packageJson: string;
  readonly proto: readonly string[];
  readonly protoPaths: readonly string[];
  readonly map: string | undefined;
  readonly name: string | undefined;
  readonly sdk: string;
  readonly target: ConfigTarget | undefined;
  readonly int64: ConfigInt64 | undefined;
  readonly handlers: Readonly<Partial<Record<Side, string>>>;
}

export const DEFAULT_SDK_DIR = "src/generated";

const KEYS = ["proto", "protoPaths", "map", "name", "sdk", "target", "int64", "handlers"] as const;
const TARGETS: readonly ConfigTarget[] = ["both", "server", "client"];
const INT64_MODES: readonly ConfigInt64[] = ["bigint", "string"];

/** A package.json whose `"paynet"` block is missing or wrong, with the place in the file. */
export class ProjectConfigError extends ScaffoldError {
  readonly position: SourcePosition;

  constructor(position: SourcePosition, message: string) {
    super("PROJECT_CONFIG", `${formatPosition(position)}: ${message}`);
    this.name = "ProjectConfigError";
    this.position = position;
  }
}

/** Nearest directory at or above `start` holding a package.json, or `undefined`. */
export function findProjectRoot(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** A package.json as read: its text (for positions) and its `"paynet"` block, if any. */
interface PackageFile {
  readonly path: string;
  /** `path` as errors show it: relative to the directory the command started in, when below it. */
  readonly shown: string;
  readonly text: string;
  readonly block: unknown;
}

function readPackageFile(path: string, start: string): PackageFile {
  const shown = displayPath(path, resolve(start));
  const text = readFileSync(path, "utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const at = syntaxErrorPosition(text, error);
    throw new ProjectConfigError({ file: shown, ...at }, `not valid JSON: ${(error as Error).message}`);
  }
  const block =
    typeof parsed === "object" && parsed !== null ? (parsed as { paynet?: unknown }).paynet : undefined;
  return { path, shown, text, block };
}

/**
 * Reads the `"paynet"` block of the package.json at or above `start`. Without a package.json or
 * without the block, returns a layout with defaults (flags may still supply everything).
 */
export function readProjectLayout(start: string): ProjectLayout {
  const root = findProjectRoot(start) ?? resolve(start);
  const packageJson = join(root, "package.json");
  const file = existsSync(packageJson) ? readPackageFile(packageJson, start) : undefined;
  const config = file?.block === undefined ? undefined : validateConfig(file);
  return layoutOf(root, packageJson, config);
}

/**
 * The layout `paynet-gen generate` runs from when it is given no .proto file: the package.json at or
 * above `start` must have a `"paynet"` block naming at least one proto. Each way of missing that is a
 * `PROJECT_CONFIG` error saying where and what to write.
 */
export function readGenerateLayout(start: string): ProjectLayout {
  const root = findProjectRoot(start);
  const usage =
    'pass the .proto files and --out, or declare "paynet": { "proto": ["proto/x.proto"] } in package.json';
  if (root === undefined) {
    throw new ScaffoldError(
      "PROJECT_CONFIG",
      `no .proto file given and no package.json in ${resolve(start)} or above: ${usage}`,
    );
  }
  const file = readPackageFile(join(root, "package.json"), start);
  if (file.block === undefined) {
    throw new ProjectConfigError(
      { file: file.shown, line: 1, column: 1 },
      `no "paynet" section, so no .proto file to generate from: ${usage}`,
    );
  }
  const config = validateConfig(file);
  if (config.proto.length === 0) {
    const hasProto = (file.block as Record<string, unknown>).proto !== undefined;
    throw new ProjectConfigError(
      { file: file.shown, ...locateJson(file.text, hasProto ? ["paynet", "proto"] : ["paynet"], "key") },
      `"paynet".proto names no .proto file: list the protos to generate from, e.g. "proto": ["proto/x.proto"]`,
    );
  }
  return layoutOf(root, file.path, config);
}

function layoutOf(root: string, packageJson: string, config: PaynetProjectConfig | undefined): ProjectLayout {
  const at = (path: string) => resolve(root, path);
  const handlers: Partial<Record<Side, string>> = {};
  for (const side of ["server", "client"] as const) {
    const dir = config?.handlers?.[side];
    if (dir !== undefined) handlers[side] = at(dir);
  }
  return {
    root,
    packageJson,
    proto: (config?.proto ?? []).map(at),
    protoPaths: (config?.protoPaths ?? []).map(at),
    map: config?.map === undefined ? undefined : at(config.map),
    name: config?.name,
    sdk: at(config?.sdk ?? DEFAULT_SDK_DIR),
    target: config?.target,
    int64: config?.int64,
    handlers,
  };
}

function validateConfig({ shown: file, text, block }: PackageFile): PaynetProjectConfig {
  const fail = (path: readonly (string | number)[], what: string, at: "key" | "value" = "value"): never => {
    throw new ProjectConfigError(
      { file, ...locateJson(text, ["paynet", ...path], at) },
      `"paynet"${path.map((step) => (typeof step === "number" ? `[${step}]` : `.${step}`)).join("")} ${what}`,
    );
  };
  if (typeof block !== "object" || block === null || Array.isArray(block))
    fail([], 'must be an object like { "proto": ["proto/x.proto"], "sdk": "src/generated" }');
  const value = block as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    if (!(KEYS as readonly string[]).includes(key))
      fail([key], `is not a setting (${KEYS.join(", ")})`, "key");
  }
  const proto = typeof value.proto === "string" ? [value.proto] : value.proto;
  if (proto !== undefined) {
    if (!Array.isArray(proto)) fail(["proto"], "must be a file path or a list of file paths");
    (proto as unknown[]).forEach((item, index) => {
      if (typeof item !== "string") fail(["proto", index], "must be a file path");
    });
  }
  if (value.protoPaths !== undefined) {
    if (!Array.isArray(value.protoPaths)) fail(["protoPaths"], "must be a list of directories");
    (value.protoPaths as unknown[]).forEach((item, index) => {
      if (typeof item !== "string") fail(["protoPaths", index], "must be a directory path");
    });
  }
  for (const key of ["map", "name", "sdk"] as const) {
    if (value[key] !== undefined && typeof value[key] !== "string") fail([key], "must be a string");
  }
  if (value.target !== undefined && !(TARGETS as readonly unknown[]).includes(value.target))
    fail(["target"], `must be one of ${TARGETS.map((t) => `"${t}"`).join(", ")}`);
  if (value.int64 !== undefined && !(INT64_MODES as readonly unknown[]).includes(value.int64))
    fail(["int64"], `must be one of ${INT64_MODES.map((m) => `"${m}"`).join(", ")}`);
  const handlers = value.handlers;
  if (handlers !== undefined) {
    if (typeof handlers !== "object" || handlers === null || Array.isArray(handlers)) {
      fail(
        ["handlers"],
        'must be an object like { "server": "src/handlers/server", "client": "src/handlers/client" }',
      );
    }
    for (const [side, dir] of Object.entries(handlers as Record<string, unknown>)) {
      if (side !== "server" && side !== "client")
        fail(["handlers", side], `is not a side (server or client)`, "key");
      if (typeof dir !== "string") fail(["handlers", side], "must be a directory path");
    }
  }
  const config: PaynetProjectConfig = { proto: (proto as string[] | undefined) ?? [] };
  if (value.protoPaths !== undefined) config.protoPaths = value.protoPaths as string[];
  if (typeof value.map === "string") config.map = value.map;
  if (typeof value.name === "string") config.name = value.name;
  if (typeof value.sdk === "string") config.sdk = value.sdk;
  if (value.target !== undefined) config.target = value.target as ConfigTarget;
  if (value.int64 !== undefined) config.int64 = value.int64 as ConfigInt64;
  if (handlers !== undefined) config.handlers = handlers as Partial<Record<Side, string>>;
  return config;
}
