import { Args, Command, Flags } from "@oclif/core";
import { protoPathFlag } from "../cli/flags.js";

/**
 * `paynet-gen generate`: annotated .proto files → a typed TypeScript SDK on `@paynet/runtime`, or
 * with `--lang c` a C SDK for devices on the paynet C runtime.
 */
export default class Generate extends Command {
  static override summary = "Generate a typed TypeScript (or C) SDK from annotated .proto files.";

  static override description =
    `Without arguments, inside a project made by \`paynet-gen init\`, everything comes from the "paynet" section of its package.json: "proto" (the files), "sdk" (--out, default src/generated), "protoPaths", "map", "name", "target" and "int64"; flags given still win. With .proto files given, --out is required and package.json is not read.

Reads the .proto files (imports resolved through --proto-path and each input's directory) with their paynet Type-ID annotations — in the proto (import "paynet/options.proto") or in a --map sidecar — validates them, and writes into --out: message types and codecs, the Type-ID map, handler interfaces, dispatch tables and the typed server/client facades.

With --lang c it writes a C11 SDK for devices instead: <name>.h/.c (message structs with bounded fixed storage, codecs, Type-ID macros) and <name>_device.h/.c (login flow, heartbeat, dispatch table, typed senders, commands run once through a durable record) on the paynet C runtime (runtime-c/). Every string, bytes, repeated and map field then needs (paynet.max_size) / (paynet.max_count) bounds, and no message may contain itself.

All errors of a run are reported at once as file:line:col; when there is any, nothing is written and the exit code is 1. The new output is staged next to --out and swapped in by renaming directories, so --out holds either the old or the new SDK, never a mix; when --out contains subdirectories (or cannot be renamed) the changed files are renamed into place one by one instead. Output is deterministic: the same input gives byte-identical files, each headed by the generator version and the sources' hash. With --check nothing is written: the exit code is 1 and the stale, missing or extra files are listed when the output directory differs from what would be generated (for CI).`;

