/** Checks of a cluster chaos run, shared by the short (`npm test`) and long (`npm run test:stress`) forms. */
import { expect } from "vitest";
import type { ClusterChaosReport, OrderVerdict } from "./cluster-chaos.js";

/** Zero lost, zero executed twice, one recorded final outcome each. */
export function expectEveryCommandOnce(orders: readonly OrderVerdict[], stray: readonly string[]): void {
  const notCompleted = orders.filter((o) => o.state !== "completed");
  expect(notCompleted, "commands without a completed record").toEqual([]);
  const notOnce = orders.filter((o) => o.executions !== 1);
  expect(notOnce, "commands not executed exactly once").toEqual([]);
  const outcomesNotOnce = orders.filter((o) => o.outcomes !== 1);
  expect(outcomesNotOnce, "commands without exactly one entry in the outcome stream").toEqual([]);
  expect(stray).toEqual([]);
}

export function expectClusterChaosSurvived(report: ClusterChaosReport): void {
  expectEveryCommandOnce(report.orders, report.strayExecutions);
  // The killed node's devices are back on the others, within 30 s, without a thundering herd.
  expect(report.onlineAfterKill).toBe(report.devices);
  expect(report.allOnlineAfterKillMs).toBeLessThan(30_000);
  expect(report.reconnectSpread).toBeLessThanOrEqual(0.05);
  expect(report.onlineAtEnd).toBe(report.devices);
  for (const code of Object.keys(report.nodeErrors)) expect(code.startsWith("untyped")).toBe(false);
}

/** One-line summary for the test output. */
export function clusterChaosSummary(report: ClusterChaosReport): string {
  return [
    `devices ${report.devices}, commands ${report.orders.length}`,
    `all online ${(report.allOnlineAfterKillMs / 1000).toFixed(1)} s after the node kill`,
    `${report.reconnects} attempts, peak ${(report.reconnectSpread * 100).toFixed(1)}% of the fleet in one 100 ms window (target <= 5%)`,
    `${report.refusals} pushes refused while Redis was down (retried)`,
    `node errors ${JSON.stringify(report.nodeErrors)}`,
    `node warnings ${JSON.stringify(report.nodeProblems)}`,
  ].join("; ");
}
