/**
 * Short form of the device chaos suite (CI): a real device process with its durable record of
 * executed commands, SIGKILLed 4 times at chosen moments while it executes 40 at-least-once
 * CoinCommands. Long form: test/stress/device-chaos.test.ts.
 */
import { describe, it } from "vitest";
import { makeTestPki } from "../helpers/pki.js";
import { scaled } from "../helpers/time.js";
import { runDeviceChaos } from "../stress/lib/device-chaos.js";
import { deviceChaosSummary, expectDeviceChaosSurvived } from "../stress/lib/device-chaos-assertions.js";

describe("device chaos (short)", () => {
  it(
    "a device killed mid-execution runs every order at most once and every order ends with a final reply",
    async () => {
      const report = await runDeviceChaos(await makeTestPki(), { orders: 40, kills: 4, maxEntries: 16 });
      console.log(`device chaos (short): ${deviceChaosSummary(report)}`);
      expectDeviceChaosSurvived(report, 4);
    },
    scaled(180_000),
  );
});
