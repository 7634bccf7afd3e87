import { pendingDeliveryStoreContract } from "@paynet/runtime/testing";
import { describe, expect, it } from "vitest";
import { MemoryPendingDeliveryStore } from "../../runtime/src/delivery/memory-pending-store.js";
import type { PendingDelivery, PendingDeliveryStore } from "../../runtime/src/delivery/types.js";
import { Registry } from "../../runtime/src/registry.js";
import type { ServerContext } from "../../runtime/src/server/types.js";
import {
  type Ack,
  AckDef,
  AckState,
  ackIsFinal,
  CommandDef,
  commandSpec,
  ErrorMsgDef,
  type LoginReq,
  LoginReqDef,
  LoginRspDef,
  PingDef,
  PongDef,
  pingSpec,
} from "../helpers/messages.js";
import type { RawDevice } from "../helpers/raw-device.js";
import {
  setUpServerTests,
  startTestServer,
  type TestServer,
  testErrorMessage,
} from "../helpers/test-server.js";

const pki = await setUpServerTests();

function loginRegistry(): Registry<ServerContext> {
  return new Registry<ServerContext>()
    .register(LoginReqDef, {
      reply: LoginRspDef,
      handler: async (login: LoginReq, ctx) => {
        ctx.session.login(login.deviceId);
        // Something async after login: redeliveries must still follow the login reply.
        await new Promise((resolve) => setTimeout(resolve, 10));
        return { code: 0 };
      },
    })
    .register(PingDef, { reply: PongDef, handler: () => ({}) });
}

/** Connects and logs in; returns the device with the login reply taken. */
async function login(t: TestServer, deviceId: string): Promise<RawDevice> {
  const device = await t.connect();
  device.send(LoginReqDef, { deviceId });
  const first = await device.nextFrame();
  expect(first.type).toBe(LoginRspDef.type); // the login answer comes before any redelivery
  return device;
}

/** Collects an iterable in the background. */
function collect<T>(iterable: AsyncIterable<T>): { items: T[]; done: Promise<unknown> } {
  const items: T[] = [];
  const done = (async () => {
    for await (const item of iterable) items.push(item);
  })();
  done.catch(() => {});
  return { items, done };
}

