/**
 * The uplink idempotency contract can fail: a record that lets two nodes both execute a key, or that
 * forgets the reply, is caught by it; a correct one (the contract's reference, in memory) passes.
 */
import { describe, expect, it } from "vitest";
import type { UplinkDecision, UplinkIdempotency } from "../../runtime/src/server/cluster.js";
import { uplinkIdempotencyContract } from "../../runtime/src/testing/uplink-contract.js";

/** A correct record shared by two handles, in memory (a lapsed running claim executes again). */
function memoryRecord(runningMs: number): UplinkIdempotency {
  const records = new Map<string, { runningUntil?: number; reply?: { type: number; payload: Uint8Array } }>();
  return {
    async claim(key): Promise<UplinkDecision> {
      const record = records.get(key);
      if (record === undefined || (record.runningUntil !== undefined && record.runningUntil <= Date.now())) {
        records.set(key, { runningUntil: Date.now() + runningMs });
        return { kind: "execute" };
      }
      if (record.runningUntil !== undefined) return { kind: "running" };
      return { kind: "duplicate", reply: record.reply };
    },
    async finish(key, reply) {
      records.set(
        key,
        reply === undefined ? {} : { reply: { type: reply.type, payload: Uint8Array.from(reply.payload) } },
      );
    },
  };
}

const casesFor = (make: (runningMs: number) => UplinkIdempotency) =>
  uplinkIdempotencyContract({
    open: async ({ runningMs }) => {
      const shared = make(runningMs);
      return [shared, shared] as const;
    },
    close: async () => {},
  });

describe("uplink idempotency contract", () => {
  for (const check of casesFor(memoryRecord)) it(`reference record: ${check.name}`, check.run, 30_000);

  it("catches a record that lets every claim execute", async () => {
    const racy = (runningMs: number): UplinkIdempotency => {
      const inner = memoryRecord(runningMs);
      return { claim: async () => ({ kind: "execute" }), finish: (key, reply) => inner.finish(key, reply) };
    };
    const check = casesFor(racy).find((c) => c.name.startsWith("claims racing"))!;
    await expect(check.run()).rejects.toThrow(/claims of/);
  });

  it("catches a record that forgets the reply", async () => {
    const forgetful = (runningMs: number): UplinkIdempotency => {
      const inner = memoryRecord(runningMs);
      return { claim: (key) => inner.claim(key), finish: (key) => inner.finish(key, undefined) };
    };
    const check = casesFor(forgetful).find((c) => c.name.startsWith("after finish"))!;
    await expect(check.run()).rejects.toThrow();
  });
});
