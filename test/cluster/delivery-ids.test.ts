/** The cluster's in-memory delivery ids: two different (device, key) pairs never share one. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { idOf } from "../../cluster/src/delivery-waiters.js";

describe("cluster delivery ids", () => {
  it("are one-to-one, whatever characters device ids and keys hold", () => {
    const text = fc.string({ unit: fc.constantFrom("a", ":", "\u0000", "1", "/", "é") });
    fc.assert(
      fc.property(text, text, text, text, (d1, k1, d2, k2) => {
        if (idOf(d1, k1) === idOf(d2, k2)) expect([d1, k1]).toEqual([d2, k2]);
      }),
      { numRuns: 20_000 },
    );
    // What a NUL separator made one.
    expect(idOf("a\u0000b", "c")).not.toBe(idOf("a", "b\u0000c"));
  });
});
