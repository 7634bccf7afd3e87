import { describe, expect, it } from "vitest";
import { ReplyRouter } from "../../runtime/src/delivery/replies.js";
import { AbortedError, ConnectionClosedError, RequestTimeoutError } from "../../runtime/src/errors.js";
import { TimerWheel } from "../../runtime/src/timers.js";
import {
  type Ack,
  AckDef,
  AckState,
  ackIsFinal,
  commandSpec,
  LoginRspDef,
  loginSpec,
  PongDef,
  pingSpec,
} from "../helpers/messages.js";

const ack = (orderId: string, state: number, progress = 0): Ack => ({ orderId, state, progress });

function router() {
  return new ReplyRouter({ wheel: new TimerWheel({ tickMs: 5 }), peer: () => "127.0.0.1:1234 dev-1" });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe("ReplyRouter", () => {
  it("matches unkeyed replies to requests in FIFO order per reply Type", async () => {
    const replies = router();
    const first = replies.expect(pingSpec, undefined);
    const second = replies.expect(pingSpec, undefined);
    const login = replies.expect(loginSpec, undefined);
    expect(replies.size).toBe(3);

    expect(replies.offer(LoginRspDef.type, { code: 0 })).toBe(true);
    expect(replies.offer(PongDef.type, { timestamp: "1" })).toBe(true);
    expect(replies.offer(PongDef.type, { timestamp: "2" })).toBe(true);
    expect(replies.offer(PongDef.type, { timestamp: "3" })).toBe(false);

    expect(await first.finalReply()).toEqual({ timestamp: "1" });
    expect(await second.finalReply()).toEqual({ timestamp: "2" });
    expect(await login.finalReply()).toEqual({ code: 0 });
    expect(replies.size).toBe(0);
  });

  it("matches keyed replies by key, whatever the arrival order", async () => {
    const replies = router();
    const a = replies.expect(commandSpec, "A");
    const b = replies.expect(commandSpec, "B");
    expect(replies.offer(AckDef.type, ack("B", AckState.DONE))).toBe(true);
    expect(replies.offer(AckDef.type, ack("C", AckState.DONE))).toBe(false);
    expect(replies.offer(AckDef.type, ack("A", AckState.FAILED))).toBe(true);
    expect((await a.finalReply()).state).toBe(AckState.FAILED);
    expect((await b.finalReply()).orderId).toBe("B");
    expect(replies.size).toBe(0);
  });

  it("streams every reply of a key and ends after the final one", async () => {
    const replies = router();
    const waiter = replies.expect(commandSpec, "A", { isFinal: ackIsFinal });
    // Replies that arrive before iteration starts are buffered.
    replies.offer(AckDef.type, ack("A", AckState.ACCEPTED));
    replies.offer(AckDef.type, ack("A", AckState.RUNNING, 50));
    const streamed = collect(waiter.stream());
    await Promise.resolve();
    expect(replies.size).toBe(1);
    replies.offer(AckDef.type, ack("A", AckState.DONE, 100));
    expect(replies.offer(AckDef.type, ack("A", AckState.DONE, 100))).toBe(false);
    expect((await streamed).map((a) => a.state)).toEqual([
      AckState.ACCEPTED,
      AckState.RUNNING,
      AckState.DONE,
    ]);
    expect(await waiter.finalReply()).toEqual(ack("A", AckState.DONE, 100));
    expect(replies.size).toBe(0);
  });

  it("resolves result with the first final reply only", async () => {
    const replies = router();
    const waiter = replies.expect(commandSpec, "A", { isFinal: ackIsFinal });
    let resolved = false;
    void waiter.finalReply().then(() => {
      resolved = true;
    });
    replies.offer(AckDef.type, ack("A", AckState.RUNNING));
    await new Promise((resolve) => setImmediate(resolve));
    expect(resolved).toBe(false);
    replies.offer(AckDef.type, ack("A", AckState.DONE));
    expect((await waiter.finalReply()).state).toBe(AckState.DONE);
  });

  it("times out with RequestTimeoutError naming the peer and the request, and removes the waiter", async () => {
    const replies = router();
    const waiter = replies.expect(pingSpec, undefined, { timeoutMs: 20 });
    const error = await waiter.finalReply().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({
      code: "REQUEST_TIMEOUT",
      peer: "127.0.0.1:1234 dev-1",
      messageName: "paytest.Ping",
    });
    expect(replies.size).toBe(0);
    expect(replies.offer(PongDef.type, {})).toBe(false);
  });

  it("ends a stream with the timeout after the replies that did arrive", async () => {
    const replies = router();
    const waiter = replies.expect(commandSpec, "A", { isFinal: ackIsFinal, timeoutMs: 20 });
    replies.offer(AckDef.type, ack("A", AckState.RUNNING));
    const seen: number[] = [];
    const error = await (async () => {
      for await (const reply of waiter.stream()) seen.push(reply.state);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([AckState.RUNNING]);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(replies.size).toBe(0);
  });

  it("rejects with AbortedError when the signal aborts, also when already aborted", async () => {
    const replies = router();
    const controller = new AbortController();
    const waiter = replies.expect(pingSpec, undefined, { signal: controller.signal });
    controller.abort(new Error("user gave up"));
    const error = await waiter.finalReply().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as AbortedError).cause).toEqual(new Error("user gave up"));
    expect(replies.size).toBe(0);

    const early = replies.expect(pingSpec, undefined, { signal: controller.signal });
    await expect(early.finalReply()).rejects.toBeInstanceOf(AbortedError);
    expect(replies.size).toBe(0);
  });

  it("fails every waiter with failAll and leaves nothing behind", async () => {
    const replies = router();
    const waiters = [
      replies.expect(pingSpec, undefined),
      replies.expect(commandSpec, "A"),
      replies.expect(commandSpec, "A"),
      replies.expect(loginSpec, undefined),
    ];
    expect(replies.size).toBe(4);
    const reason = new ConnectionClosedError("peer closed");
    replies.failAll(reason);
    for (const waiter of waiters) await expect(waiter.finalReply()).rejects.toBe(reason);
    expect(replies.size).toBe(0);
  });

  it("cancels the request when a stream consumer stops early", async () => {
    const replies = router();
    const waiter = replies.expect(commandSpec, "A", { isFinal: ackIsFinal });
    replies.offer(AckDef.type, ack("A", AckState.ACCEPTED));
    for await (const reply of waiter.stream()) {
      expect(reply.state).toBe(AckState.ACCEPTED);
      break;
    }
    expect(replies.size).toBe(0);
    await expect(waiter.finalReply()).rejects.toBeInstanceOf(AbortedError);
  });

  it("cancel() rejects with the given reason and frees the slot", async () => {
    const replies = router();
    const waiter = replies.expect(pingSpec, undefined);
    const next = replies.expect(pingSpec, undefined);
    const reason = new ConnectionClosedError("gone");
    waiter.cancel(reason);
    await expect(waiter.finalReply()).rejects.toBe(reason);
    // The cancelled waiter no longer takes replies: the next one in line does.
    replies.offer(PongDef.type, { timestamp: "9" });
    expect(await next.finalReply()).toEqual({ timestamp: "9" });
    expect(replies.size).toBe(0);
  });

  it("does not report an unhandled rejection when only the stream is used", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const replies = router();
      const waiter = replies.expect(pingSpec, undefined, { timeoutMs: 10 });
      await expect(collect(waiter.stream())).rejects.toBeInstanceOf(RequestTimeoutError);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("allows a stream to be iterated only once", () => {
    const waiter = router().expect(pingSpec, undefined);
    const stream = waiter.stream();
    stream[Symbol.asyncIterator]();
    expect(() => stream[Symbol.asyncIterator]()).toThrow(TypeError);
    waiter.cancel();
  });

  it("bounds the unread replies of a stream: beyond the bound the request fails with QUEUE_FULL", async () => {
    const replies = new ReplyRouter({
      wheel: new TimerWheel({ tickMs: 5 }),
      peer: () => "127.0.0.1:1234 dev-1",
    });
    const waiter = replies.expect(commandSpec, "o-flood", { isFinal: ackIsFinal });
    const stream = waiter.stream();
    for (let i = 0; i < 1_024; i++) replies.offer(AckDef.type, ack("o-flood", AckState.RUNNING, i));
    expect(replies.size).toBe(1);
    replies.offer(AckDef.type, ack("o-flood", AckState.RUNNING, 1_024));
    expect(replies.size).toBe(0);
    await expect(waiter.finalReply()).rejects.toMatchObject({
      code: "QUEUE_FULL",
      queue: "replies",
      peer: "127.0.0.1:1234 dev-1",
    });
    const seen: Ack[] = [];
    await expect(
      (async () => {
        for await (const item of stream) seen.push(item);
      })(),
    ).rejects.toMatchObject({ code: "QUEUE_FULL" });
    expect(seen).toHaveLength(1_024); // what was buffered is still read before the failure
  });

  it("keeps no non-final replies for a request whose result alone is used", async () => {
    const replies = new ReplyRouter({ wheel: new TimerWheel({ tickMs: 5 }), maxBufferedReplies: 2 });
    const waiter = replies.expect(commandSpec, "o-many", { isFinal: ackIsFinal });
    const result = waiter.finalReply();
    for (let i = 0; i < 10; i++) replies.offer(AckDef.type, ack("o-many", AckState.RUNNING, i));
    replies.offer(AckDef.type, ack("o-many", AckState.DONE, 10));
    expect(await result).toMatchObject({ state: AckState.DONE, progress: 10 });
  });

  it("refuses a bad maxBufferedReplies", () => {
    expect(() => new ReplyRouter({ maxBufferedReplies: 0 })).toThrow(/maxBufferedReplies/);
  });
});
