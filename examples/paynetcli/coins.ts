/**
 * The device's coin mechanism: executes a CoinCommand coin by coin and reports every step with a
 * CoinAck (ACCEPTED, RUNNING per coin, then DONE or FAILED). A command whose order id was executed
 * before never reaches this code: the generated dispatch registers CoinCommand with its order id as
 * idempotency key, so the runtime answers a redelivered command from the recorded acks.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type CoinAck, type CoinCommand, CoinState, type PayboxClientContext } from "../sdk/index.js";
import { coinStateName } from "../shared/coin.js";
import type { Log } from "../shared/log.js";

export interface CoinMechanism {
  /** Time per coin. */
  readonly coinMs: number;
  readonly log: Log;
  /** Told about each order before it runs (the device queries its last order after a reconnect). */
  readonly onOrder: (orderId: string) => void;
}

/** Executes `command`; returns the final ack (sent back by the generated dispatch). */
export async function executeCoinCommand(
  command: CoinCommand,
  ctx: PayboxClientContext<CoinAck>,
  { coinMs, log, onOrder }: CoinMechanism,
): Promise<Partial<CoinAck>> {
  const { orderId, coins, timeout } = command;
  log.info(`<- CoinCommand order=${orderId} coins=${coins} timeout=${timeout}s`);
  log.info(`executing order ${orderId}: ${coins} coin(s)`);
  onOrder(orderId);
  const ack = async (state: number, progress: number, error = ""): Promise<Partial<CoinAck>> => {
    const message = { orderId, state, progress, error };
    log.info(
      `-> CoinAck order=${orderId} state=${coinStateName(state)} progress=${progress}${error === "" ? "" : ` error="${error}"`}`,
    );
    return message;
  };
  await ctx.reply(await ack(CoinState.COIN_ACCEPTED, 0));
  const deadline = timeout > 0 ? Date.now() + timeout * 1000 : Number.POSITIVE_INFINITY;
  for (let coin = 1; coin <= coins; coin++) {
    await sleep(coinMs);
    const progress = Math.floor((coin * 100) / coins);
    if (Date.now() > deadline) {
      return ack(CoinState.COIN_FAILED, progress, `timed out after ${timeout}s at coin ${coin}/${coins}`);
    }
    await ctx.reply(await ack(CoinState.COIN_RUNNING, progress));
  }
  return ack(CoinState.COIN_DONE, 100);
}
