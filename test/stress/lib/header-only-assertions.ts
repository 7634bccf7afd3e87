/** The checks of the header-only-peers measurement, shared by the short and full forms. */
import { expect } from "vitest";
import type { HeaderOnlyReport } from "./header-only.js";

/**
 * A header-only peer may cost at most a quarter more than an idle peer, plus a small constant
 * (a few hundred bytes of decoder state is fine, a 64 KiB buffer is not). Both are measured in the
 * same run, after full GCs in a server process of their own, so machine load moves both alike.
 */
export function expectHeaderOnlyCheap(report: HeaderOnlyReport): void {
  console.log(
    `header-only peers (${report.peers}): idle ${kib(report.idle.heap)} heap+buffers / ${kib(report.idle.rss)} RSS per peer; ` +
      `header-only ${kib(report.headerOnly.heap)} / ${kib(report.headerOnly.rss)}; ` +
      `strict server refused ${report.strict.refused}, ${report.strict.warnLines} warn lines`,
  );
  expect(report.headerOnly.heap).toBeLessThan(Math.max(report.idle.heap, 0) * 1.25 + 2_048);
  expect(report.headerOnly.rss).toBeLessThan(Math.max(report.idle.rss, 0) * 1.5 + 8_192);
  expect(report.strict).toEqual({ refused: report.peers, open: 0, warnLines: report.peers });
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
