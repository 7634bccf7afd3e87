/** Checks of a device chaos run, shared by the short (CI) and long forms. */
import { expect } from "vitest";
import { CoinState } from "../../../examples/sdk/index.js";
import type { DeviceChaosReport } from "./device-chaos.js";

export function expectDeviceChaosSurvived(report: DeviceChaosReport, minKills: number): void {
  expect(report.kills.length).toBeGreaterThanOrEqual(minKills);
  // At most once: no order was executed twice, whatever the kills.
  const twice = [...report.executions].filter(([, count]) => count > 1);
  expect(twice).toEqual([]);
  // Zero lost: every order ended at the cloud with a final reply.
  const lost = report.orders.filter((orderId) => !report.finals.has(orderId));
  expect(lost).toEqual([]);
  for (const orderId of report.orders) {
    const final = report.finals.get(orderId)!;
    if (final.state === CoinState.COIN_DONE) {
      // DONE means dispensed, exactly once.
      expect(report.executions.get(orderId), `executions of DONE ${orderId}`).toBe(1);
    } else {
      // The only failure is a command a kill interrupted: not run again, reported for reconciliation.
      expect(final.state, `final state of ${orderId}`).toBe(CoinState.COIN_FAILED);
      expect(final.error, `error of ${orderId}`).toMatch(/^interrupted, reconcile manually/);
      expect(report.executions.get(orderId) ?? 0).toBeLessThanOrEqual(1);
    }
  }
  // Executions of orders that never existed would be a bug in the test itself.
  for (const orderId of report.executions.keys()) expect(report.orders).toContain(orderId);
  // The journal stays bounded: compaction keeps it proportional to its bound, not to the history.
  const { records, bytes, maxEntries } = report.journal;
  expect(records).toBeLessThanOrEqual(2 * maxEntries + 256 + 1);
  expect(bytes).toBeLessThanOrEqual((2 * maxEntries + 257) * 1_024);
}

/** One-line summary for the test output. */
export function deviceChaosSummary(report: DeviceChaosReport): string {
  const finals = [...report.finals.values()];
  const done = finals.filter((ack) => ack.state === CoinState.COIN_DONE).length;
  const moments = new Map<string, number>();
  for (const moment of report.kills) moments.set(moment, (moments.get(moment) ?? 0) + 1);
  return [
    `${report.orders.length} orders in ${(report.durationMs / 1000).toFixed(1)} s`,
    `${report.kills.length} SIGKILLs (${[...moments].map(([moment, n]) => `${n} ${moment}`).join(", ")})`,
    `${done} DONE, ${finals.length - done} FAILED interrupted (${report.interruptedEvents} interrupted events)`,
    `${[...report.executions.values()].reduce((a, b) => a + b, 0)} executions, none twice`,
    `journal ${report.journal.records} records / ${report.journal.bytes} bytes (bound ${report.journal.maxEntries} entries)`,
  ].join("; ");
}
