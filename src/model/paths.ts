/**
 * Where the generator's own .proto files live and how file paths are shown to users.
 */
import { createRequire } from "node:module";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The generator's `proto/` directory (holding `paynet/options.proto`), always on the include path.
 * This module lives in `src/model/` (vitest, tsx) or `dist/model/` (published): two levels below
 * the package root in both cases.
 */
export const PAYNET_PROTO_DIR: string = fileURLToPath(new URL("../../proto/", import.meta.url)).replace(
  /[\\/]$/,
  "",
);

/** Import name of the annotation definitions. */
export const PAYNET_OPTIONS_IMPORT = "paynet/options.proto";

/** Directory of protobufjs's bundled `google/protobuf/*.proto` texts (descriptor.proto, type.proto, …). */
export const PROTOBUFJS_DIR: string = dirname(
  createRequire(import.meta.url).resolve("protobufjs/package.json"),
);

/**
 * How a file is named in diagnostics and positions: relative to `cwd` with `/` separators when it is
 * inside `cwd`, absolute otherwise.
 */
export function displayPath(absPath: string, cwd: string): string {
  const rel = relative(cwd, absPath);
  const shown = rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : absPath;
  return sep === "/" ? shown : shown.split(sep).join("/");
}

/** Absolute path of `file` given relative to `cwd`. */
export function absolutePath(file: string, cwd: string): string {
  return resolve(cwd, file);
}