describe("at-least-once delivery", () => {
  it("redelivers a command after the connection drops before the final reply, until the final reply", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry(), errorMessage: testErrorMessage });
    const first = await login(t, "dev-1");
    const acks = collect(
      t.server.deliver("dev-1", commandSpec, { orderId: "o-1", coins: 2 }, { isFinal: ackIsFinal }),
    );
    const sent = await first.nextFrame(CommandDef.type);
    expect(CommandDef.codec.decode(sent.payload)).toMatchObject({ orderId: "o-1", coins: 2 });
    first.send(AckDef, { orderId: "o-1", state: AckState.RUNNING });
    await expect.poll(() => acks.items.length).toBe(1);
    first.destroy(); // 4G drops before the final ack

    await expect.poll(() => t.server.session("dev-1")).toBeUndefined();
    expect(t.server.stats().delivery.pending).toBe(1);

    const second = await login(t, "dev-1");
    const resent = await second.nextFrame(CommandDef.type);
    expect(Buffer.compare(resent.payload, sent.payload)).toBe(0); // same payload, same key
    expect(t.server.stats().delivery).toMatchObject({ pending: 1, redelivered: 1 });
    // The device (its idempotency guard) answers from recorded progress; duplicates are fine.
    second.send(AckDef, { orderId: "o-1", state: AckState.RUNNING });
    second.send(AckDef, { orderId: "o-1", state: AckState.DONE });
    await acks.done;
    expect(acks.items.map((a: Ack) => a.state)).toEqual([AckState.RUNNING, AckState.RUNNING, AckState.DONE]);
    expect(t.server.stats().delivery).toMatchObject({
      pending: 0,
      completed: 1,
      redelivered: 1,
      oldestAgeMs: 0,
    });

    // A late duplicate of the final reply is absorbed: no error to the device, no error event.
    second.send(AckDef, { orderId: "o-1", state: AckState.DONE });
    second.send(PingDef, {});
    await second.next(PongDef);
    expect(second.pending.some((f) => f.type === ErrorMsgDef.type)).toBe(false);
    expect(t.errors).toHaveLength(0);

    // No further redelivery after completion.
    const third = await login(t, "dev-1");
    third.send(PingDef, {});
    await third.next(PongDef);
    expect(third.pending.some((f) => f.type === CommandDef.type)).toBe(false);
  });

  it("sends to an offline device at its first login", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry() });
    const acks = collect(t.server.deliver("dev-2", commandSpec, { orderId: "o-2", coins: 1 }));
    await expect.poll(() => t.server.stats().delivery.pending).toBe(1);
    const device = await login(t, "dev-2");
    expect((await device.next(CommandDef)).orderId).toBe("o-2");
    device.send(AckDef, { orderId: "o-2", state: AckState.DONE });
    await acks.done;
    expect(acks.items).toHaveLength(1);
    expect(t.server.stats().delivery).toMatchObject({ completed: 1, redelivered: 0 });
  });

  it("sends a delivery started from an online listener once, not again with the re-login resend", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry(), errorMessage: testErrorMessage });
    let acks: ReturnType<typeof collect<Ack>> | undefined;
    t.server.on("online", () => {
      acks ??= collect(
        t.server.deliver("dev-9", commandSpec, { orderId: "o-9", coins: 1 }, { isFinal: ackIsFinal }),
      );
    });
    const device = await t.connect();
    device.send(LoginReqDef, { deviceId: "dev-9" });
    await device.nextFrame(CommandDef.type); // sent at once by the listener, possibly before the login reply
    await device.nextFrame(LoginRspDef.type); // the login handler is done: the re-login resend has run
    device.send(PingDef, {});
    await device.nextFrame(PongDef.type); // the session is idle again: any resend would have happened
    expect(device.pending.filter((frame) => frame.type === CommandDef.type)).toHaveLength(0);
    device.send(AckDef, { orderId: "o-9", state: AckState.DONE });
    await acks?.done;
    expect(t.server.stats().delivery.redelivered).toBe(0);
  });

  it("matches replies by device: the same order id from another device does not complete it", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry() });
    const a = await login(t, "dev-a");
    const b = await login(t, "dev-b");
    const acks = collect(t.server.deliver("dev-a", commandSpec, { orderId: "same", coins: 1 }));
    await a.next(CommandDef);
    b.send(AckDef, { orderId: "same", state: AckState.DONE });
    b.send(PingDef, {});
    await b.next(PongDef);
    expect(acks.items).toHaveLength(0);
    a.send(AckDef, { orderId: "same", state: AckState.DONE });
    await acks.done;
    expect(acks.items).toHaveLength(1);
  });

  it("shows pending count and oldest age, and ends with RequestTimeoutError at the deadline", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry() });
    const acks = collect(
      t.server.deliver("dev-3", commandSpec, { orderId: "o-3", coins: 1 }, { deadlineMs: 1_000 }),
    );
    // Some age shows within the deadline, however slow the machine: the wait is for the clock to move.
    await expect.poll(() => t.server.stats().delivery.oldestAgeMs, { interval: 5 }).toBeGreaterThan(0);
    expect(t.server.stats().delivery.pending).toBe(1);
    await expect(acks.done).rejects.toMatchObject({
      code: "REQUEST_TIMEOUT",
      message: expect.stringContaining("dev-3"),
    });
    expect(t.server.stats().delivery).toMatchObject({ pending: 0, timedOut: 1 });
    // Once timed out, a login no longer brings the command.
    const device = await login(t, "dev-3");
    device.send(PingDef, {});
    await device.next(PongDef);
    expect(device.pending.some((f) => f.type === CommandDef.type)).toBe(false);
  });

  it("ends with AbortedError when the signal aborts, and stopping the iteration cancels it", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry() });
    const controller = new AbortController();
    const aborted = collect(
      t.server.deliver("dev-4", commandSpec, { orderId: "o-4", coins: 1 }, { signal: controller.signal }),
    );
    await expect.poll(() => t.server.stats().delivery.pending).toBe(1);
    controller.abort();
    await expect(aborted.done).rejects.toMatchObject({ code: "ABORTED" });
    expect(t.server.stats().delivery.pending).toBe(0);

    const device = await login(t, "dev-4");
    const iterable = t.server.deliver(
      "dev-4",
      commandSpec,
      { orderId: "o-5", coins: 1 },
      { isFinal: ackIsFinal },
    );
    await device.next(CommandDef);
    device.send(AckDef, { orderId: "o-5", state: AckState.RUNNING });
    for await (const ack of iterable) {
      expect(ack.state).toBe(AckState.RUNNING);
      break;
    }
    expect(t.server.stats().delivery.pending).toBe(0);
  });

  it("bounds the pending set with PendingLimitError", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry(), maxPendingDeliveries: 1 });
    collect(t.server.deliver("dev-5", commandSpec, { orderId: "o-6", coins: 1 }));
    await expect.poll(() => t.server.stats().delivery.pending).toBe(1);
    const refused = collect(t.server.deliver("dev-5", commandSpec, { orderId: "o-7", coins: 1 }));
    await expect(refused.done).rejects.toMatchObject({ code: "PENDING_LIMIT" });
    expect(t.server.stats().delivery.pending).toBe(1);
  });

  it("refuses a second pending delivery with the same device and key", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry() });
    collect(t.server.deliver("dev-6", commandSpec, { orderId: "dup", coins: 1 }));
    const second = collect(t.server.deliver("dev-6", commandSpec, { orderId: "dup", coins: 1 }));
    await expect(second.done).rejects.toThrow(/already pending/);
  });

  it("requires correlation keys", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry() });
    expect(() => t.server.deliver("dev-7", pingSpec, {})).toThrow(
      /deliver\(\) needs requestKey and replyKey/,
    );
  });

  it("fails pending deliveries with ServerStoppedError on stop", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry() });
    const pending = collect(t.server.deliver("dev-8", commandSpec, { orderId: "o-8", coins: 1 }));
    await expect.poll(() => t.server.stats().delivery.pending).toBe(1);
    await t.server.stop({ graceMs: 0 });
    await expect(pending.done).rejects.toMatchObject({ code: "SERVER_STOPPED" });
    const after = collect(t.server.deliver("dev-8", commandSpec, { orderId: "o-9", coins: 1 }));
    await expect(after.done).rejects.toMatchObject({ code: "SERVER_STOPPED" });
  });
});

