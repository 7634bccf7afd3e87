/**
 * The device fuzzer's long form: 5 minutes (30 with STRESS_LONG=1) on the frame reader, every
 * generated decoder, the login flow, the dispatcher and the command record of paybox's C SDK.
 */
import { describe, it } from "vitest";
import { fuzzDevice } from "../c/support/fuzz.js";

const SECONDS = process.env.STRESS_LONG === "1" ? 1800 : 300;

describe("device fuzzer (long)", () => {
  it(`finds nothing in ${SECONDS} s`, { timeout: (SECONDS + 300) * 1000 }, async () => {
    await fuzzDevice(SECONDS);
  });
});
