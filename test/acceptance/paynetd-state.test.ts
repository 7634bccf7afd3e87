/**
 * paynetd's state module: bounded by count with typed refusals, wire values as ordinary Map keys,
 * acks for unknown orders stored nowhere, and a state file written asynchronously, coalesced and
 * atomically (a reader or a SIGKILL never meets a half-written file), reloaded after a restart.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ManagedProcess, REGISTER_TSX } from "../../examples/demo/processes.js";
import { PaynetdState } from "../../examples/paynetd/state.js";
import { CoinState } from "../../examples/sdk/index.js";
import { Harness, LINE_TIMEOUT_MS } from "./support/harness.js";

const harness = new Harness();
afterAll(() => harness.cleanup());

const statePath = async () => join(await harness.tempDir("paynetd-state-"), "state.json");
const ack = (orderId: string, state: number, progress: number) => ({ orderId, state, progress, error: "" });

describe("bounds", () => {
  it("refuses a device beyond --max-devices with DEVICES_FULL; known devices still register", () => {
    const state = PaynetdState.open({ limits: { maxDevices: 2 } });
    state.register("SN-1");
    state.register("SN-2");
    expect(() => state.register("SN-3")).toThrow(
      expect.objectContaining({
        code: "DEVICES_FULL",
        message: "the device registry is full (2 devices, --max-devices)",
      }),
    );
    expect(state.register("SN-1")).toEqual({ deviceId: "dev-SN-1", isNew: false });
    expect(state.size.devices).toBe(2);
  });

  it("refuses an order beyond --max-orders with ORDERS_FULL; a known order is still answered", () => {
    const state = PaynetdState.open({ limits: { maxOrders: 1 } });
    state.addOrder("O-1", "dev-a", 2);
    expect(() => state.addOrder("O-2", "dev-a", 2)).toThrow(expect.objectContaining({ code: "ORDERS_FULL" }));
    expect(state.addOrder("O-1", "dev-a", 2)).toMatchObject({ orderId: "O-1" });
    expect(state.size.orders).toBe(1);
  });

  it("refuses serials that are empty, longer than a certificate CN or not printable ASCII", () => {
    const state = PaynetdState.open();
    for (const serial of ["", "S".repeat(65), "SN 1", "SN-1\n[paynetd] forged line", "SN-é"]) {
      expect(() => state.register(serial), JSON.stringify(serial)).toThrow(
        expect.objectContaining({ code: "DEVICE_SN_INVALID" }),
      );
    }
    expect(state.register("S".repeat(64)).isNew).toBe(true);
    expect(state.size.devices).toBe(1);
  });
});

describe("wire values are ordinary keys", () => {
  const NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"];

  it("knows nothing of inherited names before they are registered or ordered", () => {
    const state = PaynetdState.open();
    for (const name of NAMES) {
      expect(state.deviceIdOf(name)).toBeUndefined();
      expect(state.isRegistered(name)).toBe(false);
      expect(state.markCommanded(name)).toBe(false);
      expect(state.orderConflict(name, "dev-a", 1)).toBeUndefined();
      expect(state.order("dev-a", name)).toBeUndefined();
      expect(state.recordAck("dev-a", ack(name, CoinState.COIN_DONE, 100))).toEqual({ unknown: true });
    }
    expect(state.size).toEqual({ devices: 0, orders: 0 });
  });

  it("registers them as serials and tracks them as order ids, across a reload", async () => {
    const path = await statePath();
    const state = PaynetdState.open({ path });
    for (const name of NAMES) {
      expect(state.register(name)).toEqual({ deviceId: `dev-${name}`, isNew: true });
      state.addOrder(name, `dev-${name}`, 1);
      state.recordAck(`dev-${name}`, ack(name, CoinState.COIN_DONE, 100));
    }
    await state.flush();
    const reloaded = PaynetdState.open({ path });
    expect(reloaded.size).toEqual({ devices: NAMES.length, orders: NAMES.length });
    for (const name of NAMES) {
      expect(reloaded.deviceIdOf(name)).toBe(`dev-${name}`);
      expect(reloaded.isRegistered(`dev-${name}`)).toBe(true);
      expect(reloaded.order(`dev-${name}`, name)).toMatchObject({
        state: CoinState.COIN_DONE,
        progress: 100,
      });
      expect(reloaded.orderConflict(name, "dev-other", 1)).toBe(`order ${name} belongs to another device`);
    }
  });
});

describe("CoinAcks", () => {
  it("never create an order: an ack for an unknown order changes nothing and writes nothing", async () => {
    const path = await statePath();
    const state = PaynetdState.open({ path, writer: { delayMs: 0 } });
    state.register("SN-1");
    await state.flush();
    const writes = state.writes;
    expect(state.recordAck("dev-SN-1", ack("NEVER-SENT", CoinState.COIN_DONE, 100))).toEqual({
      unknown: true,
    });
    await state.flush();
    expect(state.writes).toBe(writes);
    expect(state.size.orders).toBe(0);
    expect(state.order("dev-SN-1", "NEVER-SENT")).toBeUndefined();
  });
});

describe("the state file", () => {
  it("coalesces changes made at once into one write", async () => {
    const state = PaynetdState.open({ path: await statePath() });
    for (let i = 0; i < 1_000; i++) state.register(`SN-${i}`);
    expect(state.writes).toBe(0); // nothing synchronous
    await state.flush();
    expect(state.writes).toBe(1);
  });

  it("writes at most once per delay while changes keep coming", async () => {
    const delayMs = 20;
    const path = await statePath();
    const state = PaynetdState.open({ path, writer: { delayMs } });
    state.register("SN-1");
    state.addOrder("O-1", "dev-SN-1", 100);
    const started = Date.now();
    const changes = 300;
    for (let i = 1; i <= changes; i++) {
      state.recordAck("dev-SN-1", ack("O-1", CoinState.COIN_RUNNING, Math.min(i, 99)));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await state.flush();
    const elapsed = Date.now() - started;
    // Every write waits for a delay first, and writes never overlap.
    expect(state.writes).toBeLessThanOrEqual(Math.floor(elapsed / delayMs) + 1);
    expect(state.writes).toBeLessThan(changes / 3);
    expect(PaynetdState.open({ path }).order("dev-SN-1", "O-1")?.acks).toBe(changes);
  });

  it("is reloaded after a restart with devices, first-command marks and orders", async () => {
    const path = await statePath();
    const state = PaynetdState.open({ path });
    state.register("SN-1");
    state.register("SN-2");
    state.markCommanded("dev-SN-1");
    state.addOrder("O-1", "dev-SN-1", 3);
    state.recordAck("dev-SN-1", { orderId: "O-1", state: CoinState.COIN_FAILED, progress: 33, error: "jam" });
    await state.flush();
    const text = await readFile(path, "utf8");
    expect(JSON.parse(text)).toMatchObject({ version: 2 });

    const reloaded = PaynetdState.open({ path });
    expect(reloaded.register("SN-2")).toEqual({ deviceId: "dev-SN-2", isNew: false });
    expect(reloaded.markCommanded("dev-SN-1")).toBe(false);
    expect(reloaded.markCommanded("dev-SN-2")).toBe(true);
    expect(reloaded.order("dev-SN-1", "O-1")).toMatchObject({
      coins: 3,
      state: CoinState.COIN_FAILED,
      progress: 33,
      error: "jam",
      acks: 1,
    });
  });

  it("reads the version 1 format (objects keyed by serial and order id)", async () => {
    const path = await statePath();
    const order = {
      orderId: "O-1",
      deviceId: "dev-SN-1",
      coins: 2,
      state: CoinState.COIN_DONE,
      progress: 100,
      error: "",
      acks: 4,
      updatedAt: "2024-01-01T00:00:00.000Z",
    };
    await writeFile(
      path,
      JSON.stringify({ devices: { "SN-1": "dev-SN-1" }, commanded: ["dev-SN-1"], orders: { "O-1": order } }),
    );
    const state = PaynetdState.open({ path });
    expect(state.deviceIdOf("SN-1")).toBe("dev-SN-1");
    expect(state.markCommanded("dev-SN-1")).toBe(false);
    expect(state.order("dev-SN-1", "O-1")).toEqual(order);
  });

  it("refuses a file that is not a state file, naming the faulty entry", async () => {
    const path = await statePath();
    await writeFile(path, JSON.stringify({ version: 2, devices: [{ serial: "SN-1" }], orders: [] }));
    expect(() => PaynetdState.open({ path })).toThrow(
      expect.objectContaining({
        code: "STATE_FILE",
        message: `${path} is not a paynetd state file: devices[0] is malformed`,
      }),
    );
  });

  it("is never half-written: readers and a SIGKILL mid-write find a complete file", async () => {
    const path = await statePath();
    const writer = new ManagedProcess({
      name: "state-writer",
      args: ["--import", REGISTER_TSX, "test/acceptance/support/state-writer.ts", path],
    });
    try {
      // Read the file while it is rewritten over and over (it grows to about 1 MB).
      let reads = 0;
      let lastSize = 0;
      await writer.waitForLine(/^written 200$/, LINE_TIMEOUT_MS);
      while (writer.running && writer.count(/^written /) < 15) {
        const content = JSON.parse(await readFile(path, "utf8")) as { devices: unknown[] };
        expect(content.devices.length).toBeGreaterThanOrEqual(lastSize);
        lastSize = content.devices.length;
        reads++;
      }
      expect(writer.count(/^written /)).toBeGreaterThanOrEqual(15);
      expect(reads).toBeGreaterThan(1);
      writer.kill();
      await writer.exited;
    } finally {
      writer.kill();
    }
    const reported = writer.lines.filter((line) => line.startsWith("written ")).at(-1) ?? "written 0";
    const completed = Number(reported.slice("written ".length));
    const reloaded = PaynetdState.open({ path });
    // What was reported written is there; a write cut short by the kill left the previous file.
    expect(reloaded.size.devices).toBeGreaterThanOrEqual(completed);
    expect(reloaded.size.devices % 200).toBe(0);
  });
});
