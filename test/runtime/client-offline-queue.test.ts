import { describe, expect, it } from "vitest";
import { OfflineQueue } from "../../runtime/src/client/offline-queue.js";
import { InvalidOptionsError, QueueFullError } from "../../runtime/src/errors.js";

const entry = (name: string, size: number, queuedAt = 0) => ({
  type: 1,
  name,
  payload: new Uint8Array(size),
  queuedAt,
});

describe("OfflineQueue", () => {
  it("keeps FIFO order and counts wire bytes (5-byte header included)", () => {
    const queue = new OfflineQueue();
    queue.push(entry("a", 10));
    queue.push(entry("b", 0));
    expect(queue.messages).toBe(2);
    expect(queue.bytes).toBe(20);
    expect(queue.shift()?.name).toBe("a");
    expect(queue.shift()?.name).toBe("b");
    expect(queue.shift()).toBeUndefined();
    expect(queue.bytes).toBe(0);
  });

  it("refuses the message over maxMessages with QueueFullError('offline') and keeps the others", () => {
    const queue = new OfflineQueue({ maxMessages: 2 });
    queue.push(entry("a", 1));
    queue.push(entry("b", 1));
    const error = (() => {
      try {
        queue.push(entry("c", 1));
      } catch (e) {
        return e as QueueFullError;
      }
    })();
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error?.queue).toBe("offline");
    expect(error?.message).toBe("offline queue full (maxMessages 2) (frame type 0x01, c)");
    expect(queue.clear().map((e) => e.name)).toEqual(["a", "b"]);
  });

  it("refuses the message over maxBytes", () => {
    const queue = new OfflineQueue({ maxBytes: 30 });
    queue.push(entry("a", 20));
    expect(() => queue.push(entry("b", 6))).toThrow("offline queue full (maxBytes 30)");
    queue.push(entry("c", 0));
    expect(queue.bytes).toBe(30);
  });

  it("refuses new messages once the oldest has waited maxAgeMs, and never drops what it holds", () => {
    const queue = new OfflineQueue({ maxAgeMs: 100 });
    queue.push(entry("old", 1, 0));
    queue.push(entry("young", 1, 99));
    expect(() => queue.push(entry("late", 1, 100))).toThrow(
      "offline queue full (maxAgeMs 100: the oldest queued message has waited 100 ms) (frame type 0x01, late)",
    );
    expect(queue.messages).toBe(2);
    expect(queue.oldestQueuedAt).toBe(0);
    expect(queue.shift()?.name).toBe("old");
    queue.push(entry("later", 1, 150));
    expect(queue.clear().map((e) => e.name)).toEqual(["young", "later"]);
  });

  it("stays correct across many push/shift cycles (compaction), peek leaving the head in place", () => {
    const queue = new OfflineQueue({ maxMessages: 10_000 });
    for (let i = 0; i < 500; i++) queue.push(entry(String(i), 1));
    for (let i = 0; i < 400; i++) expect(queue.shift()?.name).toBe(String(i));
    expect(queue.peek()?.name).toBe("400");
    expect(queue.messages).toBe(100);
    expect(queue.clear().map((e) => Number(e.name))).toEqual(Array.from({ length: 100 }, (_, i) => i + 400));
  });

  it("validates its options", () => {
    expect(() => new OfflineQueue({ maxMessages: 0 })).toThrow(InvalidOptionsError);
    expect(() => new OfflineQueue({ maxMessages: 1.5 })).toThrow(
      "invalid option offlineQueue.maxMessages: expected an integer, got 1.5",
    );
    expect(() => new OfflineQueue({ maxAgeMs: -1 })).toThrow(
      "invalid option offlineQueue.maxAgeMs: expected a finite number > 0, got -1",
    );
  });
});
