/**
 * Acceptance §7.1 (TLS): without a certificate or with a wrong one the connection is refused, in
 * both directions (the server refuses devices, the device refuses a server it cannot verify); a
 * certificate close to expiry is reported, on the server and on the device.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueDeviceFiles } from "../../src/certs/files.js";
import {
  Harness,
  LINE_TIMEOUT_MS,
  type ManagedProcess,
  type Paynetd,
  paynetcliArgs,
  paynetdArgs,
} from "./support/harness.js";

const harness = new Harness();
let certs: string;
let server: Paynetd;

beforeAll(async () => {
  certs = await harness.certs({ devices: ["SN-GOOD", "SN-WRONG-NAME"] });
  server = await harness.paynetd(paynetdArgs({ certs }));
});

afterAll(() => harness.cleanup());

/** Device arguments against the shared mTLS server, reconnecting quickly. */
function deviceArgs(sn: string, certsDir: string, extra: readonly string[] = []): string[] {
  return paynetcliArgs({ port: server.port, certs: certsDir, sn, extra });
}

describe("TLS verification (mTLS server)", () => {
  it("lets a device with a certificate from the trusted CA in (control)", async () => {
    const device = harness.paynetcli(deviceArgs("SN-GOOD", certs));
    await device.waitForLine(/online \(.*\) as dev-SN-GOOD/, LINE_TIMEOUT_MS);
    await server.process.waitForLine(/connection from .*device certificate CN=SN-GOOD/, LINE_TIMEOUT_MS);
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
    await device.waitForLine(
      /WARN hint: .*no client certificate; the server may require one \(--mtls\): put device\.crt\/device\.key in /,
      LINE_TIMEOUT_MS,
    );
    // The device keeps retrying and is refused again; it never logged in.
    await device.waitForLine(/reconnecting in/, LINE_TIMEOUT_MS);
    await server.process.waitForLine(
      /TLS refused/,
      LINE_TIMEOUT_MS,
      server.process.find(/TLS refused/, from)!.index + 1,
    );
    expect(device.count(/online \(/)).toBe(0);
    expect(server.process.find(/RegisterReq sn=SN-NOCERT/)).toBeUndefined();
    // One readable line per refusal: paynetd's own, not also the runtime's warning.
    expect(server.process.find(/runtime: peer certificate rejected/)).toBeUndefined();
    expect(device.count(/hint: /)).toBe(1);
    await device.stop("SIGINT");
  });

  it("refuses a device certificate issued by a foreign CA", async () => {
    const foreign = await harness.certs({ caCn: "foreign CA", deviceSn: "SN-FOREIGN" });
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

describe("TLS verification (device side)", () => {
  it("refuses a server whose certificate comes from a foreign CA, and keeps retrying", async () => {
    const foreign = await harness.caOnly(await harness.certs({ caCn: "foreign CA" }));
    const device = harness.paynetcli(
      deviceArgs("SN-WRONG-CA", foreign, [
        "--cert",
        join(certs, "device.crt"),
        "--key",
        join(certs, "device.key"),
      ]),
    );
    await expectRefusedServer(device, /TLS handshake failed: .*certificate/);
  });

  it("refuses a server whose certificate does not name the server (hostname mismatch)", async () => {
    const device = harness.paynetcli(deviceArgs("SN-WRONG-NAME", certs, ["--servername", "wrong.example"]));
    await expectRefusedServer(
      device,
      /TLS handshake failed: Hostname\/IP does not match certificate's altnames: Host: wrong\.example/,
    );
  });
});

/** The device logs a typed HANDSHAKE_FAILED with `reason`, retries, fails again, never logs in. */
async function expectRefusedServer(device: ManagedProcess, reason: RegExp): Promise<void> {
  const failure = new RegExp(`WARN connection problem: HANDSHAKE_FAILED ${reason.source}`);
  const first = await device.waitForLine(failure, LINE_TIMEOUT_MS);
  const retry = await device.waitForLine(/reconnecting in/, LINE_TIMEOUT_MS, first.index + 1);
  await device.waitForLine(failure, LINE_TIMEOUT_MS, retry.index + 1);
  expect(device.count(/TLS connected|online \(|RegisterReq/)).toBe(0);
  await device.stop("SIGINT");
}

describe("certificate expiry", () => {
  it("warns on both sides about a device certificate expiring within 30 days", async () => {
    const expiring = await issueDeviceFiles({ out: certs, commonName: "SN-EXPIRING", days: 5 });
    const from = server.process.lines.length;
    const device = harness.paynetcli(
      deviceArgs("SN-EXPIRING", certs, ["--cert", expiring.certPath, "--key", expiring.keyPath]),
    );
    // paynetcli, at startup, about its own certificate.
    const own = await device.waitForLine(
      /WARN device certificate \S+SN-EXPIRING\.crt \(CN=SN-EXPIRING\) expires in (\d+) day\(s\)/,
      LINE_TIMEOUT_MS,
    );
    expect(Number(own.match[1])).toBeLessThanOrEqual(5);
    // paynetd (the runtime), about the peer certificate at connection time.
    const peer = await server.process.waitForLine(
      /WARN runtime: peer certificate expires soon .*commonName=SN-EXPIRING.*daysLeft=(\d+)/,
      LINE_TIMEOUT_MS,
      from,
    );
    expect(Number(peer.match[1])).toBeLessThanOrEqual(5);
    // Still let in: a warning, not a refusal.
    await device.waitForLine(/online \(.*\) as dev-SN-EXPIRING/, LINE_TIMEOUT_MS);
    // The long-lived device certificate of the other tests gave no such warning.
    expect(server.process.find(/peer certificate expires soon.*commonName=SN-GOOD/)).toBeUndefined();
    await device.stop("SIGINT");
  });

  it("warns at startup when the server certificate expires within 30 days", async () => {
    const expiring = await harness.certs({ days: 5 });
    const soon = await harness.paynetd(["--listen", "127.0.0.1:0", "--certs", expiring], "paynetd-expiring");
    const warning = soon.process.find(/WARN server certificate \S+ \(CN=[^)]*\) expires in (\d+) day\(s\)/);
    expect(warning, soon.process.lines.join("\n")).toBeDefined();
    expect(Number(warning?.match[1])).toBeLessThanOrEqual(5);
    // The long-lived certificate of the shared server gave no such warning.
    expect(server.process.find(/server certificate .* expires in/)).toBeUndefined();
  });
});
