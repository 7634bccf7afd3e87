import { Command, Flags } from "@oclif/core";
import {
  DEFAULT_CA_DAYS,
  DEFAULT_LEAF_DAYS,
  DEMO_DEVICE_SN,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
} from "../../certs/types.js";

/** `paynet-gen certs init`: a CA plus one server and one device certificate. */
export default class CertsInit extends Command {
  static override summary = "Create a CA, a server certificate and a device certificate.";

  static override description =
    "Writes ca.crt/ca.key, server.crt/server.key (EKU serverAuth; SANs: the server CN, localhost, " +
    "127.0.0.1) and device.crt/device.key (EKU clientAuth, CN = --device-sn) into --out. Under mTLS " +
    "a device certificate acts only for the serial its CN names; issue one per further device with " +
    "`certs device SN`. Keys are PKCS#8 PEM with mode 0600; ECDSA P-256 unless --algorithm says " +
    "otherwise. Existing files are kept unless --force.";

  static override examples = [
    "<%= config.bin %> <%= command.id %>",
    "<%= config.bin %> <%= command.id %> --out certs --server-cn paynet.example.com --device-sn SN-0001",
    "<%= config.bin %> <%= command.id %> --algorithm rsa-2048 --days 365 --force",
  ];

  static override flags = {
    out: Flags.string({ description: "output directory", default: "certs" }),
    "server-cn": Flags.string({ description: "server common name (also a SAN)", default: "paynet.local" }),
    "device-sn": Flags.string({
      description: "serial number of the device (the CN of device.crt)",
      default: DEMO_DEVICE_SN,
      aliases: ["device-cn"],
    }),
    "ca-cn": Flags.string({ description: "CA common name", default: "paynet CA" }),
    algorithm: Flags.string({
      description: "key algorithm",
      options: [...KEY_ALGORITHMS],
      default: "ec-p256",
    }),
    days: Flags.integer({
      description: "server/device validity in days",
      min: 1,
      default: DEFAULT_LEAF_DAYS,
    }),
    "ca-days": Flags.integer({ description: "CA validity in days", min: 1, default: DEFAULT_CA_DAYS }),
    force: Flags.boolean({ description: "overwrite existing files", default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(CertsInit);
    // Loaded here so that other commands and --help do not pay for the X.509 stack.
    const [{ initCerts }, { CertFilesError }, { describeWritten, expiryWarning }] = await Promise.all([
      import("../../certs/files.js"),
      import("../../certs/errors.js"),
      import("../../certs/report.js"),
    ]);
    try {
      const written = await initCerts({
        out: flags.out,
        caCn: flags["ca-cn"],
        serverCn: flags["server-cn"],
        deviceSn: flags["device-sn"],
        algorithm: flags.algorithm as KeyAlgorithm,
        days: flags.days,
        caDays: flags["ca-days"],
        force: flags.force,
      });
      for (const cert of written) this.log(describeWritten(cert));
      for (const cert of written) {
        const warning = expiryWarning(cert);
        if (warning !== undefined) this.warn(warning);
      }
    } catch (error) {
      if (error instanceof CertFilesError) this.error(error.message, { exit: 1 });
      throw error;
    }
  }
}
