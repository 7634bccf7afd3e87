/** Parts of the example programs that are checked without starting them: files they read. */
import { copyFile, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CERT_FILES, certsProblem } from "../../examples/demo/certs.js";
import { loadAdminToken } from "../../examples/paynetd/admin-token.js";
import { parsePaynetdArgs } from "../../examples/paynetd/options.js";
import { PaynetdState } from "../../examples/paynetd/state.js";
import { loadTicketKeys } from "../../examples/paynetd/tls.js";
import { ExampleError } from "../../examples/shared/errors.js";
import { createLog } from "../../examples/shared/log.js";
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

describe("paynetd options", () => {
  const base = ["--listen", "127.0.0.1:0", "--certs", "certs"];

  it("bounds the state by default and keeps the admin token next to the server key", () => {
    expect(parsePaynetdArgs(base)).toMatchObject({
      maxDevices: 100_000,
      maxOrders: 100_000,
      adminTokenFile: join("certs", "admin.token"),
      adminToken: undefined,
    });
    expect(parsePaynetdArgs([...base, "--max-devices", "5", "--admin-token-file", "t"])).toMatchObject({
      maxDevices: 5,
      adminTokenFile: "t",
    });
  });

  it("refuses limits of 0 and limits that are no counts", () => {
    expect(() => parsePaynetdArgs([...base, "--max-orders", "0"])).toThrow(
      '--max-orders: expected an integer >= 1, got "0"',
    );
    expect(() => parsePaynetdArgs([...base, "--max-devices", "many"])).toThrow(
      '--max-devices: expected an integer >= 1, got "many"',
    );
  });
});

describe("paynetd admin token", () => {
  const lines: string[] = [];
  const log = createLog("test", { format: "pretty", level: "info" }, (line) => lines.push(line));

  it("generates a token once into a missing file (mode 0600) and reads it back afterwards", async () => {
    const file = join(await harness.tempDir(), "admin.token");
    const token = await loadAdminToken({ file }, log);
    expect((await readFile(file, "utf8")).trim()).toBe(token);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(lines.filter((line) => line.includes(token))).toHaveLength(1);
    expect(await loadAdminToken({ file }, log)).toBe(token);
    expect(lines.filter((line) => line.includes(token))).toHaveLength(1);
  });

  it("refuses short tokens and warns about a file others can read", async () => {
    const file = join(await harness.tempDir(), "admin.token");
    await writeFile(file, "short\n", { mode: 0o644 });
    await expect(loadAdminToken({ file }, log)).rejects.toMatchObject({ code: "ADMIN" });
    expect(lines.at(-1)).toMatch(/WARN admin token .* is readable by others \(mode 644\)/);
    await expect(loadAdminToken({ token: "x".repeat(15), file }, log)).rejects.toThrow(
      /at least 16 characters/,
    );
    expect(await loadAdminToken({ token: "x".repeat(16), file }, log)).toBe("x".repeat(16));
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
