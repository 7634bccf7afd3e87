/**
 * Short form of the fuzz suite (runs in CI with `npm test`): 20 000 hostile frames into a live TLS
 * server while a healthy device keeps being served. The long form is test/stress/fuzz.test.ts.
 */
import { afterAll, describe, it } from "vitest";
import { makeTestPki } from "../helpers/pki.js";
import { stopAll } from "../helpers/test-server.js";
import { scaled } from "../helpers/time.js";
import { runFuzz } from "../stress/lib/fuzz.js";
import { expectFuzzSurvived } from "../stress/lib/fuzz-assertions.js";

afterAll(stopAll);

describe("fuzz (short)", () => {
  it(
    "20k mutated, random and malformed frames yield only typed errors; a healthy session is unaffected",
    async () => {
      const pki = await makeTestPki();
      const report = await runFuzz(pki, { frames: 20_000, framesPerConnection: 500, seed: 20_240_601 });
      expectFuzzSurvived(report, 20_000, 32 * 1024 * 1024);
    },
    scaled(60_000),
  );
});