describe("replies after completion and throwing user code", () => {
  it("absorbs a late duplicate final reply even when its Type has a handler and no delivery is active", async () => {
    const handled: Ack[] = [];
    const registry = loginRegistry().register(AckDef, { handler: (ack: Ack) => void handled.push(ack) });
    const t = await startTestServer(pki, { registry, errorMessage: testErrorMessage });
    const device = await login(t, "dev-late");
    const acks = collect(
      t.server.deliver("dev-late", commandSpec, { orderId: "o-late", coins: 1 }, { isFinal: ackIsFinal }),
    );
    await device.next(CommandDef);
    device.send(AckDef, { orderId: "o-late", state: AckState.DONE });
    await acks.done;
    expect(t.server.stats().delivery.pending).toBe(0);

    // No delivery is active for this device any more: the duplicate must still be recognised.
    device.send(AckDef, { orderId: "o-late", state: AckState.DONE });
    device.send(PingDef, {});
    await device.next(PongDef);
    expect(handled).toEqual([]);
    expect(device.pending.some((f) => f.type === ErrorMsgDef.type)).toBe(false);
    expect(t.errors).toHaveLength(0);

    // An Ack nobody delivered still reaches the handler.
    device.send(AckDef, { orderId: "unrelated", state: AckState.DONE });
    await expect.poll(() => handled.map((a) => a.orderId)).toEqual(["unrelated"]);
  });

  it("a throwing replyKey is reported as HANDLER_ERROR and the session keeps serving", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry() });
    const device = await login(t, "dev-key");
    const spec = {
      ...commandSpec,
      replyKey: (ack: Ack) => {
        if (ack.orderId === "bad") throw new Error("cannot key this ack");
        return ack.orderId;
      },
    };
    const acks = collect(t.server.deliver("dev-key", spec, { orderId: "o-key", coins: 1 }));
    await device.next(CommandDef);
    device.send(AckDef, { orderId: "bad", state: AckState.DONE });
    const error = await t.nextError("HANDLER_ERROR");
    expect(error.message).toContain("replyKey threw: cannot key this ack");
    expect(error.peer).toBe("device dev-key");
    device.send(AckDef, { orderId: "o-key", state: AckState.DONE });
    await acks.done;
    expect(acks.items.map((a) => a.orderId)).toEqual(["o-key"]);
    device.send(PingDef, {});
    await device.next(PongDef);
    expect(t.offline).toHaveLength(0);
  });

  it("a throwing isFinal is reported, ends the delivery with that reply and keeps the session", async () => {
    const t = await startTestServer(pki, { registry: loginRegistry() });
    const device = await login(t, "dev-final");
    const acks = collect(
      t.server.deliver(
        "dev-final",
        commandSpec,
        { orderId: "o-final", coins: 1 },
        {
          isFinal: () => {
            throw new Error("cannot judge");
          },
        },
      ),
    );
    await device.next(CommandDef);
    device.send(AckDef, { orderId: "o-final", state: AckState.RUNNING });
    await acks.done;
    expect(acks.items).toHaveLength(1);
    const error = await t.nextError("HANDLER_ERROR");
    expect(error.message).toContain("isFinal threw: cannot judge");
    device.send(PingDef, {});
    await device.next(PongDef);
    expect(t.offline).toHaveLength(0);
  });
});

