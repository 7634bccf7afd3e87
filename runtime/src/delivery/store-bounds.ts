import { InvalidOptionsError } from "../errors.js";

/** Count and age bounds of an idempotency store. */
export interface StoreBounds {
  readonly maxEntries: number;
  readonly ttlMs: number;
}

/** Checks the bounds of an idempotency store; throws `InvalidOptionsError` naming the bad one. */
export function validateStoreBounds(bounds: StoreBounds): StoreBounds {
  if (!Number.isInteger(bounds.maxEntries) || bounds.maxEntries < 1) {
    throw new InvalidOptionsError("maxEntries", `expected an integer >= 1, got ${bounds.maxEntries}`);
  }
  if (!Number.isFinite(bounds.ttlMs) || bounds.ttlMs <= 0) {
    throw new InvalidOptionsError("ttlMs", `expected a finite number > 0, got ${bounds.ttlMs}`);
  }
  return bounds;
}
