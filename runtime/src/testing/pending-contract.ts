/**
 * The contract every {@link PendingDeliveryStore} honours, as a reusable suite: the memory store runs
 * it, and so must a shared or persistent one. It is written for a store that two processes share (or
 * that outlives a restart): the factory hands out two handles on the same data, and the delivery
 * engine is run on each as two servers would.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { MessageDef, RequestSpec } from "../codec.js";
import { DeliveryManager } from "../delivery/pending.js";
import type { PendingDelivery, PendingDeliveryStore } from "../delivery/types.js";
import { ServerStoppedError } from "../errors.js";
import { silentLogger } from "../logger.js";
import type { ContractCase } from "./contract.js";

/** How the contract gets stores of the implementation under test. */
export interface PendingDeliveryStoreFactory {
  /**
   * Fresh, empty data and two handles on it: as two processes sharing it would hold them (the memory
   * store gives the same instance twice).
   */
  open(): Promise<readonly [PendingDeliveryStore, PendingDeliveryStore]>;
  /** Releases what `open` made. */
  close(stores: readonly [PendingDeliveryStore, PendingDeliveryStore]): Promise<void>;
}

interface Order {
  id: string;
  coins: number;
}
interface Ack {
  id: string;
  state: "ACCEPTED" | "DONE";
}
const json = <T>(type: number, name: string): MessageDef<T> => ({
  type,
  name,
  codec: {
    encode: (message) => Buffer.from(JSON.stringify(message)),
    decode: (bytes) => JSON.parse(Buffer.from(bytes).toString("utf8")) as T,
  },
});
const orderSpec: RequestSpec<Order, Ack> = {
  request: json<Order>(0x04, "contract.Order"),
  reply: json<Ack>(0x84, "contract.Ack"),
  requestKey: (order) => order.id,
  replyKey: (ack) => ack.id,
  isFinal: (ack) => ack.state === "DONE",
};
const refundSpec: RequestSpec<Order, Ack> = {
  ...orderSpec,
  request: json<Order>(0x06, "contract.Refund"),
  reply: json<Ack>(0x86, "contract.RefundAck"),
};

/** A delivery engine on `store`, as one server process runs it; `sent` records what went out. */
function engine(store: PendingDeliveryStore, online = true) {
  const sent: Array<{ deviceId: string; type: number; payload: string }> = [];
  const manager = new DeliveryManager({
    store,
    specs: [orderSpec, refundSpec],
    logger: silentLogger,
    transport: {
      sendFrame: (deviceId, type, payload) => {
        if (!online) return false;
        sent.push({ deviceId, type, payload: Buffer.from(payload).toString("utf8") });
        return true;
      },
    },
  });
  return { manager, sent };
}

const record = (
  deviceId: string,
  type: number,
  key: string,
  createdAt: number,
  ttl = 60_000,
): PendingDelivery => ({
  deviceId,
  key,
  type,
  payload: Uint8Array.of(1, 2, 3),
  createdAt,
  deadline: createdAt + ttl,
  attempts: 0,
});

