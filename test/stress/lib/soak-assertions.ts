/** Checks of a soak run, shared by the short (CI) and long forms. */
import { expect } from "vitest";
import type { SoakReport } from "./soak.js";

const MiB = 1024 * 1024;

export function expectSoakHealthy(report: SoakReport): void {
  expect(report.onlineAtEnd).toBe(report.devices);
  expect(report.failed).toEqual([]);
  expect(report.acked).toBe(report.commands);
  expect(report.executedTwice).toEqual([]);
  expect(report.notExecuted).toBe(0);
  expect(report.dropped).toBeGreaterThan(0);
  expect(report.pings.ok).toBeGreaterThan(0);
  // After GC the server holds what it held at the start, within a small bound: no per-session,
  // per-command or per-reconnect leak.
  expect(report.end.heapUsed).toBeLessThan(report.start.heapUsed * 1.25 + 8 * MiB);
  expect(report.end.rss).toBeLessThan(report.start.rss * 1.5 + 32 * MiB);
  for (const code of Object.keys(report.serverErrors)) expect(code.startsWith("untyped")).toBe(false);
}

export function soakSummary(report: SoakReport): string {
  const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
  return [
    `${report.devices} devices, ${(report.durationMs / 1000).toFixed(0)} s`,
    `${report.commands} commands (${report.acked} acked), ${report.pings.ok} pings, ${report.dropped} sessions dropped`,
    `server heap ${mib(report.start.heapUsed)} -> ${mib(report.end.heapUsed)}`,
    `server RSS ${mib(report.start.rss)} -> ${mib(report.end.rss)}`,
  ].join("; ");
}
