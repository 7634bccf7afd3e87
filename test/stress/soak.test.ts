/** Soak, full size: 60 s (5 min with STRESS_LONG=1) of mixed traffic on 1000 sessions with reconnects. */
import { describe, it } from "vitest";
import { makeTestPki } from "../helpers/pki.js";
import { runSoak } from "./lib/soak.js";
import { expectSoakHealthy, soakSummary } from "./lib/soak-assertions.js";
import { SIZES } from "./size.js";

describe("soak", () => {
  it(`${SIZES.soakDevices} sessions, ${SIZES.soakDurationMs / 1000} s: every command acked once, memory back near the start`, async () => {
    const report = await runSoak(await makeTestPki(), {
      devices: SIZES.soakDevices,
      durationMs: SIZES.soakDurationMs,
    });
    console.log(`soak: ${soakSummary(report)}`);
    expectSoakHealthy(report);
  });
});
