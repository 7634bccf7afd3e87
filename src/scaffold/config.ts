/**
 * Where a paynet project keeps things, declared in its package.json under `"paynet"`:
 *
 * ```json
 * "paynet": {
 *   "proto": ["proto/paybox.proto"],
 *   "protoPaths": ["proto"],
 *   "map": "proto/paybox.map.yaml",
 *   "sdk": "src/generated",
 *   "handlers": { "server": "src/handlers/server", "client": "src/handlers/client" }
 * }
 * ```
 *
 * Paths are relative to the package.json's directory. `init` writes this block; the scaffolding
 * commands read it, and their flags override it.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ScaffoldError } from "./errors.js";

export type Side = "server" | "client";

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
  readonly handlers: Readonly<Partial<Record<Side, string>>>;
}

export const DEFAULT_SDK_DIR = "src/generated";

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

/**
 * Reads the `"paynet"` block of the package.json at or above `start`. Without a package.json or
 * without the block, returns a layout with defaults (flags may still supply everything).
 */
export function readProjectLayout(start: string): ProjectLayout {
  const root = findProjectRoot(start) ?? resolve(start);
  const packageJson = join(root, "package.json");
  let config: PaynetProjectConfig | undefined;
  if (existsSync(packageJson)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(packageJson, "utf8"));
    } catch (error) {
      throw new ScaffoldError(
        "PROJECT_CONFIG",
        `${packageJson} is not valid JSON: ${(error as Error).message}`,
      );
    }
    const block = (parsed as { paynet?: unknown } | null)?.paynet;
    if (block !== undefined) config = validateConfig(block, packageJson);
  }
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
    handlers,
  };
}

function validateConfig(block: unknown, file: string): PaynetProjectConfig {
  const fail = (what: string): never => {
    throw new ScaffoldError("PROJECT_CONFIG", `${file}: "paynet".${what}`);
  };
  if (typeof block !== "object" || block === null || Array.isArray(block)) fail(" must be an object");
  const value = block as Record<string, unknown>;
  const isStringArray = (v: unknown) => Array.isArray(v) && v.every((item) => typeof item === "string");
  const proto = typeof value.proto === "string" ? [value.proto] : value.proto;
  if (proto !== undefined && !isStringArray(proto)) fail("proto must be a file path or a list of file paths");
  if (value.protoPaths !== undefined && !isStringArray(value.protoPaths))
    fail("protoPaths must be a list of directories");
  for (const key of ["map", "name", "sdk"] as const) {
    if (value[key] !== undefined && typeof value[key] !== "string") fail(`${key} must be a string`);
  }
  const handlers = value.handlers;
  if (handlers !== undefined) {
    if (typeof handlers !== "object" || handlers === null || Array.isArray(handlers)) {
      fail(
        'handlers must be an object like { "server": "src/handlers/server", "client": "src/handlers/client" }',
      );
    }
    for (const [side, dir] of Object.entries(handlers as Record<string, unknown>)) {
      if (side !== "server" && side !== "client")
        fail(`handlers has an unknown side "${side}" (server or client)`);
      if (typeof dir !== "string") fail(`handlers.${side} must be a directory path`);
    }
  }
  const config: PaynetProjectConfig = { proto: (proto as string[] | undefined) ?? [] };
  if (value.protoPaths !== undefined) config.protoPaths = value.protoPaths as string[];
  if (typeof value.map === "string") config.map = value.map;
  if (typeof value.name === "string") config.name = value.name;
  if (typeof value.sdk === "string") config.sdk = value.sdk;
  if (handlers !== undefined) config.handlers = handlers as Partial<Record<Side, string>>;
  return config;
}
