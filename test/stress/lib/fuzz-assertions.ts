/** The checks every fuzz run must pass, shared by the short (CI) and long forms. */
import { expect } from "vitest";
import type { FuzzReport } from "./fuzz.js";

/** Codes a hostile frame stream may cause; anything else means the fuzz found a bug. */
const EXPECTED_CODES = new Set([
  "DECODE_ERROR",
  "UNKNOWN_TYPE",
  "PROTOCOL_ERROR",
  "FRAME_TOO_LARGE",
  "HANDLER_ERROR",
  "READ_TIMEOUT",
  "CONNECTION_CLOSED",
  "SESSION_REPLACED",
  "QUEUE_FULL",
]);

export function expectFuzzSurvived(report: FuzzReport, frames: number, heapBoundBytes: number): void {
  expect(report.framesSent).toBeGreaterThanOrEqual(frames);
  expect(report.untypedErrors).toEqual([]);
  for (const code of [...Object.keys(report.errorsByCode), ...Object.keys(report.offlineByCode)]) {
    expect(EXPECTED_CODES.has(code), `unexpected error code ${code}`).toBe(true);
  }
  // Hostile frames were noticed (typed errors and log lines), not silently swallowed.
  expect(report.errorsByCode.DECODE_ERROR ?? 0).toBeGreaterThan(0);
  expect(report.errorsByCode.UNKNOWN_TYPE ?? 0).toBeGreaterThan(0);
  expect(report.logWarnings).toBeGreaterThan(0);
  // The healthy device was served throughout and nothing leaked a connection.
  expect(report.healthyWentOffline).toBe(false);
  expect(report.healthyRoundTrips).toBeGreaterThanOrEqual(report.connections / 4);
  expect(report.openSessionsAtEnd).toBe(0);
  if (report.heapStart !== undefined && report.heapEnd !== undefined) {
    expect(report.heapEnd - report.heapStart).toBeLessThan(heapBoundBytes);
  }
}