describe("MemoryPendingDeliveryStore honours the pending delivery store contract", () => {
  for (const check of pendingDeliveryStoreContract({
    open: async () => {
      const store = new MemoryPendingDeliveryStore();
      return [store, store] as const;
    },
    close: async () => {},
  })) {
    it(check.name, check.run);
  }
});

/**
 * A store whose removals take effect at once but are answered a round trip later, as a store shared
 * over the network answers them (another handle sees the record gone before the remover learns it
 * removed it). The contract must wait for what the engine reports, not for the record's absence.
 */
class LateAnsweringStore implements PendingDeliveryStore {
  readonly #store = new MemoryPendingDeliveryStore();
  add(delivery: PendingDelivery): void {
    this.#store.add(delivery);
  }
  remove(deviceId: string, type: number, key: string): Promise<boolean> {
    const removed = this.#store.remove(deviceId, type, key);
    return new Promise((resolve) => setTimeout(() => resolve(removed), 30));
  }
  forDevice(deviceId: string): readonly PendingDelivery[] {
    return this.#store.forDevice(deviceId);
  }
  expire(now: number): Promise<readonly PendingDelivery[]> {
    const expired = this.#store.expire(now);
    return new Promise((resolve) => setTimeout(() => resolve(expired), 30));
  }
  size(): number {
    return this.#store.size();
  }
  oldestCreatedAt(): number | undefined {
    return this.#store.oldestCreatedAt();
  }
}

describe("a store that answers removals late honours the contract too (no check runs a step early)", () => {
  for (const check of pendingDeliveryStoreContract({
    open: async () => {
      const store = new LateAnsweringStore();
      return [store, store] as const;
    },
    close: async () => {},
  })) {
    it(check.name, check.run);
  }
});
