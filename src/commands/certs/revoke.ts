import { Args, Command, Flags } from "@oclif/core";
import { DEFAULT_CRL_DAYS, REVOCATION_REASONS, type RevocationReason } from "../../certs/types.js";

/** `paynet-gen certs revoke <name|file|serial>`: adds a certificate to the CA's CRL `ca.crl`. */
export default class CertsRevoke extends Command {
  static override summary = "Revoke a certificate: add it to the CA's revocation list <out>/ca.crl.";

  static override description =
    "Finds the certificate by name in --out (as written by `certs init` / `certs device`: device, " +
    "SN-0002, or the CN a file name was derived from), by path to a .crt file, or by hex serial " +
    "number; then re-signs <out>/ca.crl with ca.key, keeping every entry revoked before (with its " +
    `date and reason) plus this one. The CRL's nextUpdate is ${DEFAULT_CRL_DAYS} days ahead; running the ` +
    "command again for an already revoked certificate refreshes it. The CA and the server " +
    "certificate are only revoked with --force. Apply the new CRL with SIGHUP to paynetd, or " +
    "`server.runtime.reloadTls({ crl })` in your own server: connected devices whose certificate is " +
    "revoked are disconnected, and refused when they reconnect.";

  static override examples = [
    "<%= config.bin %> <%= command.id %> SN-0002",
    "<%= config.bin %> <%= command.id %> SN-0002 --out certs --reason keyCompromise",
    "<%= config.bin %> <%= command.id %> certs/device.crt --reason superseded",
    "<%= config.bin %> <%= command.id %> 3F2A9C0D5E6B7A8190A1B2C3D4E5F607 --out certs",
  ];

  static override args = {
    certificate: Args.string({
      description: "device name (as for `certs device`), path to a .crt file, or hex serial number",
      required: true,
    }),
  };

  static override flags = {
    out: Flags.string({ description: "directory with ca.crt/ca.key and the certificates", default: "certs" }),
    reason: Flags.string({
      description: "CRL reason code of the entry",
      options: [...REVOCATION_REASONS],
      default: "unspecified",
    }),
    force: Flags.boolean({ description: "also revoke the CA or the server certificate", default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(CertsRevoke);
    // Loaded here so that other commands and --help do not pay for the X.509 stack.
    const [{ revokeCertificate }, { CertFilesError }] = await Promise.all([
      import("../../certs/revoke.js"),
      import("../../certs/errors.js"),
    ]);
    try {
      const result = await revokeCertificate({
        out: flags.out,
        target: args.certificate,
        reason: flags.reason as RevocationReason,
        force: flags.force,
      });
      const what =
        result.certPath === undefined
          ? `serial ${result.serialNumber} (no certificate with this serial in ${flags.out})`
          : `${result.certPath} (${result.role}, CN=${JSON.stringify(result.commonName ?? "")}, serial ${result.serialNumber})`;
      this.log(
        result.alreadyRevoked
          ? `${what} was already revoked on ${result.revokedAt.toISOString()} (${result.reason}); kept as it was`
          : `revoked ${what}, reason ${result.reason}`,
      );
      this.log(
        `wrote ${result.crlPath} (${result.revokedCount} revoked, next update ${result.nextUpdate.toISOString()})`,
      );
      this.log(
        "apply it: send SIGHUP to paynetd (kill -HUP <pid>), or call server.runtime.reloadTls({ crl }) " +
          `with the new ${result.crlPath} in your server; refresh the list before its next update by ` +
          "running this command again",
      );
    } catch (error) {
      if (error instanceof CertFilesError) this.error(error.message, { exit: 1 });
      throw error;
    }
  }
}