  static override examples = [
    {
      description: 'Inside a project: the protos and the output directory from package.json "paynet"',
      command: "<%= config.bin %> <%= command.id %>",
    },
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
      description: "The C SDK of a device (bounded fields), on the paynet C runtime",
      command: "<%= config.bin %> <%= command.id %> proto/paybox.proto --lang c --out device/sdk",
    },
    {
      description: "In CI: fail when the committed SDK is out of date",
      command: "<%= config.bin %> <%= command.id %> proto/paybox.proto --out src/generated --check",
    },
  ];

  static override strict = false;

  static override args = {
    proto: Args.string({
      description: '.proto file(s) to generate from (default: "paynet".proto of package.json)',
    }),
  };

  static override flags = {
    out: Flags.string({
      char: "o",
      description:
        'output directory of the SDK (default without .proto arguments: "paynet".sdk of package.json)',
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
    lang: Flags.string({
      description: "language of the SDK: ts (default) or c (devices, on the paynet C runtime)",
      options: ["ts", "c"],
    }),
    target: Flags.string({
      description: "which facades to generate (default: both; TypeScript only)",
      options: ["both", "server", "client"],
    }),
    int64: Flags.string({
      description: "TypeScript type of 64-bit integer fields (default: bigint; TypeScript only)",
      options: ["bigint", "string"],
    }),
    check: Flags.boolean({
      description: "write nothing; exit 1 if the output directory is not up to date",
      default: false,
    }),
  };

  /**
   * Explicit .proto arguments need --out and read no package.json; none means the project's
   * "paynet" section says what to generate, with flags still overriding it. Paths from package.json
   * are shown relative to the working directory, as a user would type them.
   */
  private async sources(
    protos: readonly string[],
    flags: {
      out?: string | undefined;
      "proto-path"?: string[] | undefined;
      map?: string | undefined;
      name?: string | undefined;
      target?: string | undefined;
      int64?: string | undefined;
    },
  ): Promise<RunSources> {
    const fromFlags = {
      protoPaths: flags["proto-path"],
      map: flags.map,
      name: flags.name,
      target: flags.target as RunSources["target"],
      int64: flags.int64 as RunSources["int64"],
    };
    if (protos.length > 0) {
      if (flags.out === undefined)
        this.error(
          '--out DIR is required when .proto files are given (without them, package.json "paynet" says where)',
          {
            exit: 1,
            code: "OUT_REQUIRED",
          },
        );
      return { inputs: protos, out: flags.out, ...fromFlags };
    }
    const { fail } = await import("../scaffold/cli.js");
    const { relative } = await import("node:path");
    try {
      const { readGenerateLayout } = await import("../scaffold/config.js");
      const layout = readGenerateLayout(process.cwd());
      const shown = (path: string) => relative(process.cwd(), path) || ".";
      return {
        inputs: layout.proto.map(shown),
        out: flags.out ?? shown(layout.sdk),
        protoPaths:
          fromFlags.protoPaths ?? (layout.protoPaths.length > 0 ? layout.protoPaths.map(shown) : undefined),
        map: fromFlags.map ?? (layout.map === undefined ? undefined : shown(layout.map)),
        name: fromFlags.name ?? layout.name,
        target: fromFlags.target ?? layout.target,
        int64: fromFlags.int64 ?? layout.int64,
      };
    } catch (error) {
      return fail(this, error, { writes: false });
    }
  }

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Generate);
    const { generate } = await import("../generate.js");
    const { formatDiagnostic } = await import("../model/index.js");
    const sources = await this.sources(argv.map(String), flags);
    const out = sources.out;
    const lang = (flags.lang ?? "ts") as "ts" | "c";
    if (lang === "c" && (flags.target !== undefined || flags.int64 !== undefined)) {
      this.error(
        `--${flags.target !== undefined ? "target" : "int64"} shapes the TypeScript SDK; it has no meaning with --lang c`,
        {
          exit: 2,
          code: "FLAG_NOT_FOR_C",
        },
      );
    }
    const result = await generate({
      inputs: sources.inputs,
      out,
      lang,
      ...(sources.protoPaths === undefined ? {} : { protoPaths: sources.protoPaths }),
      ...(sources.map === undefined ? {} : { mapFile: sources.map }),
      ...(sources.name === undefined ? {} : { name: sources.name }),
      target: sources.target ?? "both",
      int64: sources.int64 ?? "bigint",
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
        this.log(`${out} is up to date (${result.files.length} files)`);
        return;
      }
      for (const difference of result.differences)
        this.log(`${difference.kind}: ${joinPath(out, difference.path)}`);
      this.logToStderr(
        `${out} is out of date: ${result.differences.length} file${result.differences.length === 1 ? "" : "s"} differ; run the same command without --check`,
      );
      this.exit(1);
    }

    const written = result.written;
    if (written === undefined) return;
    for (const path of written.written) this.log(`wrote ${joinPath(out, path)}`);
    for (const path of written.unchanged) this.log(`unchanged ${joinPath(out, path)}`);
    for (const path of written.removed) this.log(`removed ${joinPath(out, path)}`);
    const warnings = result.diagnostics.length - errors;
    this.log(
      `generated ${result.files.length} files into ${out} (${written.written.length} written, ${written.unchanged.length} unchanged${written.removed.length > 0 ? `, ${written.removed.length} removed` : ""})${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : ""}`,
    );
  }
}

/** What one run generates from: the arguments and flags, or the project's package.json "paynet" section. */
interface RunSources {
  readonly inputs: readonly string[];
  readonly out: string;
  readonly protoPaths: readonly string[] | undefined;
  readonly map: string | undefined;
  readonly name: string | undefined;
  readonly target: "both" | "server" | "client" | undefined;
  readonly int64: "bigint" | "string" | undefined;
}

function joinPath(dir: string, file: string): string {
  return `${dir.replace(/\/+$/, "")}/${file}`;
}
