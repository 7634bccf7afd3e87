/**
 * paynetd's state against real processes: the device registry and the order book are bounded
 * (a clear refusal to the device or the operator when full), `__proto__` and `constructor` work as
 * serials and order ids, CoinAcks for unknown orders are ignored and counted without creating
 * orders or a log line each, and the state file written on stop is what a restarted paynetd knows.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoinState } from "../../examples/sdk/index.js";
import {
  Harness,
  LINE_TIMEOUT_MS,
  type ManagedProcess,
  type Paynetd,
  paynetcliArgs,
  postJson,
} from "./support/harness.js";
import { startSdkDevice } from "./support/sdk-device.js";

const harness = new Harness();
let certs: string;
let statePath: string;
let server: Paynetd;

/**
 * Plain TLS, no --mtls: under mTLS a serial must be its certificate's CN, and the registry's rules
 * do not depend on how devices are authenticated.
 */
function serverArgs(port: number): string[] {
  return [
    ...["--listen", `127.0.0.1:${port}`, "--certs", certs, "--command-coins", "0"],
    ...["--state", statePath, "--max-devices", "3", "--max-orders", "2", "--admin", "127.0.0.1:0"],
  ];
}

function device(sn: string): ManagedProcess {
  return harness.paynetcli(paynetcliArgs({ port: server.port, certs, sn, coinMs: 10 }), `paynetcli-${sn}`);
}

const coin = (deviceId: string, order: Record<string, unknown>) =>
  postJson(server, `/devices/${encodeURIComponent(deviceId)}/coin`, JSON.stringify(order));

beforeAll(async () => {
  certs = await harness.certs();
  statePath = join(await harness.tempDir(), "paynetd-state.json");
  server = await harness.paynetd(serverArgs(0));
});

afterAll(() => harness.cleanup());

describe("paynetd's device registry and order book", () => {
  let proto: ManagedProcess;
  let ctor: ManagedProcess;

  it("registers __proto__ and constructor as ordinary serials and refuses a device beyond --max-devices", async () => {
    proto = device("__proto__");
    ctor = device("constructor");
    await Promise.all([
      proto.waitForLine(/online \(.*\) as dev-__proto__/, LINE_TIMEOUT_MS),
      ctor.waitForLine(/online \(.*\) as dev-constructor/, LINE_TIMEOUT_MS),
    ]);
    const third = await startSdkDevice({ port: server.port, certsDir: certs, sn: "SN-3" });
    await third.online;
    await third.client.stop();

    const fourth = await startSdkDevice({ port: server.port, certsDir: certs, sn: "SN-4" });
    await expect(fourth.online).rejects.toMatchObject({
      code: "LOGIN_REFUSED",
      step: "register",
      message: expect.stringContaining("the device registry is full (3 devices, --max-devices)"),
    });
    await fourth.client.stop();
    await server.process.waitForLine(
      /WARN -> RegisterRsp FAILED "the device registry is full \(3 devices, --max-devices\)"/,
      LINE_TIMEOUT_MS,
    );
  });

  it("takes __proto__ and constructor as order ids and refuses an order beyond --max-orders", async () => {
    const first = await coin("dev-__proto__", { order_id: "__proto__", coins: 2 });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ device_id: "dev-__proto__", order_id: "__proto__", state: "DONE" });
    const second = await coin("dev-constructor", { order_id: "constructor", coins: 1 });
    expect(second.status).toBe(200);
    expect(second.json).toMatchObject({
      device_id: "dev-constructor",
      order_id: "constructor",
      state: "DONE",
    });
    // Each order id is its own device's: the other device cannot take it.
    expect((await coin("dev-constructor", { order_id: "__proto__", coins: 2 })).status).toBe(409);

    const full = await coin("dev-__proto__", { order_id: "ORD-3", coins: 1 });
    expect(full.status).toBe(507);
    expect(full.json).toMatchObject({
      code: "ORDERS_FULL",
      error: "the order book is full (2 orders, --max-orders)",
    });
    expect(proto.find(/CoinCommand order=ORD-3/)).toBeUndefined();
  });

  it("ignores CoinAcks for unknown orders: nothing stored, counted, one log line per window", async () => {
    const forger = await startSdkDevice({ port: server.port, certsDir: certs, sn: "SN-3" });
    try {
      await forger.online;
      for (let i = 0; i < 50; i++) {
        await forger.client.sendCoinAck({
          orderId: `NEVER-${i}`,
          state: CoinState.COIN_DONE,
          progress: 100,
          error: "",
        });
      }
      // A QueryReq after the acks: its answer means every ack before it was handled.
      const answer = await forger.client.requestQueryReq({ orderId: "NEVER-0" }, { timeoutMs: 10_000 });
      expect(answer).toMatchObject({ state: CoinState.COIN_FAILED, error: "unknown order NEVER-0" });
    } finally {
      await forger.client.stop();
    }
    expect(server.process.count(/ignored: no such order/)).toBe(1);
    expect(
      server.process.find(
        /WARN <- CoinAck dev-SN-3 order=NEVER-0 state=DONE progress=100 ignored: no such order \(1 unknown-order acks\)/,
      ),
    ).toBeDefined();
  });

  it("writes the state on stop, and a restarted paynetd knows the devices and orders", async () => {
    const port = server.port;
    expect(await server.process.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    const saved = JSON.parse(await readFile(statePath, "utf8")) as {
      devices: { serial: string }[];
      orders: { orderId: string }[];
    };
    expect(saved.devices.map((d) => d.serial).sort()).toEqual(["SN-3", "__proto__", "constructor"]);
    expect(saved.orders.map((o) => o.orderId)).toEqual(["__proto__", "constructor"]);

    server = await harness.paynetd(serverArgs(port), "paynetd-restarted");
    await server.process.waitForLine(/state .*: 3 devices, 2 orders/, LINE_TIMEOUT_MS);
    // A second __proto__ process while the first runs: it keeps its record of commands elsewhere.
    const askerData = await harness.tempDir("paynet-asker-");
    const asker = harness.paynetcli(
      [
        ...paynetcliArgs({ port, certs, sn: "__proto__" }),
        ...["--data", askerData, "--query", "__proto__", "--exit-after-query"],
      ],
      "paynetcli-ask",
    );
    await asker.waitForLine(/<- QueryRsp order=__proto__ state=DONE progress=100$/, LINE_TIMEOUT_MS);
    // Still full after the restart.
    const late = await startSdkDevice({ port, certsDir: certs, sn: "SN-5" });
    await expect(late.online).rejects.toMatchObject({ code: "LOGIN_REFUSED" });
    await late.client.stop();
  });
});
