/**
 * Identity binding end to end (issue 10), against a real `paynetd --mtls`: a device holding the
 * certificate of one device (CN `SN-ATTACK`) cannot register as another (`SN-VICTIM`) nor log in
 * as its id (`dev-SN-VICTIM`). It gets the refusal reply, paynetd logs one line naming peer, claim
 * and certificate, the victim's session stays untouched, and its CoinCommands reach only it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResultCode } from "../../examples/sdk/index.js";
import {
  Harness,
  LINE_TIMEOUT_MS,
  type ManagedProcess,
  type Paynetd,
  paynetcliArgs,
  paynetdArgs,
  postJson,
} from "./support/harness.js";
import { startSdkDevice } from "./support/sdk-device.js";

const harness = new Harness();
let certs: string;
let server: Paynetd;
let victim: ManagedProcess;

beforeAll(async () => {
  certs = await harness.certs({ devices: ["SN-VICTIM", "SN-ATTACK"] });
  server = await harness.paynetd(paynetdArgs({ certs, admin: true }));
  victim = harness.paynetcli(paynetcliArgs({ port: server.port, certs, sn: "SN-VICTIM", coinMs: 20 }));
  await victim.waitForLine(/online \(.*\) as dev-SN-VICTIM/, LINE_TIMEOUT_MS);
}, 120_000);

afterAll(() => harness.cleanup());

/** The victim is still online on its first session: no offline, no second login. */
function expectVictimUntouched(): void {
  expect(victim.find(/offline: /)).toBeUndefined();
  expect(victim.count(/online \(/)).toBe(1);
  expect(server.process.find(/offline dev-SN-VICTIM/)).toBeUndefined();
  expect(server.process.count(/online dev-SN-VICTIM/)).toBe(1);
}

describe("a certificate acts only for the device it names (paynetd --mtls)", () => {
  it("refuses registering as another device's serial", async () => {
    const from = server.process.lines.length;
    const attacker = await startSdkDevice({
      port: server.port,
      certsDir: certs,
      sn: "SN-VICTIM",
      certName: "SN-ATTACK",
    });
    try {
      await expect(attacker.online).rejects.toMatchObject({ code: "LOGIN_REFUSED" });
      expect(attacker.registerReplies).toEqual([
        expect.objectContaining({
          code: ResultCode.UNAUTHORIZED,
          msg: 'the certificate names device "SN-ATTACK", not "SN-VICTIM"',
          deviceId: "",
        }),
      ]);
      expect(attacker.loginReplies).toEqual([]);
    } finally {
      await attacker.client.stop();
    }
    const refusal = await server.process.waitForLine(
      /WARN register as "SN-VICTIM" refused: the certificate names device "SN-ATTACK", not "SN-VICTIM" \[certificate CN=SN-ATTACK sha256=([0-9A-F:]{95})\] \(peer 127\.0\.0\.1:\d+/,
      LINE_TIMEOUT_MS,
      from,
    );
    // One warning about it (not also the runtime's own); the register handler never ran.
    const later = server.process.lines.slice(from);
    expect(
      later.filter((line) => /WARN .*refused: the certificate names device "SN-ATTACK"/.test(line)),
    ).toHaveLength(1);
    expect(server.process.find(/<- RegisterReq sn=SN-VICTIM .*from/, from)).toBeUndefined();
    expect(refusal.match[1]).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expectVictimUntouched();
  });

  it("refuses logging in as another device's id, even after registering its own serial", async () => {
    const from = server.process.lines.length;
    const attacker = await startSdkDevice({
      port: server.port,
      certsDir: certs,
      sn: "SN-ATTACK",
      loginAs: "dev-SN-VICTIM",
    });
    try {
      await expect(attacker.online).rejects.toMatchObject({ code: "LOGIN_REFUSED" });
      expect(attacker.registerReplies).toEqual([
        expect.objectContaining({ code: ResultCode.OK, deviceId: "dev-SN-ATTACK" }),
      ]);
      expect(attacker.loginReplies).toEqual([
        expect.objectContaining({
          code: ResultCode.UNAUTHORIZED,
          msg: 'the certificate names device "SN-ATTACK", registered as "dev-SN-ATTACK", not "dev-SN-VICTIM"',
        }),
      ]);
    } finally {
      await attacker.client.stop();
    }
    await server.process.waitForLine(
      /WARN login as "dev-SN-VICTIM" refused: .* \[certificate CN=SN-ATTACK sha256=[0-9A-F:]{95}\] \(peer 127\.0\.0\.1:\d+/,
      LINE_TIMEOUT_MS,
      from,
    );
    expect(server.process.find(/-> LoginRsp OK device_id=dev-SN-VICTIM/, from)).toBeUndefined();
    expectVictimUntouched();
  });

  it("delivers the victim's CoinCommand to the victim only, with the attacker connected", async () => {
    const attacker = await startSdkDevice({ port: server.port, certsDir: certs, sn: "SN-ATTACK" });
    try {
      await attacker.online;
      const { status } = await postJson(
        server,
        "/devices/dev-SN-VICTIM/coin",
        JSON.stringify({ order_id: "ORD-VICTIM", coins: 2 }),
      );
      expect(status).toBe(200);
      await victim.waitForLine(/<- CoinCommand order=ORD-VICTIM coins=2/, LINE_TIMEOUT_MS);
      await server.process.waitForLine(
        /<- CoinAck dev-SN-VICTIM order=ORD-VICTIM state=DONE/,
        LINE_TIMEOUT_MS,
      );
      expect(attacker.commands).toEqual([]);
      expect(victim.count(/executing order ORD-VICTIM:/)).toBe(1);
    } finally {
      await attacker.client.stop();
    }
    expectVictimUntouched();
  });
});
