import { Args, Command, Flags } from "@oclif/core";

/** `paynet-gen init`: a ready-to-run paynet project. */
export default class Init extends Command {
  static override summary =
    "Create a ready-to-run TypeScript paynet project (server, device, SDK, certificates).";

  static override description =
    'Writes package.json (with the "paynet" block the other commands read), tsconfig.json, ' +
    "proto/<name>.proto with a starter register/login/heartbeat/error set, the generated SDK, a server " +
    "entry and a device entry with their handlers indexes, certificates (certs/: each side gets only what it " +
    "runs with; a device-only project never holds the CA key) and a README. " +
    "`npm install && npm start` then starts the server and a device that register, log in and exchange " +
    "heartbeats over mutual TLS. A non-empty directory is refused unless --force. " +
    "Until paynet-gen and @paynet/runtime are on the npm registry, the project carries them as npm tarballs in " +
    "vendor/ (packed from this paynet-gen, named as file:vendor/... dependencies, so the project installs " +
    "wherever it is moved or cloned); --from-registry names registry versions instead.";

  static override examples = [
    "<%= config.bin %> <%= command.id %> coinbox",
    "<%= config.bin %> <%= command.id %> . --name coin-cloud --side server",
    "<%= config.bin %> <%= command.id %> firmware-sim --side client",
    "<%= config.bin %> <%= command.id %> firmware-sim --side client --ca ../coin-cloud/certs",
    "<%= config.bin %> <%= command.id %> existing-dir --force",
    "<%= config.bin %> <%= command.id %> coinbox --from-registry",
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
    "from-registry": Flags.boolean({
      description:
        "depend on paynet-gen and @paynet/runtime from the npm registry (^version) instead of packing them into vendor/",
      default: false,
    }),
    ca: Flags.string({
      description:
        "directory of the operator's CA (ca.crt + ca.key) to issue the certificates from; the key is not " +
        "copied. Default: a new CA, in certs/ when the project runs the server, else in <dir>-ca next to it",
      helpValue: "DIR",
    }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Init);
    const { fail, printDiagnostics } = await import("../scaffold/cli.js");
    try {
      const { initProject } = await import("../scaffold/init-project.js");
      const { isAbsolute, relative } = await import("node:path");
      const result = await initProject({
        dir: args.dir,
        side: flags.side as "both" | "server" | "client",
        force: flags.force,
        dependencies: flags["from-registry"] ? "registry" : "vendor",
        ...(flags.name === undefined ? {} : { name: flags.name }),
        ...(flags.ca === undefined ? {} : { ca: flags.ca }),
      });
      printDiagnostics(result.warnings);
      // The directory as the user named it: absolute stays absolute.
      const shown = isAbsolute(args.dir) ? result.dir : relative(process.cwd(), result.dir) || ".";
      this.log(
        `created ${result.name} in ${shown} (${result.files.length} files, SDK prefix ${result.service})`,
      );
      const caShown = isAbsolute(args.dir) ? result.ca.dir : relative(process.cwd(), result.ca.dir);
      if (!result.ca.inProject) {
        this.log(
          result.ca.created
            ? `created the CA in ${caShown} (ca.crt, ca.key): its key signs every certificate, so it stays out of the project; keep it with the operator`
            : `issued the certificates from the CA in ${caShown} (its key was not copied)`,
        );
      }
      this.log(
        result.dependencies === "vendor"
          ? `packed paynet-gen and @paynet/runtime ${this.config.version} into vendor/: npm install takes them from there (commit them with the project)`
          : `paynet-gen and @paynet/runtime come from the npm registry (^${this.config.version})`,
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
