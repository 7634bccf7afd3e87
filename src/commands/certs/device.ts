import { Args, Command, Flags } from "@oclif/core";
import { DEFAULT_LEAF_DAYS, KEY_ALGORITHMS, type KeyAlgorithm } from "../../certs/types.js";

/** `paynet-gen certs device <sn>`: one more device certificate from the existing CA. */
export default class CertsDevice extends Command {
  static override summary = "Issue a device certificate for a serial number from the CA in --out.";

  static override description =
    "Reads ca.crt/ca.key from --out (see `certs init`) and writes <name>.crt/<name>.key there, EKU " +
    "clientAuth, CN = the serial. Under mTLS the certificate acts only for that device: it may " +
    "register only that serial and log in only as the device id registered for it. <name> is the " +
    "serial when it only uses [A-Za-z0-9._-]; otherwise other characters become '_' and a short hash " +
    "of the serial is appended, so any serial gives a safe and distinct file name. Serials that spell " +
    "(in any case) a file of `certs init` (ca, server, device) or a Windows device name (con, nul, " +
    "...) are hashed too. A CN holds at most 64 characters (RFC 5280).";

  static override examples = [
    "<%= config.bin %> <%= command.id %> SN-0002",
    "<%= config.bin %> <%= command.id %> SN-0042 --out certs --days 365",
    "<%= config.bin %> <%= command.id %> 'box 7 (lobby)' --algorithm rsa-2048",
  ];

  static override args = {
    sn: Args.string({
      description: "serial number of the device, the certificate's CN (1 to 64 characters)",
      required: true,
    }),
  };

  static override flags = {
    out: Flags.string({ description: "directory with ca.crt/ca.key; output directory", default: "certs" }),
    algorithm: Flags.string({
      description: "key algorithm",
      options: [...KEY_ALGORITHMS],
      default: "ec-p256",
    }),
    days: Flags.integer({ description: "validity in days", min: 1, default: DEFAULT_LEAF_DAYS }),
    force: Flags.boolean({ description: "overwrite existing files", default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(CertsDevice);
    const [{ issueDeviceFiles }, { CertFilesError }, { describeWritten, expiryWarning }] = await Promise.all([
      import("../../certs/files.js"),
      import("../../certs/errors.js"),
      import("../../certs/report.js"),
    ]);
    try {
      const written = await issueDeviceFiles({
        out: flags.out,
        commonName: args.sn,
        algorithm: flags.algorithm as KeyAlgorithm,
        days: flags.days,
        force: flags.force,
      });
      this.log(describeWritten(written));
      const warning = expiryWarning(written);
      if (warning !== undefined) this.warn(warning);
    } catch (error) {
      if (error instanceof CertFilesError) this.error(error.message, { exit: 1 });
      throw error;
    }
  }
}
