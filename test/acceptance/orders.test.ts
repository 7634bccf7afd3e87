/**
 * Orders belong to devices (paynetd's admin endpoint and handlers): an order id cannot be pushed
 * to another device or with other coins, another device's CoinAcks change nothing and its queries
 * learn nothing; a duplicate CoinCommand arriving while the first still runs is executed once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoinState } from "../../examples/sdk/index.js";
import {
  Harness,
  LINE_TIMEOUT_MS,
  type ManagedProcess,
  type Paynetd,
  paynetcliArgs,
  paynetdArgs,
  postJson,
} from "./support/harness.js";
import { startSdkDevice } from "./support/sdk-device.js";

const harness = new Harness();
let certs: string;
let server: Paynetd;
let one: ManagedProcess;
let two: ManagedProcess;

function device(sn: string, coinMs: number): ManagedProcess {
  return harness.paynetcli(paynetcliArgs({ port: server.port, certs, sn, coinMs }), `paynetcli-${sn}`);
}

beforeAll(async () => {
  certs = await harness.certs({ devices: ["SN-ONE", "SN-TWO", "SN-INTRUDER"] });
  server = await harness.paynetd(paynetdArgs({ certs, admin: true }));
  one = device("SN-ONE", 20);
  // Slow coins: a command takes seconds, long enough to send it again while it runs.
  two = device("SN-TWO", 400);
  await Promise.all([
    one.waitForLine(/online \(.*\) as dev-SN-ONE/, LINE_TIMEOUT_MS),
    two.waitForLine(/online \(.*\) as dev-SN-TWO/, LINE_TIMEOUT_MS),
  ]);
});

afterAll(() => harness.cleanup());

const coin = (deviceId: string, order: Record<string, unknown>) =>
  postJson(server, `/devices/${deviceId}/coin`, JSON.stringify(order));

describe("an order id belongs to one device and one amount", () => {
  it("refuses with 409 the order id of another device, or with other coins; nothing is sent", async () => {
    const first = await coin("dev-SN-ONE", { order_id: "ORD-1", coins: 2 });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ device_id: "dev-SN-ONE", state: "DONE", progress: 100 });

    const otherDevice = await coin("dev-SN-TWO", { order_id: "ORD-1", coins: 2 });
    expect(otherDevice.status).toBe(409);
    expect(otherDevice.json).toMatchObject({
      code: "ORDER_CONFLICT",
      error: "order ORD-1 belongs to another device",
    });
    const otherCoins = await coin("dev-SN-ONE", { order_id: "ORD-1", coins: 3 });
    expect(otherCoins.status).toBe(409);
    expect(otherCoins.json.error).toBe("order ORD-1 was already sent with 2 coin(s), not 3");

    // A refusal is decided before anything is sent, so nothing can still be on its way.
    expect(two.find(/CoinCommand order=ORD-1\b/)).toBeUndefined();
    expect(server.process.find(/-> CoinCommand dev-SN-TWO order=ORD-1\b/)).toBeUndefined();
    expect(server.process.count(/-> CoinCommand dev-SN-ONE order=ORD-1\b/)).toBe(1);
    expect(one.count(/executing order ORD-1:/)).toBe(1);
    await server.process.waitForLine(/WARN admin: order ORD-1 refused: .*another device/, LINE_TIMEOUT_MS);
  });

  it("ignores another device's CoinAck for the order and answers its QueryReq as unknown", async () => {
    const intruder = await startSdkDevice({ port: server.port, certsDir: certs, sn: "SN-INTRUDER" });
    try {
      await intruder.online;
      await intruder.client.sendCoinAck({
        orderId: "ORD-1",
        state: CoinState.COIN_FAILED,
        progress: 0,
        error: "forged",
      });
      await server.process.waitForLine(
        /WARN <- CoinAck dev-SN-INTRUDER order=ORD-1 state=FAILED progress=0 error="forged" ignored: the order belongs to another device/,
        LINE_TIMEOUT_MS,
      );
      const answer = await intruder.client.requestQueryReq({ orderId: "ORD-1" }, { timeoutMs: 10_000 });
      expect(answer).toMatchObject({
        orderId: "ORD-1",
        state: CoinState.COIN_FAILED,
        progress: 0,
        error: "unknown order ORD-1",
      });
    } finally {
      await intruder.client.stop();
    }
    // The owner still sees its order as it was: DONE, no error. The asker is a second process of
    // SN-ONE while the first still runs and holds its journal, so it keeps its record elsewhere.
    const askerData = await harness.tempDir("paynet-asker-");
    const asker = harness.paynetcli(
      [
        "--data",
        askerData,
        "--connect",
        `127.0.0.1:${server.port}`,
        "--certs",
        certs,
        "--sn",
        "SN-ONE",
        "--query",
        "ORD-1",
        "--exit-after-query",
      ],
      "paynetcli-ask",
    );
    await asker.waitForLine(/<- QueryRsp order=ORD-1 state=DONE progress=100$/, LINE_TIMEOUT_MS);
  });
});

describe("a duplicate CoinCommand while the first one runs", () => {
  it("is sent again and executed once; both admin requests get the same final state", async () => {
    const order = { order_id: "ORD-DUP", coins: 5 };
    const first = coin("dev-SN-TWO", order);
    // The device is dispensing (five coins at 400 ms each): push the same order again.
    await two.waitForLine(/-> CoinAck order=ORD-DUP state=ACCEPTED/, LINE_TIMEOUT_MS);
    const second = coin("dev-SN-TWO", order);
    const [a, b] = await Promise.all([first, second]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.json).toEqual(a.json);
    expect(a.json).toMatchObject({ order_id: "ORD-DUP", state: "DONE", progress: 100 });

    await server.process.waitForLine(
      /-> CoinCommand dev-SN-TWO order=ORD-DUP coins=5 .*\(again, while it runs\)/,
      LINE_TIMEOUT_MS,
    );
    const duplicate = await two.waitForLine(
      /duplicate command answered from its record.*key=ORD-DUP/,
      LINE_TIMEOUT_MS,
    );
    const done = await two.waitForLine(/-> CoinAck order=ORD-DUP state=DONE/, LINE_TIMEOUT_MS);
    // Answered while the first execution was still running, which ran alone.
    expect(duplicate.index).toBeLessThan(done.index);
    expect(two.count(/executing order ORD-DUP:/)).toBe(1);
    expect(two.count(/-> CoinAck order=ORD-DUP state=RUNNING/)).toBe(5);
    await server.process.waitForLine(/<- CoinAck dev-SN-TWO order=ORD-DUP .*\(repeat; /, LINE_TIMEOUT_MS);
  });
});

describe("admin endpoint input", () => {
  it("answers 400 to a malformed %-escape in the device id, and keeps serving", async () => {
    const bad = await postJson(server, "/devices/%E0%A4%A/coin", JSON.stringify({ order_id: "X", coins: 1 }));
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/malformed %-escape/);
    const escaped = await coin("dev%2DSN%2DONE", { order_id: "ORD-ESC", coins: 1 });
    expect(escaped.status).toBe(200);
    expect(escaped.json).toMatchObject({ device_id: "dev-SN-ONE", state: "DONE" });
  });
});
