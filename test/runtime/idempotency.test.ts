import { describe, expect, it } from "vitest";
import { IdempotencyGuard, MemoryIdempotencyStore } from "../../runtime/src/delivery/idempotency.js";
import type { IdempotencyRecord, IdempotencyStore } from "../../runtime/src/delivery/types.js";

const reply = (n: number) => ({ type: 0x84, payload: Uint8Array.of(n) });

describe("MemoryIdempotencyStore", () => {
  it("forgets a key after its TTL (24 h by default)", () => {
    let now = 1_000;
    const store = new MemoryIdempotencyStore({ now: () => now });
    expect(store.ttlMs).toBe(86_400_000);
    store.set("k", { replies: [], done: true });
    now += 86_400_000 - 1;
    expect(store.get("k")).toEqual({ replies: [], done: true });
    now += 1;
    expect(store.get("k")).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it("restarts the TTL on every update", () => {
    let now = 0;
    const store = new MemoryIdempotencyStore({ ttlMs: 100, now: () => now });
    store.set("k", { replies: [], done: false });
    now = 90;
    store.set("k", { replies: [reply(1)], done: true });
    now = 150;
    expect(store.get("k")?.done).toBe(true);
  });

  it("is bounded and evicts the least recently used key", () => {
    const store = new MemoryIdempotencyStore({ maxEntries: 2 });
    store.set("a", { replies: [], done: true });
    store.set("b", { replies: [], done: true });
    store.get("a"); // a is now more recent than b
    store.set("c", { replies: [], done: true });
    expect(store.size).toBe(2);
    expect(store.get("b")).toBeUndefined();
    expect(store.get("a")).toBeDefined();
    expect(store.get("c")).toBeDefined();
  });

  it("validates its options", () => {
    expect(() => new MemoryIdempotencyStore({ maxEntries: 0 })).toThrow(
      "invalid option maxEntries: expected an integer >= 1, got 0",
    );
    expect(() => new MemoryIdempotencyStore({ ttlMs: 0 })).toThrow(
      "invalid option ttlMs: expected a finite number > 0, got 0",
    );
  });
});

describe("IdempotencyGuard", () => {
  it("executes a key once, records it before the handler runs, and replays the last reply", async () => {
    const store = new MemoryIdempotencyStore();
    const guard = new IdempotencyGuard(store);
    expect(await guard.claim("o1")).toEqual({ kind: "execute" });
    expect(store.get("o1")).toEqual({ replies: [], done: false });
    await guard.record("o1", reply(1));
    await guard.finish("o1", { reply: reply(2) });
    expect(store.get("o1")).toEqual({ replies: [reply(1), reply(2)], done: true });
    expect(await guard.claim("o1")).toEqual({ kind: "duplicate", lastReply: reply(2), running: false });
    // A replay records nothing new.
    expect(store.get("o1")?.replies).toHaveLength(2);
  });

  it("does not execute a duplicate that arrives while the first is still running", async () => {
    const guard = new IdempotencyGuard(new MemoryIdempotencyStore());
    const [first, second] = await Promise.all([guard.claim("o2"), guard.claim("o2")]);
    expect(first).toEqual({ kind: "execute" });
    expect(second).toEqual({ kind: "duplicate", lastReply: undefined, running: true });
    await guard.record("o2", reply(7));
    expect(await guard.claim("o2")).toEqual({ kind: "duplicate", lastReply: reply(7), running: true });
    expect(guard.activeCount).toBe(1);
    await guard.finish("o2");
    expect(guard.activeCount).toBe(0);
  });

  it("works with an asynchronous store and keeps its writes in order", async () => {
    const writes: IdempotencyRecord[] = [];
    const data = new Map<string, IdempotencyRecord>();
    const slowStore: IdempotencyStore = {
      get: async (key) => {
        await new Promise((r) => setTimeout(r, 5));
        return data.get(key);
      },
      set: async (key, record) => {
        await new Promise((r) => setTimeout(r, Math.random() * 5));
        writes.push(record);
        data.set(key, record);
      },
    };
    const guard = new IdempotencyGuard(slowStore);
    const claims = await Promise.all([guard.claim("k"), guard.claim("k"), guard.claim("k")]);
    expect(claims.filter((c) => c.kind === "execute")).toHaveLength(1);
    void guard.record("k", reply(1));
    void guard.record("k", reply(2));
    await guard.finish("k");
    expect(writes.map((w) => w.replies.length)).toEqual([0, 1, 2, 2]);
    expect(writes.at(-1)?.done).toBe(true);
    expect(await guard.claim("k")).toEqual({ kind: "duplicate", lastReply: reply(2), running: false });
  });

  it("records a failed handler with its failure reply and reports the failure on later claims", async () => {
    const store = new MemoryIdempotencyStore();
    const guard = new IdempotencyGuard(store);
    expect(await guard.claim("f")).toEqual({ kind: "execute" });
    await guard.record("f", reply(1));
    await guard.finish("f", { failure: "coin jam", reply: reply(3) });
    expect(store.get("f")).toEqual({ replies: [reply(1), reply(3)], done: true, failed: "coin jam" });
    expect(await guard.claim("f")).toEqual({
      kind: "duplicate",
      lastReply: reply(3),
      failed: "coin jam",
      running: false,
    });
  });

  it("tells a record left unfinished by an earlier process (interrupted) from a running one", async () => {
    const store = new MemoryIdempotencyStore();
    // What a process killed mid-execution leaves behind: claimed, one progress reply, never done.
    store.set("i", { replies: [reply(1)], done: false });
    const guard = new IdempotencyGuard(store);
    expect(await guard.claim("i")).toEqual({ kind: "interrupted", lastReply: reply(1) });
    expect(guard.activeCount).toBe(0);
    await guard.markInterrupted("i", "interrupted", reply(9));
    expect(store.get("i")).toEqual({ replies: [reply(1), reply(9)], done: true, failed: "interrupted" });
    // Settled once: later redeliveries are plain duplicates of a failed command.
    expect(await guard.claim("i")).toEqual({
      kind: "duplicate",
      lastReply: reply(9),
      failed: "interrupted",
      running: false,
    });
  });

  it("refuses to execute when the store fails, and lets a later retry claim the key", async () => {
    let fail = true;
    const data = new Map<string, IdempotencyRecord>();
    const guard = new IdempotencyGuard({
      get: (key) => {
        if (fail) throw new Error("store down");
        return data.get(key);
      },
      set: (key, record) => void data.set(key, record),
    });
    await expect(guard.claim("k")).rejects.toThrow("store down");
    fail = false;
    expect(await guard.claim("k")).toEqual({ kind: "execute" });
  });

  it("rejects recording for a key that is not executing", async () => {
    const guard = new IdempotencyGuard(new MemoryIdempotencyStore());
    await expect(guard.record("nope", reply(1))).rejects.toThrow("not being executed");
  });
});
