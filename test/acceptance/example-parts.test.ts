/** Parts of the example programs that are checked without starting them: files they read. */
import { copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CERT_FILES, certsProblem } from "../../examples/demo/certs.js";
import { PaynetdState } from "../../examples/paynetd/state.js";
import { loadTicketKeys } from "../../examples/paynetd/tls.js";
import { ExampleError } from "../../examples/shared/errors.js";
import { Harness } from "./support/harness.js";

const harness = new Harness();
afterAll(() => harness.cleanup());

describe("paynetd --ticket-keys", () => {
  it("creates a 48-byte key file, reads it back, and refuses a file of another size as TICKET_KEYS", async () => {
    const path = join(await harness.tempDir(), "ticket.keys");
    const created = await loadTicketKeys(path);
    expect(created).toHaveLength(48);
    expect((await loadTicketKeys(path)).equals(created)).toBe(true);
    await writeFile(path, Buffer.alloc(47));
    const error = await loadTicketKeys(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExampleError);
    expect(error).toMatchObject({ code: "TICKET_KEYS" });
    expect((error as Error).message).toContain("expected 48 bytes, found 47");
  });

  it("reports an unreadable key file as TICKET_KEYS", async () => {
    const dir = join(await harness.tempDir(), "a-directory");
    await mkdir(dir);
    await expect(loadTicketKeys(dir)).rejects.toMatchObject({ code: "TICKET_KEYS" });
  });
});

describe("paynetd state: orders belong to their device", () => {
  it("keeps another device's acks and queries away from an order", () => {
    const state = PaynetdState.open();
    state.addOrder("O-1", "dev-a", 2);
    expect(state.orderConflict("O-1", "dev-a", 2)).toBeUndefined();
    expect(state.orderConflict("O-1", "dev-b", 2)).toBe("order O-1 belongs to another device");
    expect(state.orderConflict("O-1", "dev-a", 3)).toBe("order O-1 was already sent with 2 coin(s), not 3");
    expect(() => state.addOrder("O-1", "dev-b", 2)).toThrow(
      expect.objectContaining({ code: "ORDER_CONFLICT" }),
    );
    expect(state.recordAck("dev-b", { orderId: "O-1", state: 4, progress: 100, error: "x" })).toEqual({
      foreign: "dev-a",
    });
    expect(state.order("dev-b", "O-1")).toBeUndefined();
    expect(state.order("dev-a", "O-1")).toMatchObject({ acks: 0, progress: 0, error: "" });
  });
});

describe("demo certificates", () => {
  it("reuses a complete, valid set only", async () => {
    const dir = await harness.certs();
    expect(certsProblem(dir)).toBeUndefined();
    // Valid for less than a day from "now".
    expect(certsProblem(dir, Date.now() + 825 * 86_400_000 - 3_600_000)).toMatch(
      /^server\.crt expires within a day/,
    );
    for (const name of CERT_FILES) {
      const partial = await harness.certs();
      await rm(join(partial, name));
      expect(certsProblem(partial), name).toBe(`${name} is missing`);
    }
  });

  it("refuses leaves from another CA, keys of other certificates and short-lived certificates", async () => {
    const [dir, other, short] = await Promise.all([
      harness.certs(),
      harness.certs(),
      harness.certs({ days: 0.5 }),
    ]);
    expect(certsProblem(short)).toMatch(/^server\.crt expires within a day/);
    await copyFile(join(other, "device.crt"), join(dir, "device.crt"));
    expect(certsProblem(dir)).toBe("device.crt was not issued by ca.crt");
    await copyFile(join(other, "server.key"), join(other, "device.key"));
    expect(certsProblem(other)).toBe("device.key does not belong to device.crt");
  });

  it("refuses a device certificate that names another device than the demo's", async () => {
    const old = await harness.certs({ deviceSn: "device-001" });
    expect(certsProblem(old)).toBe("device.crt names CN=device-001, not the device SN-DEMO-001");
    expect(certsProblem(old, Date.now(), "device-001")).toBeUndefined();
  });
});
