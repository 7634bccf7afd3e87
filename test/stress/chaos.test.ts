/** Chaos, full size: 1000 devices in their own process; the server process is killed and restarted. */
import { describe, it } from "vitest";
import { makeTestPki } from "../helpers/pki.js";
import { runChaos } from "./lib/chaos.js";
import { chaosSummary, expectChaosSurvived } from "./lib/chaos-assertions.js";
import { SIZES } from "./size.js";

describe("chaos", () => {
  it(`${SIZES.chaosDevices} devices survive a server kill: all back online, acked commands executed exactly once`, async () => {
    const report = await runChaos(await makeTestPki(), {
      devices: SIZES.chaosDevices,
      commands: SIZES.chaosCommands,
    });
    console.log(`chaos: ${chaosSummary(report)}`);
    expectChaosSurvived(report);
  });
});
