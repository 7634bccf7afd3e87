/**
 * Acceptance §7.4–7.6 (business command, query, idempotency), through paynetd's admin endpoint:
 * a CoinCommand answered by several CoinAcks ends in one consistent final state; the order can be
 * queried after a reconnect; a repeated order id is executed once and its acks may repeat.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Harness,
  LINE_TIMEOUT_MS,
  literal,
  type ManagedProcess,
  type Paynetd,
  paynetcliArgs,
  paynetdArgs,
  postJson,
} from "./support/harness.js";

const harness = new Harness();
let certs: string;
let statePath: string;
let server: Paynetd;
let device: ManagedProcess;

function serverArgs(port: number): string[] {
  return paynetdArgs({ port, certs, admin: true, state: statePath });
}

beforeAll(async () => {
  certs = await harness.certs({ devices: ["SN-COIN", "SN-ASK"] });
  statePath = join(await harness.tempDir(), "paynetd-state.json");
  server = await harness.paynetd(serverArgs(0));
  device = harness.paynetcli(paynetcliArgs({ port: server.port, certs, sn: "SN-COIN", coinMs: 20 }));
  await device.waitForLine(/online \(.*\) as dev-SN-COIN/, LINE_TIMEOUT_MS);
});

afterAll(() => harness.cleanup());

const coinPath = (deviceId: string) => `/devices/${deviceId}/coin`;

/** The states paynetd logged for `orderId`, in arrival order. */
function ackStates(paynetd: ManagedProcess, orderId: string): string[] {
  const pattern = new RegExp(`<- CoinAck dev-SN-COIN order=${literal(orderId)} state=(\\w+)`);
  return paynetd.lines.flatMap((line) => {
    const match = pattern.exec(line);
    return match === null ? [] : [match[1] as string];
  });
}

describe("CoinCommand and CoinAcks", () => {
  it("reaches one consistent final state through several acks", async () => {
    const { status, json } = await postJson(
      server,
      coinPath("dev-SN-COIN"),
      JSON.stringify({ order_id: "ORD-A", coins: 4 }),
    );
    expect(status).toBe(200);
    expect(json).toMatchObject({
      device_id: "dev-SN-COIN",
      order_id: "ORD-A",
      coins: 4,
      state: "DONE",
      progress: 100,
      error: "",
    });
    // Logs travel on other pipes than the HTTP answer: wait until they are in.
    await server.process.waitForLine(/admin: order ORD-A ended DONE 100%/, LINE_TIMEOUT_MS);
    await device.waitForLine(/-> CoinAck order=ORD-A state=DONE/, LINE_TIMEOUT_MS);
    // ACCEPTED, RUNNING per coin, DONE.
    expect(ackStates(server.process, "ORD-A")).toEqual([
      "ACCEPTED",
      "RUNNING",
      "RUNNING",
      "RUNNING",
      "RUNNING",
      "DONE",
    ]);
    expect(json.acks).toBe(6);
    const progress = device.lines.flatMap(
      (line) => /-> CoinAck order=ORD-A state=\w+ progress=(\d+)/.exec(line)?.[1] ?? [],
    );
    expect(progress.map(Number)).toEqual([0, 25, 50, 75, 100, 100]);
  });

  it("executes a repeated order id once; the repeated ack is accepted and the answer is the same", async () => {
    const { status, json } = await postJson(
      server,
      coinPath("dev-SN-COIN"),
      JSON.stringify({ order_id: "ORD-A", coins: 4 }),
    );
    expect(status).toBe(200);
    expect(json).toMatchObject({ order_id: "ORD-A", state: "DONE", progress: 100 });
    // The device answered from its record instead of running the coin mechanism again.
    await device.waitForLine(/duplicate command answered from its record.*key=ORD-A/, LINE_TIMEOUT_MS);
    expect(device.count(/executing order ORD-A:/)).toBe(1);
    await server.process.waitForLine(
      /<- CoinAck dev-SN-COIN order=ORD-A state=DONE progress=100 \(repeat; order stays DONE 100%\)/,
      LINE_TIMEOUT_MS,
    );
  });

  it("rejects requests for offline devices and malformed bodies", async () => {
    expect(
      (await postJson(server, coinPath("dev-NOBODY"), JSON.stringify({ order_id: "X", coins: 1 }))).status,
    ).toBe(404);
    expect((await postJson(server, coinPath("dev-SN-COIN"), "{not json")).status).toBe(400);
    const noCoins = await postJson(
      server,
      coinPath("dev-SN-COIN"),
      JSON.stringify({ order_id: "X", coins: 0 }),
    );
    expect(noCoins.status).toBe(400);
    expect(String(noCoins.json.error)).toMatch(/coins/);
    expect(device.find(/order=X\b/)).toBeUndefined();
  });
});

describe("query after reconnect", () => {
  it("queries the last order after the server restarted and gets its final state", async () => {
    const before = device.lines.length;
    await server.process.stop("SIGTERM");
    server = await harness.paynetd(serverArgs(server.port), "paynetd-restarted");
    await device.waitForLine(/online \(.*\) as dev-SN-COIN/, LINE_TIMEOUT_MS, before);
    await device.waitForLine(/-> QueryReq order=ORD-A/, LINE_TIMEOUT_MS, before);
    await device.waitForLine(/<- QueryRsp order=ORD-A state=DONE progress=100$/, LINE_TIMEOUT_MS, before);
    await server.process.waitForLine(
      /-> QueryRsp dev-SN-COIN order=ORD-A state=DONE progress=100/,
      LINE_TIMEOUT_MS,
    );
  });

  it("answers FAILED with an error text for an unknown order", async () => {
    const asker = harness.paynetcli(
      [
        "--connect",
        `127.0.0.1:${server.port}`,
        "--certs",
        certs,
        "--sn",
        "SN-ASK",
        "--query",
        "NO-SUCH-ORDER",
        "--exit-after-query",
      ],
      "paynetcli-ask",
    );
    await asker.waitForLine(
      /<- QueryRsp order=NO-SUCH-ORDER state=FAILED progress=0 error="unknown order NO-SUCH-ORDER"/,
      LINE_TIMEOUT_MS,
    );
    expect(await asker.exited).toEqual({ code: 0, signal: null });
  });
});
