/** Checks of a chaos run, shared by the short (CI) and long forms. */
import { expect } from "vitest";
import type { ChaosReport, ReconnectWave } from "./chaos.js";

/** Target: at most this share of the fleet reconnects in any 100 ms window (thundering herd). */
export const RECONNECT_SPREAD_TARGET = 0.05;
/**
 * Fleets smaller than this are checked against the target as a rate over their densest second: a
 * fleet of 100 spread uniformly over 5 s puts 2 devices in a 100 ms window on average, and the
 * fullest of those windows holds 7-11 of them by chance alone.
 */
export const DEVICES_FOR_100MS_WINDOW = 1_000;

/**
 * The fleet came back spread, not in a herd, after the kill and after the full drop (sessions a few
 * seconds old each time: far younger than the default `stableAfterMs`). The old policy (young
 * sessions retried within 1 s, then 2 s) put 9-12 % of the fleet per 100 ms into its densest
 * second and 12-19 % into one 100 ms window (100 and 1000 devices).
 */
export function expectReconnectsSpread(report: ChaosReport): void {
  for (const [name, wave] of [
    ["after the kill", report.afterKill],
    ["after the drop", report.afterDrop],
  ] as const) {
    expect(
      wave.per100msOverPeakSecond,
      `reconnects ${name}, per 100 ms over the densest second`,
    ).toBeLessThanOrEqual(RECONNECT_SPREAD_TARGET);
    if (report.devices >= DEVICES_FOR_100MS_WINDOW)
      expect(wave.peak100ms, `reconnects ${name}, in one 100 ms window`).toBeLessThanOrEqual(
        RECONNECT_SPREAD_TARGET,
      );
  }
}

export function expectChaosSurvived(report: ChaosReport): void {
  expectReconnectsSpread(report);
  expect(report.onlineAfterRestart).toBe(report.devices);
  // Acknowledged commands were executed on their device, exactly once.
  for (const orderId of [...report.ackedBeforeKill, ...report.ackedAfterRestart]) {
    expect(report.executions.get(orderId), `acknowledged ${orderId} executions`).toBe(1);
  }
  // Nothing ran twice, including commands redelivered after the session drop.
  const twice = [...report.executions].filter(([, count]) => count > 1);
  expect(twice).toEqual([]);
  // The restarted server lost nothing: every phase-2 command was acknowledged.
  expect(report.failedAfterRestart).toEqual([]);
  expect(new Set(report.ackedAfterRestart)).toEqual(new Set(report.phase2Orders));
  for (const code of Object.keys(report.serverErrors)) expect(code.startsWith("untyped")).toBe(false);
}

/** One-line summary for the test output and bench/README.md. */
export function chaosSummary(report: ChaosReport): string {
  return [
    `devices ${report.devices}`,
    `all online ${(report.allOnlineAfterKillMs / 1000).toFixed(1)} s after kill (restart included)`,
    `${report.reconnects} attempts after the kill; ${waveSummary(report.afterKill)}`,
    `after the drop ${waveSummary(report.afterDrop)}`,
    `acked before kill ${report.ackedBeforeKill.length}, after restart ${report.ackedAfterRestart.length}`,
    `all online ${(report.allOnlineAfterDropMs / 1000).toFixed(1)} s after a full drop`,
    `server errors ${JSON.stringify(report.serverErrors)}`,
  ].join("; ");
}

function waveSummary(wave: ReconnectWave): string {
  const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
  return `peak ${pct(wave.peak100ms)} of the fleet in one 100 ms window (${pct(wave.peak100msStarted)} at the attempt starts), ${pct(wave.per100msOverPeakSecond)} per 100 ms over the densest second (target <= 5%)`;
}
