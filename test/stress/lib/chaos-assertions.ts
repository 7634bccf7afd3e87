/** Checks of a chaos run, shared by the short (CI) and long forms. */
import { expect } from "vitest";
import type { ChaosReport } from "./chaos.js";

export function expectChaosSurvived(report: ChaosReport): void {
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
    `${report.reconnects} attempts after the kill, peak ${(report.reconnectSpread * 100).toFixed(1)}% of the fleet in one 100 ms window (target <= 5%)`,
    `acked before kill ${report.ackedBeforeKill.length}, after restart ${report.ackedAfterRestart.length}`,
    `all online ${(report.allOnlineAfterDropMs / 1000).toFixed(1)} s after a full drop`,
    `server errors ${JSON.stringify(report.serverErrors)}`,
  ].join("; ");
}
