/**
 * Short form of the soak suite (CI): 100 devices for 8 s of mixed traffic with dropped sessions; the
 * server's memory after GC must return near its start. Long form: test/stress/soak.test.ts.
 */
import { describe, it } from "vitest";
import { makeTestPki } from "../helpers/pki.js";
import { scaled } from "../helpers/time.js";
import { runSoak } from "../stress/lib/soak.js";
import { expectSoakHealthy, soakSummary } from "../stress/lib/soak-assertions.js";

describe("soak (short)", () => {
  it(
    "mixed traffic with reconnects: every command acked once, memory bounded",
    async () => {
      const report = await runSoak(await makeTestPki(), { devices: 100, durationMs: 8_000 });
      console.log(`soak (short): ${soakSummary(report)}`);
      expectSoakHealthy(report);
    },
    scaled(60_000),
  );
});
