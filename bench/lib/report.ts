/** Result rows, the printed table and the target verdicts. */

/** One line of the result table. */
export interface Row {
  readonly scenario: string;
  readonly metric: string;
  /** paynet's figure, formatted. */
  readonly paynet: string;
  /** The comparison's figure, formatted (raw TLS, grpc-js, protobufjs, pbjs+pbts), with its name. */
  readonly baseline: string;
  /** paynet ÷ baseline (or the stated share), NaN when not measured. */
  readonly ratio: number;
  /** e.g. `>= 0.75` */
  readonly target: string;
  /** MET / MISSED / `-` (no target). */
  readonly verdict: "MET" | "MISSED" | "-";
}

/** Verdict of `value` against `>= min` or `<= max`. */
export function verdict(value: number, target: { min?: number; max?: number }): "MET" | "MISSED" {
  if (!Number.isFinite(value)) return "MISSED";
  if (target.min !== undefined && value < target.min) return "MISSED";
  if (target.max !== undefined && value > target.max) return "MISSED";
  return "MET";
}

export function targetText(target: { min?: number; max?: number }): string {
  return target.min !== undefined ? `>= ${target.min}` : target.max !== undefined ? `<= ${target.max}` : "-";
}

/** A row with a target. */
export function targetRow(
  scenario: string,
  metric: string,
  paynet: string,
  baseline: string,
  value: number,
  target: { min?: number; max?: number },
): Row {
  return {
    scenario,
    metric,
    paynet,
    baseline,
    ratio: value,
    target: targetText(target),
    verdict: verdict(value, target),
  };
}

/** A row without a target (context figures). */
export function infoRow(
  scenario: string,
  metric: string,
  paynet: string,
  baseline = "",
  value = Number.NaN,
): Row {
  return { scenario, metric, paynet, baseline, ratio: value, target: "-", verdict: "-" };
}

/** Renders rows as a fixed-width text table. */
export function renderTable(rows: readonly Row[]): string {
  const header = ["scenario", "metric", "paynet", "baseline", "ratio", "target", "verdict"];
  const cells = rows.map((r) => [
    r.scenario,
    r.metric,
    r.paynet,
    r.baseline,
    Number.isFinite(r.ratio) ? r.ratio.toFixed(3) : "",
    r.target,
    r.verdict,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join(" | ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("-+-"), ...cells.map(line)].join("\n");
}
