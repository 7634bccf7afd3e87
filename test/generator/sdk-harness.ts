/**
 * Shared by the generator tests: the fixtures, rendering an SDK in memory, writing it to a temporary
 * directory and type-checking it with the strict compiler options users are told to use.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import type { GeneratedFile } from "../../src/emit/types.js";
import { type GenerateOptions, renderSdk } from "../../src/generate.js";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const GOLDEN_DIR = join(REPO_ROOT, "test", "generator", "golden");
/** Fixed so that goldens do not change with every release. */
export const TEST_VERSION = "0.0.0-test";

export interface Fixture {
  /** Golden directory name. */
  readonly name: string;
  readonly options: Omit<GenerateOptions, "out">;
}

export const ANNOTATED_PAYBOX: Fixture = { name: "paybox", options: { inputs: ["proto/paybox.proto"] } };
export const SIDECAR_PAYBOX: Fixture = {
  name: "paybox-sidecar",
  options: { inputs: ["proto/paybox.original.proto"], mapFile: "proto/paybox.map.yaml" },
};

/** Multi-file proto: imports through -I, nesting, oneof, map, int64, well-known types, proto2. */
export const MULTI_FILE: Fixture = {
  name: "multi",
  options: {
    inputs: ["test/fixtures/protos/multi/shop.proto"],
    protoPaths: ["test/fixtures/protos/multi/include"],
  },
};

/** The device only sends: no client-side handlers, a 32-bit heartbeat timestamp, a string error code. */
export const UPLINK_ONLY: Fixture = {
  name: "uplink-only",
  options: { inputs: ["test/fixtures/protos/generator/uplink-only.proto"] },
};

/** proto2, bytes correlation keys, an int64 login result code, a BOTH heartbeat. */
export const COMMANDS: Fixture = {
  name: "commands",
  options: { inputs: ["test/fixtures/protos/generator/commands.proto"] },
};

/**
 * Proto names that are also runtime exports (aliased on import), fields named like reserved words and
 * Object.prototype members, 64-bit correlation keys; rendered with `--int64 string`.
 */
export const NASTY_NAMES: Fixture = {
  name: "nasty-names",
  options: { inputs: ["test/fixtures/protos/generator/nasty-names.proto"], int64: "string" },
};

/** Renders the SDK of `fixture` in memory (paths relative to the repository root); fails on diagnostics. */
export async function renderFixture(
  fixture: Fixture,
  overrides: Partial<GenerateOptions> = {},
): Promise<GeneratedFile[]> {
  const { diagnostics, files } = await renderSdk({
    out: "unused",
    cwd: REPO_ROOT,
    generatorVersion: TEST_VERSION,
    ...fixture.options,
    ...overrides,
  });
  const errors = diagnostics.filter((diagnostic) => diagnostic.severity === "error");
  if (errors.length > 0 || files.length === 0) {
    throw new Error(`fixture ${fixture.name} failed: ${errors.map((error) => error.message).join("; ")}`);
  }
  return files;
}

/** A fresh temporary directory that holds ESM TypeScript (`package.json` type module). */
export async function makeSdkDir(prefix = "paynet-sdk-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await writeFile(join(dir, "package.json"), '{ "type": "module" }\n');
  return dir;
}

/**
 * Renders `fixture` into a fresh directory and imports its `index.ts`; `remove` deletes the
 * directory (return it from `beforeAll` as its teardown).
 */
export async function importRenderedSdk<Sdk>(
  fixture: Fixture,
  prefix: string,
): Promise<{ sdk: Sdk; remove: () => Promise<void> }> {
  const dir = await makeSdkDir(prefix);
  await writeFiles(dir, await renderFixture(fixture));
  const sdk = (await import(join(dir, "index.ts"))) as Sdk;
  return { sdk, remove: () => removeDir(dir) };
}

export async function writeFiles(dir: string, files: readonly GeneratedFile[]): Promise<void> {
  for (const file of files) {
    const path = join(dir, ...file.path.split("/"));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, file.content);
  }
}

/** Every file under `dir` (relative, `/`-separated) with its content, sorted. */
export async function readTree(dir: string): Promise<GeneratedFile[]> {
  const files: GeneratedFile[] = [];
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else
        files.push({
          path: relative(dir, path).split("\\").join("/"),
          content: await readFile(path, "utf8"),
        });
    }
  };
  await walk(dir);
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** The compiler options the generated code promises to compile under. */
export function strictCompilerOptions(): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2022.d.ts"],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    exactOptionalPropertyTypes: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    noImplicitOverride: true,
    noImplicitReturns: true,
    noFallthroughCasesInSwitch: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
    skipLibCheck: true,
    declaration: true,
    types: ["node"],
    typeRoots: [join(REPO_ROOT, "node_modules", "@types")],
    // The runtime's sources stand in for the published package (no build needed).
    paths: {
      "@paynet/runtime": [join(REPO_ROOT, "runtime", "src", "index.ts")],
      "@paynet/runtime/protobuf": [join(REPO_ROOT, "runtime", "src", "protobuf", "index.ts")],
    },
  };
}

export interface TypeCheckResult {
  /** Formatted diagnostics located in files under the checked directory. */
  readonly errors: readonly string[];
  /** Declaration output (`.d.ts`) of each checked file, by relative path. */
  readonly declarations: ReadonlyMap<string, string>;
}

/**
 * Type-checks every `.ts` file of `dir` with {@link strictCompilerOptions}. Only diagnostics in `dir`
 * are returned: the runtime's own sources are checked by the runtime's build.
 */
export async function typeCheckDir(dir: string): Promise<TypeCheckResult> {
  const roots = (await readTree(dir))
    .filter((file) => file.path.endsWith(".ts"))
    .map((file) => join(dir, file.path));
  const options = strictCompilerOptions();
  const program = ts.createProgram(roots, options);
  const inDir = (fileName: string | undefined) =>
    fileName !== undefined && !relative(dir, fileName).startsWith("..");
  const diagnostics = [
    ...program.getSyntacticDiagnostics(),
    ...program.getSemanticDiagnostics(),
    ...program.getOptionsDiagnostics(),
  ];
  const errors = diagnostics
    .filter((diagnostic) => diagnostic.file === undefined || inDir(diagnostic.file.fileName))
    .map((diagnostic) => {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
      if (diagnostic.file === undefined || diagnostic.start === undefined) return message;
      const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      return `${relative(dir, diagnostic.file.fileName)}:${line + 1}:${character + 1}: ${message}`;
    });
  const declarations = new Map<string, string>();
  program.emit(
    undefined,
    (fileName, text) => {
      if (fileName.endsWith(".d.ts") && inDir(fileName)) declarations.set(relative(dir, fileName), text);
    },
    undefined,
    true,
  );
  return { errors, declarations };
}
