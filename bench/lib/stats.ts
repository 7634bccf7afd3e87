/** Small statistics helpers: percentiles, medians and number formatting for the result table. */

/** The `p`-th percentile (0..100) of `values` (nearest rank); NaN when empty. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Geometric mean (for averaging ratios). */
export function geomean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);
}

/** `a / b`, rounded to 3 decimals (NaN when b is 0 or not finite). */
export function ratio(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN;
  return Math.round((a / b) * 1000) / 1000;
}

/** Human formatting: 12_345 → `12.3k`, 1.5e6 → `1.50M`. */
export function human(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return "n/a";
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toPrecision(digits)}G`;
  if (abs >= 1e6) return `${(value / 1e6).toPrecision(digits)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toPrecision(digits)}k`;
  if (abs >= 100) return value.toFixed(0);
  return value.toPrecision(digits);
}

/** Bytes as KiB/MiB. */
export function bytes(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (Math.abs(value) >= 1 << 20) return `${(value / (1 << 20)).toFixed(1)} MiB`;
  if (Math.abs(value) >= 1 << 10) return `${(value / (1 << 10)).toFixed(1)} KiB`;
  return `${value.toFixed(0)} B`;
}
