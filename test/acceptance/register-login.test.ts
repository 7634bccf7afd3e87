/**
 * Acceptance §7.2 (register / login): the first registration succeeds, a repeated one is answered
 * ("already registered", same device id), and the login state is recovered after a reconnect.
 */
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ResultCode } from "../../examples/sdk/index.js";
import { Harness, LINE_TIMEOUT_MS, paynetcliArgs, paynetdArgs } from "./support/harness.js";
import { startSdkDevice } from "./support/sdk-device.js";

let harness: Harness;
let certs: string;
let statePath: string;

beforeEach(async () => {
  harness = new Harness();
  certs = await harness.certs({ devices: ["SN-REG", "SN-BADTOKEN", "SN-LOGIN"] });
  statePath = join(await harness.tempDir(), "paynetd-state.json");
});

afterEach(() => harness.cleanup());

function serverArgs(port: number): string[] {
  return paynetdArgs({ port, certs, state: statePath });
}

function deviceArgs(port: number, sn: string, extra: readonly string[] = []): string[] {
  return paynetcliArgs({ port, certs, sn, extra });
}

describe("registration", () => {
  it("registers a new device, and answers a repeated registration with the same id", async () => {
    const server = await harness.paynetd(serverArgs(0));
    const first = harness.paynetcli(deviceArgs(server.port, "SN-REG"));
    await first.waitForLine(/<- RegisterRsp OK device_id=dev-SN-REG "registered"/, LINE_TIMEOUT_MS);
    await first.waitForLine(/online \(.*\) as dev-SN-REG/, LINE_TIMEOUT_MS);
    await first.stop("SIGINT");

    const again = harness.paynetcli(deviceArgs(server.port, "SN-REG"));
    await again.waitForLine(/<- RegisterRsp OK device_id=dev-SN-REG "already registered"/, LINE_TIMEOUT_MS);
    await again.waitForLine(/online \(.*\) as dev-SN-REG/, LINE_TIMEOUT_MS);
    expect(server.process.count(/-> RegisterRsp OK device_id=dev-SN-REG "registered"/)).toBe(1);
    expect(server.process.count(/-> RegisterRsp OK device_id=dev-SN-REG "already registered"/)).toBe(1);
  });
});

describe("login", () => {
  it("refuses a wrong token with UNAUTHORIZED and keeps the device offline", async () => {
    const server = await harness.paynetd(serverArgs(0));
    const device = harness.paynetcli(deviceArgs(server.port, "SN-BADTOKEN", ["--token", "not-the-token"]));
    await device.waitForLine(/<- LoginRsp UNAUTHORIZED "invalid token"/, LINE_TIMEOUT_MS);
    await device.waitForLine(/login refused: LOGIN_REFUSED/, LINE_TIMEOUT_MS);
    // The device retries on a new connection; the refused one ends without ever having been online.
    await server.process.waitForLine(
      /disconnected 127\.0\.0\.1:\d+ \(never logged in\): CONNECTION_CLOSED/,
      LINE_TIMEOUT_MS,
    );
    expect(device.count(/online \(/)).toBe(0);
    expect(server.process.find(/online dev-SN-BADTOKEN/)).toBeUndefined();
    expect(server.process.find(/offline /)).toBeUndefined();
  });

  it("refuses an unregistered device id with UNAUTHORIZED", async () => {
    const server = await harness.paynetd(serverArgs(0));
    // The certificate of `certs init` (SN-DEMO-001), which never registered on this server.
    const stranger = await startSdkDevice({ port: server.port, certsDir: certs, loginAs: "dev-NOBODY" });
    try {
      await expect(stranger.online).rejects.toMatchObject({ code: "LOGIN_REFUSED" });
      expect(stranger.loginReplies).toEqual([
        expect.objectContaining({
          code: ResultCode.UNAUTHORIZED,
          msg: 'no device id is registered for the certificate\'s device "SN-DEMO-001"; register first',
        }),
      ]);
    } finally {
      await stranger.client.stop();
    }
    await server.process.waitForLine(
      /WARN login as "dev-NOBODY" refused: no device id is registered for the certificate's device "SN-DEMO-001"; register first \[certificate CN=SN-DEMO-001 sha256=[0-9A-F:]+\]/,
      LINE_TIMEOUT_MS,
    );
    await server.process.waitForLine(/disconnected 127\.0\.0\.1:\d+ \(never logged in\)/, LINE_TIMEOUT_MS);
    expect(server.process.find(/online dev-NOBODY|offline /)).toBeUndefined();
  });

  it("recovers the login state after the server restarts: the device is online again by itself", async () => {
    const server = await harness.paynetd(serverArgs(0));
    const device = harness.paynetcli(deviceArgs(server.port, "SN-LOGIN"));
    await device.waitForLine(/online \(.*\) as dev-SN-LOGIN/, LINE_TIMEOUT_MS);
    await server.process.waitForLine(/online dev-SN-LOGIN/, LINE_TIMEOUT_MS);

    const before = device.lines.length;
    await server.process.stop("SIGTERM");
    const restarted = await harness.paynetd(serverArgs(server.port), "paynetd-restarted");
    await device.waitForLine(/offline: /, LINE_TIMEOUT_MS, before);
    await device.waitForLine(/online \(.*\) as dev-SN-LOGIN/, LINE_TIMEOUT_MS, before);
    await restarted.process.waitForLine(/-> LoginRsp OK device_id=dev-SN-LOGIN/, LINE_TIMEOUT_MS);
    await restarted.process.waitForLine(/online dev-SN-LOGIN/, LINE_TIMEOUT_MS);
    // The restarted server remembered the registration.
    expect(
      restarted.process.find(/RegisterRsp OK device_id=dev-SN-LOGIN "already registered"/),
    ).toBeDefined();
    expect(device.running).toBe(true);
  });
});
