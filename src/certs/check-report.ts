/** The table `paynet-gen certs check` prints. */
import type { CheckReport } from "./check.js";

/**
 * One line per item: state, days left, expiry date, subject (or the CRL's entry count) and file,
 * in aligned columns, then a one-line verdict.
 */
export function formatCheckReport(report: CheckReport, warnDays: number): string {
  const rows = report.items.map((item) =>
    item.kind === "certificate"
      ? [item.state, String(item.daysLeft), item.notAfter.toISOString(), item.subject, item.path]
      : [
          item.state,
          item.daysLeft === undefined ? "-" : String(item.daysLeft),
          item.nextUpdate?.toISOString() ?? "never",
          `CRL, ${item.revoked} revoked (next update)`,
          item.path,
        ],
  );
  const header = ["STATE", "DAYS", "EXPIRES", "SUBJECT", "FILE"];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join("  ");
  const count = (state: string) => report.items.filter((item) => item.state === state).length;
  const verdict = report.needsAction
    ? `${count("expiring")} expiring (within ${warnDays} days), ${count("expired")} expired: renew them (paynet-gen certs init / certs device, certs revoke for the CRL)`
    : `all valid for ${warnDays} days or more${count("revoked") > 0 ? ` (${count("revoked")} revoked)` : ""}`;
  return [line(header), ...rows.map(line), "", verdict].join("\n");
}
