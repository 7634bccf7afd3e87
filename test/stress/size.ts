/** Sizes of the full reliability suites; `STRESS_LONG=1` multiplies them. */
export const LONG = process.env.STRESS_LONG === "1";
const factor = LONG ? 5 : 1;

export const SIZES = {
  fuzzFrames: 1_000_000 * factor,
  chaosDevices: 1_000,
  chaosCommands: 2_000 * factor,
  soakDevices: 1_000,
  soakDurationMs: 60_000 * factor,
} as const;
