/**
 * Keys that name a command (device side) and a delivery (cloud side) as property tests: two
 * different commands or deliveries never share a key, whatever characters their correlation values,
 * device ids and names hold, so a Refund of order A-1 is never answered as the Coin of order A-1 and
 * a delivery to one device never completes another's. The over-TLS behaviour is in
 * idempotency-durable.test.ts and delivery-bounds.test.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { commandKey } from "../../runtime/src/client/dispatch.js";
import type { ClientContext } from "../../runtime/src/client/types.js";
import { deliveryId, MemoryPendingDeliveryStore } from "../../runtime/src/delivery/memory-pending-store.js";
import { Registry } from "../../runtime/src/registry.js";
import { CommandDef } from "../helpers/messages.js";

/** Proto full names: dotted identifiers (what the generator registers commands under). */
const protoName = fc
  .array(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/), { minLength: 1, maxLength: 3 })
  .map((parts) => parts.join("."));
/**
 * Correlation values and device ids: any text, separators and NULs included. A small alphabet with
 * the digits of the Types below, so values that spell another triple's separators come up often.
 */
const text = fc.string({ unit: fc.constantFrom("a", "4", "5", "/", ":", "\u0000", "é"), maxLength: 6 });
/** Request Types (few, so triples differing only in how their parts split are tried). */
const requestType = fc.constantFrom(4, 5, 45, 255);

describe("command keys (device record)", () => {
  it("two different (message, correlation value) pairs never share a key", () => {
    fc.assert(
      fc.property(protoName, text, protoName, text, (nameA, valueA, nameB, valueB) => {
        const same = nameA === nameB && valueA === valueB;
        expect(commandKey(nameA, valueA) === commandKey(nameB, valueB)).toBe(same);
      }),
      { numRuns: 2_000 },
    );
  });

  it("a guarded command needs a name that cannot blur the namespace", () => {
    const guarded = { idempotencyKey: (command: { orderId?: string }) => command.orderId ?? "" };
    for (const name of ["paytest/Command", ""]) {
      expect(() => new Registry<ClientContext>().register({ ...CommandDef, name }, guarded)).toThrow(
        "a command with an idempotencyKey needs a message name without '/'",
      );
    }
    // Unguarded messages may be named anything.
    new Registry<ClientContext>().register({ ...CommandDef, name: "paytest/Command" });
  });
});

describe("delivery ids (cloud pending set)", () => {
  it("two different (device, request Type, key) triples never share an id", () => {
    fc.assert(
      fc.property(
        text,
        requestType,
        text,
        text,
        requestType,
        text,
        (deviceA, typeA, keyA, deviceB, typeB, keyB) => {
          const same = deviceA === deviceB && typeA === typeB && keyA === keyB;
          expect(deliveryId(deviceA, typeA, keyA) === deliveryId(deviceB, typeB, keyB)).toBe(same);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it("the memory store keeps deliveries apart that a separator-joined id would merge", () => {
    const store = new MemoryPendingDeliveryStore();
    const record = (deviceId: string, type: number, key: string) => ({
      deviceId,
      type,
      key,
      payload: Uint8Array.of(type),
      createdAt: 0,
      deadline: 60_000,
      attempts: 0,
    });
    // "x\0" + "4" + "\0" + "5\0k" and "x" + "\0" + "4\0" + "5" + "\0k": one string when joined by NULs.
    store.add(record("x\u00004", 5, "k"));
    store.add(record("x", 4, "5\u0000k"));
    expect(store.size()).toBe(2);
    expect(store.forDevice("x").map((d) => d.key)).toEqual(["5\u0000k"]);
    expect(store.remove("x\u00004", 5, "k")).toBe(true);
    expect(store.forDevice("x")).toHaveLength(1);
  });
});
