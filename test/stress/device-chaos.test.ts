/**
 * Device chaos, full size: 200 at-least-once CoinCommands to a device process that is SIGKILLed 12
 * times (before, during and after executing a command, and at random) and restarted on its journal.
 */
import { describe, expect, it } from "vitest";
import { makeTestPki } from "../helpers/pki.js";
import { runDeviceChaos } from "./lib/device-chaos.js";
import { deviceChaosSummary, expectDeviceChaosSurvived } from "./lib/device-chaos-assertions.js";
import { LONG } from "./size.js";

describe("device chaos", () => {
  it("200 orders through 12 device kills: each executed at most once, each ended with a final reply, none lost", async () => {
    const report = await runDeviceChaos(await makeTestPki(), {
      orders: LONG ? 1_000 : 200,
      kills: LONG ? 40 : 12,
    });
    console.log(`device chaos: ${deviceChaosSummary(report)}`);
    expectDeviceChaosSurvived(report, 10);
    // With a dozen kills aimed mostly at commands in progress, some command was interrupted.
    expect([...report.finals.values()].some((ack) => ack.error.startsWith("interrupted"))).toBe(true);
  });
});
