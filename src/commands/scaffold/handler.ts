import { Args, Command, Flags } from "@oclif/core";

/** `paynet-gen scaffold handler`: typed handler stubs, registered in the handlers index. */
export default class ScaffoldHandler extends Command {
  static override summary = "Add a typed handler stub for a message and register it in the handlers index.";

  static override description =
    "Creates <dir>/<message>.ts exporting a handler typed with the generated <Service>ServerHandlers or " +
    "<Service>ClientHandlers (message, context and reply checked by the compiler; a TODO body that " +
    "compiles) and adds its import and property to <dir>/index.ts, the object the app passes to the " +
    "generated facade. Existing files are never overwritten and the rest of the index keeps its bytes; " +
    "running it again changes nothing. The side follows the message's direction (uplink: server, " +
    'downlink: client). Directories come from package.json: "paynet": { "proto": [...], "sdk": ' +
    '"src/generated", "handlers": { "server": "src/handlers/server", "client": "src/handlers/client" } }; ' +
    "flags override it.";

  static override examples = [
    "<%= config.bin %> <%= command.id %> CoinAck",
    "<%= config.bin %> <%= command.id %> CoinCommand --side client",
    "<%= config.bin %> <%= command.id %> --all --side server",
    "<%= config.bin %> <%= command.id %> QueryReq --dir src/cloud/handlers --project services/cloud",
  ];

  static override args = {
    message: Args.string({ description: "message to handle (CoinAck or paybox.CoinAck)", required: false }),
  };

  static override flags = {
    side: Flags.string({
      char: "s",
      description: "which side handles it (default: from the direction)",
      options: ["server", "client"],
    }),
    dir: Flags.string({
      description: "handlers directory holding index.ts (default: package.json paynet.handlers.<side>)",
      helpValue: "DIR",
    }),
    all: Flags.boolean({
      description: "stubs for every message of the side without a handler",
      default: false,
    }),
    project: Flags.string({
      description: "project directory (its package.json has the paynet block)",
      helpValue: "DIR",
    }),
    proto: Flags.string({
      description: "input .proto file (repeatable); default from package.json",
      multiple: true,
      helpValue: "FILE",
    }),
    map: Flags.string({ description: "sidecar map; default from package.json", helpValue: "FILE" }),
    sdk: Flags.string({
      description: "generated SDK directory; default from package.json or src/generated",
      helpValue: "DIR",
    }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ScaffoldHandler);
    const { fail } = await import("../../scaffold/cli.js");
    if (args.message === undefined && !flags.all)
      this.error("name a message (e.g. `scaffold handler CoinAck`) or pass --all", { exit: 2 });
    if (args.message !== undefined && flags.all)
      this.error("give either a message or --all, not both", { exit: 2 });
    try {
      const { scaffoldHandler } = await import("../../scaffold/scaffold-handler.js");
      const { relative, resolve } = await import("node:path");
      const project = resolve(flags.project ?? ".");
      const result = await scaffoldHandler({
        project,
        ...(args.message === undefined ? {} : { message: args.message }),
        all: flags.all,
        ...(flags.side === undefined ? {} : { side: flags.side as "server" | "client" }),
        ...(flags.dir === undefined ? {} : { dir: resolve(flags.dir) }),
        ...(flags.proto === undefined ? {} : { proto: flags.proto.map((file) => resolve(file)) }),
        ...(flags.map === undefined ? {} : { map: resolve(flags.map) }),
        ...(flags.sdk === undefined ? {} : { sdk: resolve(flags.sdk) }),
      });
      const shown = (path: string) => relative(process.cwd(), path) || path;
      for (const note of result.notes) process.stderr.write(`${note}\n`);
      for (const file of result.created) this.log(`created ${shown(file)}`);
      if (result.registered.length > 0)
        this.log(`registered ${result.registered.join(", ")} in ${shown(result.indexPath)}`);
      for (const skipped of result.skipped) this.log(`skipped ${skipped.message}: ${skipped.reason}`);
      if (result.unregistered.length > 0) {
        // Something asked for is still not handled: a script must not take this run for a success.
        const lines = result.unregistered.map((entry) => `${entry.message} not registered: ${entry.reason}`);
        this.error(lines.join("\n"), { exit: 1, code: "HANDLER_NOT_REGISTERED" });
      }
      if (result.created.length === 0 && result.registered.length === 0) {
        this.log(`nothing to do: every requested ${result.side} handler already exists`);
      }
    } catch (error) {
      fail(this, error);
    }
  }
}
