/**
 * Read-your-writes in paynetd: a QueryReq that arrives right behind the final CoinAck (in the same
 * TLS record) is answered with the final state, not the one before it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoinState, type QueryRsp } from "../../examples/sdk/index.js";
import { Harness, type Paynetd, paynetdArgs, postJson } from "./support/harness.js";
import { type SdkDevice, startSdkDevice } from "./support/sdk-device.js";

const harness = new Harness();
let certs: string;
let server: Paynetd;

beforeAll(async () => {
  certs = await harness.certs({ devices: ["SN-RYW"] });
  server = await harness.paynetd(paynetdArgs({ certs, admin: true }));
});

afterAll(() => harness.cleanup());

describe("a query right behind the final ack", () => {
  it("reports the final state", async () => {
    let device: SdkDevice | undefined;
    const answers: Promise<QueryRsp>[] = [];
    device = await startSdkDevice({
      port: server.port,
      certsDir: certs,
      sn: "SN-RYW",
      handlers: {
        async CoinCommand(command, ctx) {
          await ctx.reply({ orderId: command.orderId, state: CoinState.COIN_ACCEPTED });
          await ctx.reply({ orderId: command.orderId, state: CoinState.COIN_DONE, progress: 100 });
          // Same turn as the final ack: both frames go out in one write, so paynetd handles them in
          // one go, the query before anything awaiting the ack had a chance to run.
          answers.push(device!.client.requestQueryReq({ orderId: command.orderId }, { timeoutMs: 10_000 }));
          return undefined;
        },
      },
    });
    await device.online;
    try {
      for (let i = 1; i <= 5; i++) {
        const orderId = `RYW-${i}`;
        const pushed = await postJson(
          server,
          "/devices/dev-SN-RYW/coin",
          JSON.stringify({ order_id: orderId, coins: 1 }),
        );
        expect(pushed.json).toMatchObject({ order_id: orderId, state: "DONE" });
        expect(await answers[i - 1]).toMatchObject({ orderId, state: CoinState.COIN_DONE, progress: 100 });
      }
    } finally {
      await device.client.stop();
    }
  });
});
