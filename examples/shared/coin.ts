import { CoinState, ResultCode } from "../sdk/index.js";

const coinStateNames = new Map<number, string>(
  Object.entries(CoinState).map(([name, value]) => [value, name.replace(/^COIN_/, "")]),
);
const resultCodeNames = new Map<number, string>(
  Object.entries(ResultCode).map(([name, value]) => [value, name]),
);

/** `DONE` for `CoinState.COIN_DONE`; unknown values as `STATE(7)`. */
export function coinStateName(state: number): string {
  return coinStateNames.get(state) ?? `STATE(${state})`;
}

/** `UNAUTHORIZED` for `ResultCode.UNAUTHORIZED`; unknown values as `CODE(9)`. */
export function resultCodeName(code: number): string {
  return resultCodeNames.get(code) ?? `CODE(${code})`;
}

/** Whether a coin state ends an order (no further acks expected). */
export function isFinalCoinState(state: number): boolean {
  return state === CoinState.COIN_DONE || state === CoinState.COIN_FAILED;
}
