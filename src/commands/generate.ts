import { Args, Command, Flags } from "@oclif/core";
import { protoPathFlag } from "../cli/flags.js";

/** `paynet-gen generate`: annotated .proto files → a typed TypeScript SDK on `@paynet/runtime`. */
export default class Generate extends Command {
  static override summary = "Generate a typed TypeScript SDK from annotated .proto files.";

  static override description =
    `Reads the .proto files (imports resolved through --proto-path and each input's directory) with their paynet Type-ID annotations — in the proto (import "paynet/options.proto") or in a --map sidecar — validates them, and writes into --out: message types and codecs, the Type-ID map, handler interfaces, dispatch tables and the typed server/client facades.

All errors of a run are reported at once as file:line:col; when there is any, nothing is written and the exit code is 1. The new output is staged next to --out and swapped in by renaming directories, so --out holds either the old or the new SDK, never a mix; when --out contains subdirectories (or cannot be renamed) the changed files are renamed into place one by one instead. Output is deterministic: the same input gives byte-identical files, each headed by the generator version and the sources' hash. With --check nothing is written: the exit code is 1 and the stale, missing or extra files are listed when the output directory differs from what would be generated (for CI).`;

  static override examples = [
    {
      description: "Generate the SDK of an annotated proto",
      command: "<%= config.bin %> <%= command.id %> proto/paybox.proto --out src/generated",
    },
    {
      description: "Keep the original proto untouched: give the Type-IDs in a sidecar map",
      command:
        "<%= config.bin %> <%= command.id %> proto/paybox.original.proto --map proto/paybox.map.yaml --out src/generated",
    },
    {
      description: "Only the cloud side, with imports from another directory and 64-bit integers as strings",
      command:
        "<%= config.bin %> <%= command.id %> protos/shop.proto -I vendor/protos --target server --int64 string --out server/sdk",
    },
    {
      description: "In CI: fail when the committed SDK is out of date",
      command: "<%= config.bin %> <%= command.id %> proto/paybox.proto --out src/generated --check",
    },
  ];

  static override strict = false;

  static override args = {
    proto: Args.string({ description: ".proto file(s) to generate from", required: true }),
  };

  static override flags = {
    out: Flags.string({
      char: "o",
      description: "output directory of the SDK",
      required: true,
      helpValue: "DIR",
    }),
    "proto-path": protoPathFlag("; paynet/options.proto is always found"),
    map: Flags.string({
      description: "sidecar map (YAML or JSON) with Type-ID annotations",
      helpValue: "FILE",
    }),
    name: Flags.string({
      description: "facade name prefix (default: the package in PascalCase, e.g. Paybox)",
    }),
    target: Flags.string({
      description: "which facades to generate",
      options: ["both", "server", "client"],
      default: "both",
    }),
    int64: Flags.string({
      description: "TypeScript type of 64-bit integer fields",
      options: ["bigint", "string"],
      default: "bigint",
    }),
    check: Flags.boolean({
      description: "write nothing; exit 1 if the output directory is not up to date",
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Generate);
    const { generate } = await import("../generate.js");
    const { formatDiagnostic } = await import("../model/index.js");
    const target = flags.target as "both" | "server" | "client";
    const int64 = flags.int64 as "bigint" | "string";
    const result = await generate({
      inputs: argv.map(String),
      out: flags.out,
      ...(flags["proto-path"] === undefined ? {} : { protoPaths: flags["proto-path"] }),
      ...(flags.map === undefined ? {} : { mapFile: flags.map }),
      ...(flags.name === undefined ? {} : { name: flags.name }),
      target,
      int64,
      check: flags.check,
      generatorVersion: this.config.version,
    });

    for (const diagnostic of result.diagnostics) process.stderr.write(`${formatDiagnostic(diagnostic)}\n`);
    const errors = result.diagnostics.filter((diagnostic) => diagnostic.severity === "error").length;
    if (errors > 0 || result.files.length === 0) {
      this.logToStderr(`${errors} error${errors === 1 ? "" : "s"}; nothing written`);
      this.exit(1);
    }

    if (result.differences !== undefined) {
      if (result.differences.length === 0) {
        this.log(`${flags.out} is up to date (${result.files.length} files)`);
        return;
      }
      for (const difference of result.differences)
        this.log(`${difference.kind}: ${joinPath(flags.out, difference.path)}`);
      this.logToStderr(
        `${flags.out} is out of date: ${result.differences.length} file${result.differences.length === 1 ? "" : "s"} differ; run the same command without --check`,
      );
      this.exit(1);
    }

    const written = result.written;
    if (written === undefined) return;
    for (const path of written.written) this.log(`wrote ${joinPath(flags.out, path)}`);
    for (const path of written.unchanged) this.log(`unchanged ${joinPath(flags.out, path)}`);
    for (const path of written.removed) this.log(`removed ${joinPath(flags.out, path)}`);
    const warnings = result.diagnostics.length - errors;
    this.log(
      `generated ${result.files.length} files into ${flags.out} (${written.written.length} written, ${written.unchanged.length} unchanged${written.removed.length > 0 ? `, ${written.removed.length} removed` : ""})${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : ""}`,
    );
  }
}

function joinPath(dir: string, file: string): string {
  return `${dir.replace(/\/+$/, "")}/${file}`;
}
