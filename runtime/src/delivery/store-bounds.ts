import { positiveInteger, positiveNumber } from "../option-checks.js";

/** Count and age bounds of an idempotency store. */
export interface StoreBounds {
  readonly maxEntries: number;
  readonly ttlMs: number;
}

/** Checks the bounds of an idempotency store; throws `InvalidOptionsError` naming the bad one. */
export function validateStoreBounds(bounds: StoreBounds): StoreBounds {
  positiveInteger("maxEntries", bounds.maxEntries);
  positiveNumber("ttlMs", bounds.ttlMs);
  return bounds;
}
