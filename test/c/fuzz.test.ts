/**
 * libFuzzer on the device's frame reader and dispatcher (with every decoder, the login flow and the
 * command record) for a short, bounded time: zero crashes, sanitizer reports or leaks. The long
 * form is test/stress/c-fuzz.test.ts (`npm run test:stress`).
 */
import { describe, it } from "vitest";
import { fuzzDevice } from "./support/fuzz.js";

describe("device fuzzer (short)", () => {
  it("finds nothing in 15 s from the committed seed corpus", { timeout: 240_000 }, async () => {
    await fuzzDevice(15);
  });
});
