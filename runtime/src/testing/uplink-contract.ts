/**
 * The contract every {@link UplinkIdempotency} (a cluster's record of correlated uplink requests)
 * honours, as a reusable suite: the Redis cluster's runs it, and so must any other. It is written for
 * a record several server nodes share: the factory hands out two handles on the same data, used as
 * two nodes would.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { UplinkDecision, UplinkIdempotency } from "../server/cluster.js";
import type { ContractCase } from "./contract.js";

/** How the contract gets records of the implementation under test. */
export interface UplinkIdempotencyFactory {
  /**
   * Fresh, empty data and two handles on it, as two nodes hold them. A key claimed for execution
   * whose runner never finishes (its node died) may be executed again after `runningMs`.
   */
  open(settings: { readonly runningMs: number }): Promise<readonly [UplinkIdempotency, UplinkIdempotency]>;
  /** Releases what `open` made. */
  close(handles: readonly [UplinkIdempotency, UplinkIdempotency]): Promise<void>;
}

const reply = (type: number, ...bytes: number[]) => ({ type, payload: Uint8Array.from(bytes) });

/** A decision with its reply's bytes as a plain array, for deep comparison. */
function plain(decision: UplinkDecision): unknown {
  if (decision.kind !== "duplicate" || decision.reply === undefined) return decision;
  return { kind: "duplicate", reply: { type: decision.reply.type, payload: [...decision.reply.payload] } };
}

/** The contract's cases for `factory`'s records. */
export function uplinkIdempotencyContract(factory: UplinkIdempotencyFactory): ContractCase[] {
  const withPair =
    (
      run: (a: UplinkIdempotency, b: UplinkIdempotency) => Promise<void>,
      runningMs = 60_000,
    ): (() => Promise<void>) =>
    async () => {
      const handles = await factory.open({ runningMs });
      try {
        await run(handles[0], handles[1]);
      } finally {
        await factory.close(handles);
      }
    };
  return [
    {
      name: "the first claim of a key executes; a copy on another node while it runs is told running",
      run: withPair(async (a, b) => {
        deepStrictEqual(await a.claim("dev-1/Pay/K1"), { kind: "execute" });
        deepStrictEqual(await b.claim("dev-1/Pay/K1"), { kind: "running" });
        deepStrictEqual(await a.claim("dev-1/Pay/K1"), { kind: "running" });
      }),
    },
    {
      name: "after finish, every copy on any node is a duplicate answered with the recorded reply",
      run: withPair(async (a, b) => {
        await a.claim("dev-1/Pay/K2");
        await a.finish("dev-1/Pay/K2", reply(0x85, 1, 2, 3));
        const expected = { kind: "duplicate", reply: { type: 0x85, payload: [1, 2, 3] } };
        deepStrictEqual(plain(await b.claim("dev-1/Pay/K2")), expected);
        deepStrictEqual(plain(await a.claim("dev-1/Pay/K2")), expected);
        deepStrictEqual(plain(await b.claim("dev-1/Pay/K2")), expected);
      }),
    },
    {
      name: "a handler that answered nothing, or threw, is not run again: duplicates get no reply",
      run: withPair(async (a, b) => {
        await a.claim("dev-1/Pay/silent");
        await a.finish("dev-1/Pay/silent", undefined);
        deepStrictEqual(await b.claim("dev-1/Pay/silent"), { kind: "duplicate", reply: undefined });
        await b.claim("dev-1/Pay/threw");
        await b.finish("dev-1/Pay/threw", undefined, "handler threw: out of coins");
        deepStrictEqual(await a.claim("dev-1/Pay/threw"), { kind: "duplicate", reply: undefined });
      }),
    },
    {
      name: "claims racing on two nodes: exactly one executes per key (x100)",
      run: withPair(async (a, b) => {
        const keys = Array.from({ length: 100 }, (_, i) => `dev-${i % 7}/Pay/race-${i}`);
        const decisions = await Promise.all(keys.flatMap((key) => [a.claim(key), b.claim(key)]));
        for (let i = 0; i < keys.length; i++) {
          const kinds = [decisions[2 * i]!.kind, decisions[2 * i + 1]!.kind].sort();
          deepStrictEqual(kinds, ["execute", "running"], `claims of ${keys[i]}`);
        }
      }),
    },
    {
      name: "keys are independent: the same correlation value under two keys executes twice",
      run: withPair(async (a, b) => {
        deepStrictEqual(await a.claim("dev-1/Pay/same"), { kind: "execute" });
        deepStrictEqual(await b.claim("dev-2/Pay/same"), { kind: "execute" });
        deepStrictEqual(await b.claim("dev-1/Refund/same"), { kind: "execute" });
      }),
    },
    {
      name: "a recorded reply keeps every byte (0..255, empty) and its Type",
      run: withPair(async (a, b) => {
        const bytes = Array.from({ length: 256 }, (_, i) => i);
        await a.claim("dev-1/Pay/bytes");
        await a.finish("dev-1/Pay/bytes", reply(0xff, ...bytes));
        deepStrictEqual(plain(await b.claim("dev-1/Pay/bytes")), {
          kind: "duplicate",
          reply: { type: 0xff, payload: bytes },
        });
        await a.claim("dev-1/Pay/empty");
        await a.finish("dev-1/Pay/empty", reply(0x81));
        deepStrictEqual(plain(await b.claim("dev-1/Pay/empty")), {
          kind: "duplicate",
          reply: { type: 0x81, payload: [] },
        });
      }),
    },
    {
      name: "a claim whose node died (never finished) executes again on another node after runningMs, once",
      run: withPair(async (a, b) => {
        deepStrictEqual(await a.claim("dev-1/Pay/orphan"), { kind: "execute" });
        deepStrictEqual(await b.claim("dev-1/Pay/orphan"), { kind: "running" });
        // Node A is gone. Node B's copies are dropped until the claim lapses, then one executes.
        let decision: UplinkDecision = { kind: "running" };
        const deadline = Date.now() + 30_000;
        while (decision.kind === "running" && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          decision = await b.claim("dev-1/Pay/orphan");
        }
        strictEqual(decision.kind, "execute", "the lapsed claim executes again");
        const [again, third] = await Promise.all([a.claim("dev-1/Pay/orphan"), b.claim("dev-1/Pay/orphan")]);
        ok(again.kind === "running" && third.kind === "running", "and only once");
        await b.finish("dev-1/Pay/orphan", reply(0x85, 9));
        deepStrictEqual(plain(await a.claim("dev-1/Pay/orphan")), {
          kind: "duplicate",
          reply: { type: 0x85, payload: [9] },
        });
      }, 300),
    },
  ];
}
