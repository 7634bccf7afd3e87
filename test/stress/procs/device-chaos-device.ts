/**
 * Device process of the device chaos suite (started with `node --import examples/register.mjs`): a
 * payment box on the generated paybox SDK with its record of executed commands in a
 * FileIdempotencyStore. Executing a CoinCommand appends its order id to `executions` (a file outside
 * this process: what a SIGKILL cannot take back), between ACCEPTED and DONE. Tells the driver over
 * IPC when it is online and where each command is, so the driver can kill it at chosen moments.
 */
import { appendFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { FileIdempotencyStore } from "@paynet/runtime";
import { CoinState, createPayboxClient } from "../../../examples/sdk/index.js";

interface Config {
  port: number;
  ca: string;
  deviceId: string;
  journal: string;
  executions: string;
  maxEntries: number;
  /** Up to how many ms each coin takes. */
  coinMs: number;
}

const config = JSON.parse(process.argv[2] ?? "{}") as Config;
const tell = (event: string, data: unknown = null) => process.send?.({ event, data });

const commands = await FileIdempotencyStore.open(config.journal, { maxEntries: config.maxEntries });
const client = createPayboxClient(
  {
    host: "127.0.0.1",
    port: config.port,
    tls: { ca: config.ca, servername: "localhost" },
    login: () => ({ deviceId: config.deviceId, token: "chaos" }),
    heartbeat: false,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200, spreadMs: 0 },
    idempotencyStore: commands,
  },
  {
    async CoinCommand(command, ctx) {
      const { orderId, coins } = command;
      // Claimed (on disk) but not executed yet: a kill now leaves an interrupted record, no coins.
      tell("start", orderId);
      await ctx.reply({ orderId, state: CoinState.COIN_ACCEPTED });
      await sleep(Math.random() * 20);
      appendFileSync(config.executions, `${orderId} ${process.pid}\n`);
      tell("executed", orderId);
      for (let coin = 1; coin <= coins; coin++) {
        await sleep(Math.random() * config.coinMs);
        await ctx.reply({
          orderId,
          state: CoinState.COIN_RUNNING,
          progress: Math.floor((coin * 100) / coins),
        });
      }
      tell("finishing", orderId);
      return { orderId, state: CoinState.COIN_DONE, progress: 100 };
    },
  },
);
client.on("online", () => tell("online", { recovered: commands.recovery ?? null }));
client.on("interrupted", (info) => tell("interrupted", info.key));
client.start();

process.on("message", async (message: { cmd?: string }) => {
  if (message.cmd !== "stop") return;
  await client.stop();
  await commands.close();
  tell("stopped", { journalBytes: commands.journalBytes, journalRecords: commands.journalRecords });
  process.exit(0);
});
// The driver went away: nobody would ever stop us.
process.on("disconnect", () => process.exit(0));
