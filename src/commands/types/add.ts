import { Args, Command, Flags } from "@oclif/core";
import { protoPathFlag } from "../../cli/flags.js";

/** `paynet-gen types add`: annotate one message with its wire Type (in the proto or the sidecar map). */
export default class TypesAdd extends Command {
  static override summary = "Give a message its wire Type (and direction, reply, role, correlation field).";

  static override description =
    "Edits the .proto that defines the message with a minimal text change — `option (paynet.…)` lines right " +
    "after the message's opening brace, `[(paynet.correlation) = true]` on the correlation field and " +
    '`import "paynet/options.proto";` if missing — leaving every other byte as it was. With --map the ' +
    "annotation goes into the sidecar map instead (comments kept). The result is validated exactly like " +
    "`generate` (range, per-direction uniqueness, reply exists, correlation fields...) before anything is " +
    "written; on any error the diagnostics are printed and no file changes. The message must already be " +
    "declared in the proto (types add annotates messages, it does not declare them). Without --direction " +
    "the direction is inferred only when unambiguous (a message naming this one as its reply travels the " +
    "other way, and so does this message's reply). A message that is already annotated is refused unless " +
    "--force, which changes only the keys given.";

  static override examples = [
    "<%= config.bin %> <%= command.id %> RefundReq --type 0x06 --direction up --reply RefundRsp --proto proto/paybox.proto",
    "<%= config.bin %> <%= command.id %> RefundRsp --type 0x86 --direction down --proto proto/paybox.proto",
    "<%= config.bin %> <%= command.id %> CoinAck --type 0x84 --direction up --correlation order_id --proto proto/paybox.original.proto --map proto/paybox.map.yaml",
    "<%= config.bin %> <%= command.id %> Ping --type 0x06 --force",
  ];

  static override args = {
    message: Args.string({ description: "message name (CoinAck or paybox.CoinAck)", required: true }),
  };

  static override flags = {
    type: Flags.string({
      char: "t",
      description: "wire Type 1..255, hex (0x40) or decimal (required unless --force keeps the current one)",
    }),
    direction: Flags.string({
      char: "d",
      description:
        "up: device → cloud, down: cloud → device, both. Required unless it follows from the annotated " +
        "messages: a reply travels opposite to its request",
      options: ["up", "down", "both"],
    }),
    reply: Flags.string({ description: "message that answers this one", helpValue: "MESSAGE" }),
    role: Flags.string({
      description: "role in the runtime",
      options: ["register", "login", "heartbeat", "error"],
    }),
    correlation: Flags.string({
      description: "field tying replies to their request (e.g. order_id)",
      helpValue: "FIELD",
    }),
    proto: Flags.string({
      description: "input .proto file (repeatable); default from package.json",
      multiple: true,
      helpValue: "FILE",
    }),
    "proto-path": protoPathFlag(),
    map: Flags.string({
      description: "annotate in this sidecar map (YAML or JSON) instead of the proto",
      helpValue: "FILE",
    }),
    force: Flags.boolean({
      description: "change an existing annotation: the keys given replace the current ones, the others stay",
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TypesAdd);
    const { fail, printDiagnostics, resolveSources } = await import("../../scaffold/cli.js");
    try {
      const { parseTypeFlag, typesAdd } = await import("../../scaffold/types-add/index.js");
      const { formatTypeTable } = await import("../../scaffold/type-table.js");
      const { relative } = await import("node:path");
      const sources = resolveSources(flags, [], process.cwd());
      const result = await typesAdd({
        sources,
        message: args.message,
        target: flags.map !== undefined ? "map" : "proto",
        force: flags.force,
        spec: {
          ...(flags.type === undefined ? {} : { type: parseTypeFlag(flags.type) }),
          ...(flags.direction === undefined ? {} : { direction: flags.direction as "up" | "down" | "both" }),
          ...(flags.reply === undefined ? {} : { reply: flags.reply }),
          ...(flags.role === undefined
            ? {}
            : { role: flags.role as "register" | "login" | "heartbeat" | "error" }),
          ...(flags.correlation === undefined ? {} : { correlation: flags.correlation }),
        },
      });
      printDiagnostics(result.warnings);
      const file = relative(process.cwd(), result.file) || result.file;
      if (result.inferred !== undefined) this.log(result.inferred);
      if (result.update !== undefined) {
        const show = (change: { key: string; from: string | undefined; to: string | undefined }) =>
          change.from === undefined
            ? `${change.key} ${change.to} (new)`
            : `${change.key} ${change.from} → ${change.to ?? "(removed)"}`;
        const changed = result.update.changed.map(show).join(", ");
        const kept = result.update.kept.map((change) => `${change.key} ${change.from}`).join(", ");
        this.log(`changed: ${changed || "nothing"}${kept === "" ? "" : `; kept: ${kept}`}`);
      }
      if (result.unchanged) {
        this.log(`${result.row.message} is already annotated like this in ${file}; nothing written`);
        process.stdout.write(formatTypeTable([result.row]));
        return;
      }
      this.log(`annotated ${result.row.message} in ${file}:`);
      process.stdout.write(formatTypeTable([result.row]));
      this.log("run `paynet-gen generate` (npm run generate) to update the SDK");
    } catch (error) {
      fail(this, error);
    }
  }
}
