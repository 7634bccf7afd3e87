/**
 * The contract every {@link IdempotencyStore} honours, as a reusable suite: the memory store and the
 * file store run it, and so must any other (a device with its own storage, say).
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { IdempotencyGuard } from "../delivery/idempotency.js";
import type { IdempotencyRecord, IdempotencyStore } from "../delivery/types.js";
import type { ContractCase } from "./contract.js";

/** Bounds and clock a contract case opens a store with. */
export interface IdempotencyStoreSettings {
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly now: () => number;
}

/** How the contract gets stores of the implementation under test. */
export interface IdempotencyStoreFactory {
  /** A fresh, empty store. */
  open(settings: IdempotencyStoreSettings): Promise<IdempotencyStore>;
  /** Releases a store (close files, drop connections). */
  close(store: IdempotencyStore): Promise<void>;
  /**
   * For persistent stores: closes `store` and opens the same data again, as a restarted process
   * would. Omit it for a store that forgets on restart (the persistence cases are then skipped).
   */
  reopen?(store: IdempotencyStore, settings: IdempotencyStoreSettings): Promise<IdempotencyStore>;
}

const reply = (type: number, ...bytes: number[]) => ({ type, payload: Uint8Array.from(bytes) });

/** The contract's cases for `factory`'s stores. */
export function idempotencyStoreContract(factory: IdempotencyStoreFactory): ContractCase[] {
  const settings = (overrides: Partial<IdempotencyStoreSettings> = {}): IdempotencyStoreSettings => ({
    maxEntries: 100,
    ttlMs: 60_000,
    now: Date.now,
    ...overrides,
  });
  const withStore =
    (
      // A persistence case returns the store it reopened, so that one is closed at the end.
      // biome-ignore lint/suspicious/noConfusingVoidType: most cases return nothing
      run: (store: IdempotencyStore) => Promise<IdempotencyStore | void>,
      options?: Partial<IdempotencyStoreSettings>,
    ) =>
    async () => {
      let store = await factory.open(settings(options));
      try {
        store = (await run(store)) ?? store;
      } finally {
        await factory.close(store);
      }
    };
  const cases: ContractCase[] = [
    {
      name: "an unknown key has no record",
      run: withStore(async (store) => {
        strictEqual(await store.get("paybox.CoinCommand/none"), undefined);
      }),
    },
    {
      name: "a record reads back as written, replies byte for byte, and a later set replaces it",
      run: withStore(async (store) => {
        const first: IdempotencyRecord = { replies: [], done: false };
        await store.set("paybox.CoinCommand/A-1", first);
        deepStrictEqual(await store.get("paybox.CoinCommand/A-1"), first);
        const second: IdempotencyRecord = {
          replies: [reply(0x84, 1, 2), reply(0x84, 0, 255)],
          done: true,
          failed: "handler failed: jam",
        };
        await store.set("paybox.CoinCommand/A-1", second);
        deepStrictEqual(await store.get("paybox.CoinCommand/A-1"), second);
      }),
    },
    {
      name: "keys are exact: the same correlation value of two messages is two records",
      run: withStore(async (store) => {
        await store.set("paybox.CoinCommand/A-1", { replies: [reply(0x84, 1)], done: true });
        strictEqual(await store.get("paybox.RefundCommand/A-1"), undefined);
        await store.set("paybox.RefundCommand/A-1", { replies: [reply(0x86, 2)], done: false });
        deepStrictEqual((await store.get("paybox.CoinCommand/A-1"))?.replies, [reply(0x84, 1)]);
        deepStrictEqual((await store.get("paybox.RefundCommand/A-1"))?.replies, [reply(0x86, 2)]);
        strictEqual(await store.get("paybox.CoinCommand/a-1"), undefined);
      }),
    },
    {
      name: "the record is a copy: changing what was passed to set() afterwards changes nothing",
      run: withStore(async (store) => {
        const payload = Uint8Array.of(7);
        const replies = [{ type: 0x84, payload }];
        await store.set("k/1", { replies, done: false });
        payload[0] = 9;
        replies.push(reply(0x84, 8));
        deepStrictEqual(await store.get("k/1"), { replies: [reply(0x84, 7)], done: false });
      }),
    },
    {
      name: "bounded by count: beyond maxEntries the oldest keys are forgotten, the newest kept",
      run: withStore(
        async (store) => {
          for (let i = 0; i < 5; i++) await store.set(`k/${i}`, { replies: [], done: true });
          strictEqual(await store.get("k/0"), undefined);
          strictEqual(await store.get("k/1"), undefined);
          for (const i of [2, 3, 4]) strictEqual((await store.get(`k/${i}`))?.done, true);
        },
        { maxEntries: 3 },
      ),
    },
    (() => {
      let now = 1_000_000;
      return {
        name: "bounded by age: a key is forgotten ttlMs after its last update",
        run: withStore(
          async (store) => {
            await store.set("k/old", { replies: [], done: true });
            now += 500;
            await store.set("k/young", { replies: [], done: false });
            now += 499;
            strictEqual((await store.get("k/old"))?.done, true);
            now += 1;
            strictEqual(await store.get("k/old"), undefined);
            strictEqual((await store.get("k/young"))?.done, false);
          },
          { ttlMs: 1_000, now: () => now },
        ),
      };
    })(),
    {
      name: "the guard on top: one claim executes, concurrent duplicates do not",
      run: withStore(async (store) => {
        const guard = new IdempotencyGuard(store);
        const decisions = await Promise.all([guard.claim("k/c"), guard.claim("k/c"), guard.claim("k/c")]);
        strictEqual(decisions.filter((d) => d.kind === "execute").length, 1);
        await guard.finish("k/c", { reply: reply(0x84, 2) });
        deepStrictEqual(await guard.claim("k/c"), {
          kind: "duplicate",
          lastReply: reply(0x84, 2),
          running: false,
        });
      }),
    },
  ];
  const reopen = factory.reopen;
  if (reopen !== undefined) {
    cases.push(
      {
        name: "persistent: records survive a restart, finished and unfinished alike",
        run: withStore(async (store) => {
          await store.set("k/done", { replies: [reply(0x84, 2)], done: true });
          await store.set("k/failed", { replies: [], done: true, failed: "handler failed: jam" });
          await store.set("k/running", { replies: [reply(0x84, 0)], done: false });
          const reopened = await reopen(store, settings());
          deepStrictEqual(await reopened.get("k/done"), { replies: [reply(0x84, 2)], done: true });
          deepStrictEqual(await reopened.get("k/failed"), {
            replies: [],
            done: true,
            failed: "handler failed: jam",
          });
          deepStrictEqual(await reopened.get("k/running"), { replies: [reply(0x84, 0)], done: false });
          return reopened;
        }),
      },
      {
        name: "persistent: a command claimed before a restart and never finished is interrupted after it",
        run: withStore(async (store) => {
          const guard = new IdempotencyGuard(store);
          strictEqual((await guard.claim("k/i")).kind, "execute");
          await guard.record("k/i", reply(0x84, 0));
          const reopened = await reopen(store, settings());
          const after = new IdempotencyGuard(reopened);
          deepStrictEqual(await after.claim("k/i"), { kind: "interrupted", lastReply: reply(0x84, 0) });
          await after.markInterrupted("k/i", "interrupted", reply(0x84, 3));
          const again = await reopen(reopened, settings());
          deepStrictEqual(await new IdempotencyGuard(again).claim("k/i"), {
            kind: "duplicate",
            lastReply: reply(0x84, 3),
            failed: "interrupted",
            running: false,
          });
          return again;
        }),
      },
      {
        name: "persistent: the bounds hold across a restart",
        run: withStore(
          async (store) => {
            for (let i = 0; i < 6; i++) await store.set(`k/${i}`, { replies: [], done: true });
            const reopened = await reopen(store, settings({ maxEntries: 4 }));
            strictEqual(await reopened.get("k/1"), undefined);
            for (const i of [2, 3, 4, 5]) strictEqual((await reopened.get(`k/${i}`))?.done, true);
            return reopened;
          },
          { maxEntries: 4 },
        ),
      },
    );
  }
  return cases;
}
