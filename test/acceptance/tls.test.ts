/**
 * Acceptance §7.1 (TLS): without a certificate or with a wrong one the connection is refused; a
 * certificate close to expiry is reported.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Harness, LINE_TIMEOUT_MS, type Paynetd } from "./support/harness.js";

const harness = new Harness();
let certs: string;
let server: Paynetd;

beforeAll(async () => {
  certs = await harness.certs();
  server = await harness.paynetd([
    "--listen",
    "127.0.0.1:0",
    "--certs",
    certs,
    "--mtls",
    "--command-coins",
    "0",
  ]);
});

afterAll(() => harness.cleanup());

/** Device arguments against the shared mTLS server, reconnecting quickly. */
function deviceArgs(sn: string, certsDir: string, extra: readonly string[] = []): string[] {
  const connect = `127.0.0.1:${server.port}`;
  return [
    "--connect",
    connect,
    "--certs",
    certsDir,
    "--sn",
    sn,
    "--backoff-initial",
    "0.2",
    "--backoff-max",
    "0.5",
    ...extra,
  ];
}

describe("TLS verification (mTLS server)", () => {
  it("lets a device with a certificate from the trusted CA in (control)", async () => {
    const device = harness.paynetcli(deviceArgs("SN-GOOD", certs));
    await device.waitForLine(/online \(.*\) as dev-SN-GOOD/, LINE_TIMEOUT_MS);
    await server.process.waitForLine(/connection from .*device certificate CN=device-001/, LINE_TIMEOUT_MS);
    await device.stop("SIGINT");
  });

  it("refuses a device that presents no client certificate", async () => {
    const from = server.process.lines.length;
    const device = harness.paynetcli(deviceArgs("SN-NOCERT", await harness.caOnly(certs)));
    await server.process.waitForLine(
      /TLS refused 127\.0\.0\.1:\d+: .*no client certificate/,
      LINE_TIMEOUT_MS,
      from,
    );
    await device.waitForLine(/connection problem: /, LINE_TIMEOUT_MS);
    // The device keeps retrying and is refused again; it never logged in.
    await device.waitForLine(/reconnecting in/, LINE_TIMEOUT_MS);
    await server.process.waitForLine(
      /TLS refused/,
      LINE_TIMEOUT_MS,
      server.process.find(/TLS refused/, from)!.index + 1,
    );
    expect(device.count(/online \(/)).toBe(0);
    expect(server.process.find(/RegisterReq sn=SN-NOCERT/)).toBeUndefined();
    await device.stop("SIGINT");
  });

  it("refuses a device certificate issued by a foreign CA", async () => {
    const foreign = await harness.certs({ caCn: "foreign CA", deviceCn: "device-001" });
    const from = server.process.lines.length;
    const device = harness.paynetcli(
      deviceArgs("SN-FOREIGN", certs, [
        "--cert",
        join(foreign, "device.crt"),
        "--key",
        join(foreign, "device.key"),
      ]),
    );
    await server.process.waitForLine(/TLS refused 127\.0\.0\.1:\d+/, LINE_TIMEOUT_MS, from);
    await device.waitForLine(/reconnecting in/, LINE_TIMEOUT_MS);
    expect(device.count(/online \(/)).toBe(0);
    expect(server.process.find(/RegisterReq sn=SN-FOREIGN/)).toBeUndefined();
    await device.stop("SIGINT");
  });
});

describe("certificate expiry", () => {
  it("warns at startup when the server certificate expires within 30 days", async () => {
    const expiring = await harness.certs({ days: 5 });
    const soon = await harness.paynetd(["--listen", "127.0.0.1:0", "--certs", expiring], "paynetd-expiring");
    const warning = soon.process.find(/WARN .*server certificate expires soon.*daysLeft=(\d+)/);
    expect(warning, soon.process.lines.join("\n")).toBeDefined();
    expect(Number(warning?.match[1])).toBeLessThanOrEqual(5);
    // The long-lived certificate of the shared server gave no such warning.
    expect(server.process.find(/expires soon/)).toBeUndefined();
  });
});
