/** Generating the C SDK of a model into a directory, as `paynet-gen generate --lang c` writes it. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { emitCSdk } from "../../../src/emit/c/index.js";
import { formatDiagnostic } from "../../../src/model/index.js";
import type { ProtoModel } from "../../../src/model/types.js";

export interface CSdk {
  readonly dir: string;
  readonly files: readonly string[];
  /** The .c files. */
  readonly sources: readonly string[];
  readonly prefix: string;
}

export function writeCSdk(model: ProtoModel, dir: string): CSdk {
  const { files, diagnostics } = emitCSdk(model, { generatorVersion: "0.0.0-test" });
  if (files.length === 0) throw new Error(diagnostics.map(formatDiagnostic).join("\n"));
  mkdirSync(dir, { recursive: true });
  for (const file of files) writeFileSync(join(dir, file.path), file.content);
  const header = files.find((file) => file.path.endsWith(".h") && !file.path.endsWith("_device.h"))!;
  return {
    dir,
    files: files.map((file) => join(dir, file.path)),
    sources: files.filter((file) => file.path.endsWith(".c")).map((file) => join(dir, file.path)),
    prefix: header.path.slice(0, -2),
  };
}
