/**
 * The numeric option checks every part of the runtime validates its options with, so that the same
 * kind of bad value gets the same message everywhere: `invalid option <name>: expected ..., got ...`.
 * Each returns the value it accepted and throws `InvalidOptionsError` naming the option otherwise.
 */
import { InvalidOptionsError } from "./errors.js";

/** An integer >= 1 (a count or a bound). */
export function positiveInteger(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidOptionsError(option, `expected an integer >= 1, got ${value}`);
  }
  return value;
}

/** A finite number > 0 (a timeout, a rate, a size). */
export function positiveNumber(option: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionsError(option, `expected a finite number > 0, got ${value}`);
  }
  return value;
}

/** A finite number >= `min` (default 0: a delay that may be zero). */
export function numberAtLeast(option: string, value: number, min = 0): number {
  if (!Number.isFinite(value) || value < min) {
    throw new InvalidOptionsError(option, `expected a finite number >= ${min}, got ${value}`);
  }
  return value;
}

/** An integer >= 0 (a grace period in ms that may be zero). */
export function nonNegativeInteger(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new InvalidOptionsError(option, `expected a non-negative integer, got ${value}`);
  }
  return value;
}
