/**
 * Safety-net timeouts of the tests, stretched for slow or busy machines. Tests wait for events; a
 * timeout only stops a test that would otherwise hang, so it is set far above what an idle machine
 * needs, and multiplied by `PAYNET_TEST_TIME_FACTOR` (default 1, or 3 under `CI=true`: shared CI
 * runners are slower still). Imported by the vitest configs, so it stays free of test imports.
 */

function timeFactor(): number {
  const raw = process.env.PAYNET_TEST_TIME_FACTOR;
  if (raw !== undefined && raw !== "") {
    const factor = Number(raw);
    if (!Number.isFinite(factor) || factor <= 0)
      throw new Error(`PAYNET_TEST_TIME_FACTOR must be a number > 0, got ${JSON.stringify(raw)}`);
    return factor;
  }
  return process.env.CI === "true" ? 3 : 1;
}

/** The factor every safety-net timeout is multiplied by. */
export const TIME_FACTOR = timeFactor();

/** `ms` stretched by {@link TIME_FACTOR}: use for every timeout a test waits under. */
export function scaled(ms: number): number {
  return Math.round(ms * TIME_FACTOR);
}
