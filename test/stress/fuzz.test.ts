/** Fuzz, full size: ≥ 1M hostile frames into a live TLS server (5M with STRESS_LONG=1). */
import { describe, it } from "vitest";
import { makeTestPki } from "../helpers/pki.js";
import { runFuzz } from "./lib/fuzz.js";
import { expectFuzzSurvived } from "./lib/fuzz-assertions.js";
import { SIZES } from "./size.js";

describe("fuzz", () => {
  it(`${SIZES.fuzzFrames} mutated, random and malformed frames: typed errors only, healthy session served, memory bounded`, async () => {
    const report = await runFuzz(await makeTestPki(), {
      frames: SIZES.fuzzFrames,
      framesPerConnection: 2_000,
      parallel: 4,
    });
    console.log(`fuzz: ${JSON.stringify({ ...report, byKind: report.byKind })}`);
    expectFuzzSurvived(report, SIZES.fuzzFrames, 64 * 1024 * 1024);
  });
});
