import { Command, Flags } from "@oclif/core";

/** `paynet-gen certs check`: expiry and revocation of every certificate in a directory. */
export default class CertsCheck extends Command {
  static override summary = "List every certificate with its expiry and state; exit 1 when one is expiring.";

  static override description =
    "Reads every *.crt and *.pem file of --out (each certificate of a bundle separately) and prints " +
    "its state, days left, expiry, subject and file. States: ok; expiring (ends within --warn-days); " +
    "expired; revoked (listed in --out/ca.crl, signed by --out/ca.crt). The CRL's next update is " +
    "checked too (expiring within 7 days of it): past it, paynetd --stale-crl fail refuses the devices " +
    "under that CA. Exits " +
    "with 1 when any certificate or the CRL is expiring or expired (revoked certificates are reported, " +
    "they need no action), so it fits a cron job or a CI check.";

  static override examples = [
    "<%= config.bin %> <%= command.id %>",
    "<%= config.bin %> <%= command.id %> --out /etc/paynet --warn-days 45",
    "<%= config.bin %> <%= command.id %> --json",
  ];

  static override flags = {
    out: Flags.string({ description: "directory with the certificates (and ca.crl)", default: "certs" }),
    "warn-days": Flags.integer({
      description: "a certificate ending within this many days is expiring",
      default: 30,
      min: 0,
    }),
    json: Flags.boolean({ description: "print one JSON document instead of the table", default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(CertsCheck);
    // Loaded here so that other commands and --help do not pay for the X.509 stack.
    const [{ checkCertificates }, { formatCheckReport }, { CertFilesError }] = await Promise.all([
      import("../../certs/check.js"),
      import("../../certs/check-report.js"),
      import("../../certs/errors.js"),
    ]);
    try {
      const report = await checkCertificates({ out: flags.out, warnDays: flags["warn-days"] });
      this.log(flags.json ? JSON.stringify(report, null, 2) : formatCheckReport(report, flags["warn-days"]));
      if (report.needsAction) this.exit(1);
    } catch (error) {
      if (error instanceof CertFilesError) this.error(error.message, { exit: 2 });
      throw error;
    }
  }
}
