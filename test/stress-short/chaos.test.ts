/**
 * Short form of the chaos suite (CI): 100 devices in their own process, the server process killed
 * mid-flow and restarted, then every session dropped with commands in flight. Long form (1000
 * devices): test/stress/chaos.test.ts.
 */
import { describe, it } from "vitest";
import { makeTestPki } from "../helpers/pki.js";
import { scaled } from "../helpers/time.js";
import { runChaos } from "../stress/lib/chaos.js";
import { chaosSummary, expectChaosSurvived } from "../stress/lib/chaos-assertions.js";

describe("chaos (short)", () => {
  it(
    "a killed and restarted server: the fleet returns, acknowledged commands ran exactly once",
    async () => {
      const report = await runChaos(await makeTestPki(), { devices: 100, commands: 200 });
      console.log(`chaos (short): ${chaosSummary(report)}`);
      expectChaosSurvived(report);
    },
    scaled(60_000),
  );
});
