import { Args, Command, Flags } from "@oclif/core";
import { protoPathFlag } from "../../cli/flags.js";

/** `paynet-gen types list`: the Type table of a proto (and sidecar). */
export default class TypesList extends Command {
  static override summary = "Print the Type table: wire Type, direction, message, reply, role, correlation.";

  static override description =
    "Loads the protos exactly like `generate` (same validation, same diagnostics) and prints one row per " +
    'annotated message, sorted by Type. Without --proto the project\'s package.json "paynet" block says ' +
    "where the protos and the sidecar map are.";

  static override examples = [
    "<%= config.bin %> <%= command.id %>",
    "<%= config.bin %> <%= command.id %> --proto proto/paybox.proto",
    "<%= config.bin %> <%= command.id %> --proto proto/paybox.original.proto --map proto/paybox.map.yaml",
    "<%= config.bin %> <%= command.id %> --proto protos/shop.proto -I vendor/protos --json",
  ];

  static override strict = false;

  static override args = {
    proto: Args.string({ description: ".proto file(s); same as --proto", required: false }),
  };

  static override flags = {
    proto: Flags.string({ description: "input .proto file (repeatable)", multiple: true, helpValue: "FILE" }),
    "proto-path": protoPathFlag(),
    map: Flags.string({
      description: "sidecar map (YAML or JSON) with Type-ID annotations",
      helpValue: "FILE",
    }),
    json: Flags.boolean({ description: "print the rows as JSON", default: false }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(TypesList);
    const { fail, printDiagnostics, resolveSources } = await import("../../scaffold/cli.js");
    try {
      const { loadProjectModel } = await import("../../scaffold/project-model.js");
      const { formatTypeTable, typeRows } = await import("../../scaffold/type-table.js");
      const { model, diagnostics } = await loadProjectModel(
        resolveSources(flags, argv.map(String), process.cwd()),
      );
      printDiagnostics(diagnostics);
      const rows = typeRows(model);
      if (flags.json) this.log(JSON.stringify(rows, null, 2));
      else process.stdout.write(formatTypeTable(rows));
    } catch (error) {
      fail(this, error, { writes: false });
    }
  }
}
