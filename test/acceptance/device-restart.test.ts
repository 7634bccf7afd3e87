/**
 * paynetcli remembers the commands it executed across restarts (its record in `--data`, by default
 * `paynetcli-data/<sn>` in the working directory): a redelivered order is answered from the record
 * after the device process was stopped or killed, never dispensed twice.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Harness,
  LINE_TIMEOUT_MS,
  type Paynetd,
  paynetcliArgs,
  paynetdArgs,
  postJson,
} from "./support/harness.js";

const harness = new Harness();
let certs: string;
let server: Paynetd;
let data: string;

beforeAll(async () => {
  certs = await harness.certs({ devices: ["SN-RESTART"] });
  server = await harness.paynetd(paynetdArgs({ certs, admin: true }));
  data = join(await harness.tempDir(), "box");
});

afterAll(() => harness.cleanup());

const device = (name: string, coinMs = 20) =>
  harness.paynetcli(
    paynetcliArgs({ port: server.port, certs, sn: "SN-RESTART", coinMs, extra: ["--data", data] }),
    name,
  );
const coin = (order: Record<string, unknown>) =>
  postJson(server, "/devices/dev-SN-RESTART/coin", JSON.stringify(order));

describe("paynetcli across restarts", () => {
  it("answers an order it executed before a restart from its record, without dispensing again", async () => {
    const first = device("paynetcli-1");
    await first.waitForLine(
      /record of executed commands: .*commands\.journal \(0 remembered\)/,
      LINE_TIMEOUT_MS,
    );
    await first.waitForLine(/online \(.*\) as dev-SN-RESTART/, LINE_TIMEOUT_MS);
    expect((await coin({ order_id: "ORD-R1", coins: 2 })).json).toMatchObject({ state: "DONE" });
    expect(first.count(/executing order ORD-R1:/)).toBe(1);
    await first.stop("SIGTERM");
    expect(existsSync(join(data, "commands.journal"))).toBe(true);

    const second = device("paynetcli-2");
    await second.waitForLine(/record of executed commands: .*\(1 remembered\)/, LINE_TIMEOUT_MS);
    await second.waitForLine(/online \(.*\) as dev-SN-RESTART/, LINE_TIMEOUT_MS);
    expect((await coin({ order_id: "ORD-R1", coins: 2 })).json).toMatchObject({
      state: "DONE",
      progress: 100,
    });
    await second.waitForLine(/duplicate command answered from its record.*key=ORD-R1/, LINE_TIMEOUT_MS);
    expect(second.count(/executing order ORD-R1:/)).toBe(0);
    await second.stop("SIGTERM");
  });

  it("answers an order it was dispensing when it was killed FAILED, interrupted, and never dispenses it again", async () => {
    // Slow coins: the device is mid-way through the order when it is killed.
    const first = device("paynetcli-3", 2_000);
    await first.waitForLine(/online \(.*\) as dev-SN-RESTART/, LINE_TIMEOUT_MS);
    const answer = coin({ order_id: "ORD-K1", coins: 3 });
    await first.waitForLine(/-> CoinAck order=ORD-K1 state=ACCEPTED/, LINE_TIMEOUT_MS);
    await first.stop("SIGKILL");

    const second = device("paynetcli-4");
    const { status, json } = await answer;
    expect(status).toBe(200);
    expect(json).toMatchObject({ order_id: "ORD-K1", state: "FAILED" });
    expect(String(json.error)).toMatch(/^interrupted, reconcile manually/);
    await second.waitForLine(
      /order ORD-K1 was interrupted by a restart while dispensing: answered FAILED/,
      LINE_TIMEOUT_MS,
    );
    expect(first.count(/executing order ORD-K1:/)).toBe(1);
    expect(second.count(/executing order ORD-K1:/)).toBe(0);
    await second.stop("SIGTERM");
  });
});