const until = async (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`contract: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

/** Collects every reply of `replies` and how it ended. */
function follow(replies: AsyncIterable<Ack>) {
  const seen: Ack[] = [];
  const ended = (async () => {
    try {
      for await (const ack of replies) seen.push(ack);
      return "completed";
    } catch (error) {
      return (error as { code?: string }).code ?? String(error);
    }
  })();
  return { seen, ended };
}

/** The contract's cases for `factory`'s stores. */
export function pendingDeliveryStoreContract(factory: PendingDeliveryStoreFactory): ContractCase[] {
  const withStores =
    (run: (a: PendingDeliveryStore, b: PendingDeliveryStore) => Promise<void>) => async (): Promise<void> => {
      const stores = await factory.open();
      try {
        await run(stores[0], stores[1]);
      } finally {
        await factory.close(stores);
      }
    };
  return [
    {
      name: "keeps records per device, oldest first, with their count and the oldest creation time",
      run: withStores(async (a, b) => {
        strictEqual(a.oldestCreatedAt(), undefined);
        await a.add(record("dev-a", 4, "k1", 10));
        await a.add(record("dev-b", 4, "k2", 20));
        await b.add(record("dev-a", 4, "k3", 30));
        strictEqual(a.size(), 3);
        deepStrictEqual(
          (await b.forDevice("dev-a")).map((d) => d.key),
          ["k1", "k3"],
        );
        deepStrictEqual([...(await a.forDevice("dev-a"))[0]!.payload], [1, 2, 3]);
        strictEqual(a.oldestCreatedAt(), 10);
        await b.remove("dev-a", 4, "k1");
        strictEqual(a.oldestCreatedAt(), 20);
        deepStrictEqual(await a.forDevice("dev-nobody"), []);
      }),
    },
    {
      name: "a record is named by device, request Type and key: the same key of two requests is two records",
      run: withStores(async (a, b) => {
        await a.add(record("dev-a", 4, "A-1", 1));
        await a.add(record("dev-a", 6, "A-1", 2));
        await a.add(record("dev-b", 4, "A-1", 3));
        strictEqual(await b.remove("dev-a", 6, "A-1"), true);
        deepStrictEqual(
          (await a.forDevice("dev-a")).map((d) => [d.type, d.key]),
          [[4, "A-1"]],
        );
        strictEqual((await a.forDevice("dev-b")).length, 1);
      }),
    },
    {
      name: "adding a record with the same name replaces it",
      run: withStores(async (a, b) => {
        await a.add(record("dev-a", 4, "k", 1));
        await b.add({ ...record("dev-a", 4, "k", 5), payload: Uint8Array.of(9) });
        const stored = await a.forDevice("dev-a");
        strictEqual(stored.length, 1);
        deepStrictEqual([...stored[0]!.payload], [9]);
        strictEqual(a.size(), 1);
      }),
    },
    {
      name: "remove tells exactly one caller that it removed the record, whichever handle it uses",
      run: withStores(async (a, b) => {
        await a.add(record("dev-a", 4, "k", 1));
        const results = await Promise.all([
          a.remove("dev-a", 4, "k"),
          b.remove("dev-a", 4, "k"),
          a.remove("dev-a", 4, "k"),
        ]);
        strictEqual(results.filter((removed) => removed).length, 1);
        strictEqual(await b.remove("dev-a", 4, "k"), false);
        strictEqual(a.size(), 0);
      }),
    },
    {
      name: "expire removes and returns the records past their deadline, each to exactly one caller",
      run: withStores(async (a, b) => {
        await a.add(record("dev-a", 4, "old-1", 0, 100));
        await a.add(record("dev-b", 4, "old-2", 0, 200));
        await a.add(record("dev-a", 4, "young", 0, 10_000));
        const [first, second] = await Promise.all([a.expire(200), b.expire(200)]);
        deepStrictEqual([...first, ...second].map((d) => d.key).sort(), ["old-1", "old-2"]);
        deepStrictEqual(await a.expire(200), []);
        deepStrictEqual(
          (await b.forDevice("dev-a")).map((d) => d.key),
          ["young"],
        );
        strictEqual(a.size(), 1);
      }),
    },
    {
      name: "a final reply completes a record this process did not start; the reply still reaches the handlers",
      run: withStores(async (a, b) => {
        const starter = engine(a);
        const started = follow(starter.manager.deliver("dev-1", orderSpec, { id: "O-1", coins: 2 }));
        await until(async () => (await b.forDevice("dev-1")).length === 1, "the record in the store");
        // The device answers on another process (it reconnected there).
        const other = engine(b);
        strictEqual(other.manager.offer("dev-1", 0x84, { id: "O-1", state: "ACCEPTED" }), false);
        strictEqual((await a.forDevice("dev-1")).length, 1, "a progress reply leaves the record");
        strictEqual(other.manager.offer("dev-1", 0x84, { id: "O-1", state: "DONE" }), false);
        // The completion is counted once the store said this process removed the record; that
        // (not the record's absence, which another handle may see first) is what is waited for.
        await until(() => other.manager.stats().completed === 1, "the completion counted");
        deepStrictEqual(await a.forDevice("dev-1"), [], "the completed record is gone from the store");
        // A late duplicate of that final reply is absorbed, not counted again.
        strictEqual(other.manager.offer("dev-1", 0x84, { id: "O-1", state: "DONE" }), true);
        strictEqual(other.manager.stats().completed, 1);
        starter.manager.failAll(new ServerStoppedError());
        strictEqual(await started.ended, "SERVER_STOPPED");
      }),
    },
    {
      name: "stop detaches the local waiters and leaves the records, which the next process delivers",
      run: withStores(async (a, b) => {
        const first = engine(a, false);
        const waiting = follow(first.manager.deliver("dev-2", orderSpec, { id: "O-2", coins: 1 }));
        await until(async () => (await a.forDevice("dev-2")).length === 1, "the record in the store");
        first.manager.failAll(new ServerStoppedError());
        strictEqual(await waiting.ended, "SERVER_STOPPED");
        strictEqual((await b.forDevice("dev-2")).length, 1, "the record outlives the stop");
        const next = engine(b);
        await next.manager.resendAfterLogin("dev-2")();
        deepStrictEqual(next.sent, [
          { deviceId: "dev-2", type: 0x04, payload: JSON.stringify({ id: "O-2", coins: 1 }) },
        ]);
        next.manager.offer("dev-2", 0x84, { id: "O-2", state: "DONE" });
        await until(() => next.manager.stats().completed === 1, "the redelivered record completed");
        deepStrictEqual(await b.forDevice("dev-2"), [], "the completed record is gone from the store");
        strictEqual(first.manager.stats().completed, 0, "the stopped process completed nothing");
      }),
    },
    {
      name: "expiry ends a delivery exactly once, however many processes sweep",
      run: withStores(async (a, b) => {
        const starter = engine(a, false);
        const waiting = follow(
          starter.manager.deliver("dev-3", refundSpec, { id: "R-3", coins: 1 }, { deadlineMs: 50 }),
        );
        strictEqual(await waiting.ended, "REQUEST_TIMEOUT");
        strictEqual(starter.manager.stats().timedOut, 1);
        // The removal behind the deadline is not awaited by the waiter: wait for the store to say so.
        await until(async () => (await a.forDevice("dev-3")).length === 0, "the timed-out record removed");
        starter.manager.failAll(new ServerStoppedError());
        await a.add(record("dev-4", 0x04, "O-4", Date.now() - 1_000, 500));
        // Two processes, both sweeping the same store once a second.
        const sweepers = [engine(a).manager, engine(b).manager];
        const expired = () => sweepers.reduce((sum, manager) => sum + manager.stats().timedOut, 0);
        // Waited for: a sweeper reporting the expiry (the record's absence can be seen before that).
        await until(() => expired() === 1, "the sweep", 10_000);
        deepStrictEqual(await b.forDevice("dev-4"), [], "the expired record is gone from the store");
        // Both sweepers sweep again (once a second); neither expires the record a second time.
        await new Promise((resolve) => setTimeout(resolve, 1_200));
        strictEqual(expired(), 1);
        ok(starter.manager.stats().timedOut === 1, "the stopped process swept nothing");
        for (const manager of sweepers) manager.failAll(new ServerStoppedError());
      }),
    },
  ];
}
