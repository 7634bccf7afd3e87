import { Args, Command, Flags } from "@oclif/core";

/** `paynet-gen init`: a ready-to-run paynet project. */
export default class Init extends Command {
  static override summary =
    "Create a ready-to-run TypeScript paynet project (server, device, SDK, certificates).";

  static override description =
    'Writes package.json (with the "paynet" block the other commands read), tsconfig.json, ' +
    "proto/<name>.proto with a starter register/login/heartbeat/error set, the generated SDK, a server " +
    "entry and a device entry with their handlers indexes, demo certificates (certs/) and a README. " +
    "`npm install && npm start` then starts the server and a device that register, log in and exchange " +
    "heartbeats over mutual TLS. A non-empty directory is refused unless --force.";

  static override examples = [
    "<%= config.bin %> <%= command.id %> coinbox",
    "<%= config.bin %> <%= command.id %> . --name coin-cloud --side server",
    "<%= config.bin %> <%= command.id %> firmware-sim --side client",
    "<%= config.bin %> <%= command.id %> existing-dir --force",
  ];

  static override args = {
    dir: Args.string({ description: "project directory (created if missing)", default: "." }),
  };

  static override flags = {
    name: Flags.string({ description: "package name, also the proto package (default: the directory name)" }),
    side: Flags.string({
      description: "which side(s) the project runs",
      options: ["both", "server", "client"],
      default: "both",
    }),
    force: Flags.boolean({ description: "write into a non-empty directory", default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Init);
    const { fail, printDiagnostics } = await import("../scaffold/cli.js");
    try {
      const { initProject } = await import("../scaffold/init-project.js");
      const { relative } = await import("node:path");
      const result = await initProject({
        dir: args.dir,
        side: flags.side as "both" | "server" | "client",
        force: flags.force,
        ...(flags.name === undefined ? {} : { name: flags.name }),
      });
      printDiagnostics(result.warnings);
      const shown = relative(process.cwd(), result.dir) || ".";
      this.log(
        `created ${result.name} in ${shown} (${result.files.length} files, SDK prefix ${result.service})`,
      );
      this.log("");
      this.log("next:");
      if (shown !== ".") this.log(`  cd ${shown}`);
      this.log(`  ${result.startCommand}`);
    } catch (error) {
      fail(this, error);
    }
  }
}
