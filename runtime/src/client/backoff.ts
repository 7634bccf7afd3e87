import { InvalidOptionsError } from "../errors.js";
import { numberAtLeast, positiveInteger } from "../option-checks.js";
import type { ReconnectOptions } from "./types.js";

/** Fully resolved reconnect policy (every field set). */
export interface BackoffPolicy {
  readonly initialDelayMs: number;
  readonly factor: number;
  readonly maxDelayMs: number;
  /** Share 0..1 of each delay that is randomised. */
  readonly jitter: number;
  /** Consecutive connection attempts before the client gives up; `Infinity` = never. */
  readonly maxAttempts: number;
  /**
   * Window over which the attempts after an online session was lost are spread: their delay is
   * uniform in `[0, spreadMs]` while the backoff step is shorter. 0 = exponential delays only.
   */
  readonly spreadMs: number;
  /**
   * How long a session must stay online for its drop to reset the backoff. A session that drops
   * sooner (or is replaced by a newer login of the device) counts as one more failure.
   */
  readonly stableAfterMs: number;
}

/** How many initial delays the first reconnect after a drop is spread over, unless `spreadMs` is set. */
const DEFAULT_SPREAD_FACTOR = 5;

/**
 * Defaults: 1 s, ×2, capped at 64 s, as documented by the original protocol; "full jitter" (each
 * delay uniform in `[0, delay]`). After the loss of a session, young or old, every attempt is
 * spread over at least 5 s (5 × the initial delay), so a fleet dropped at once by a server restart
 * comes back at about 2 % of the fleet per 100 ms, and the devices whose first attempt came too
 * early (the server still restarting) do not return together on their second. The backoff
 * restarts only after a session stayed online for 30 s, so sessions that keep ending right after
 * login slow down; two boxes sharing a device id (each replacing the other's session) wait at most
 * half-randomised steps instead of taking turns forever.
 */
export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({
  initialDelayMs: 1_000,
  factor: 2,
  maxDelayMs: 64_000,
  jitter: 1,
  maxAttempts: Number.POSITIVE_INFINITY,
  spreadMs: 5_000,
  stableAfterMs: 30_000,
});

/**
 * Validates `options` and fills in the defaults.
 * @throws InvalidOptionsError naming the first offending option.
 */
export function resolveBackoffPolicy(options: ReconnectOptions = {}, prefix = "reconnect"): BackoffPolicy {
  const policy: BackoffPolicy = {
    initialDelayMs: options.initialDelayMs ?? DEFAULT_BACKOFF.initialDelayMs,
    factor: options.factor ?? DEFAULT_BACKOFF.factor,
    maxDelayMs: options.maxDelayMs ?? DEFAULT_BACKOFF.maxDelayMs,
    jitter: options.jitter ?? DEFAULT_BACKOFF.jitter,
    maxAttempts: options.maxAttempts ?? DEFAULT_BACKOFF.maxAttempts,
    // Scales with an explicit initial delay, so a client tuned for fast retries also spreads fast.
    spreadMs:
      options.spreadMs ??
      (options.initialDelayMs === undefined
        ? DEFAULT_BACKOFF.spreadMs
        : options.initialDelayMs * DEFAULT_SPREAD_FACTOR),
    stableAfterMs: options.stableAfterMs ?? DEFAULT_BACKOFF.stableAfterMs,
  };
  for (const name of ["initialDelayMs", "maxDelayMs", "spreadMs", "stableAfterMs"] as const) {
    numberAtLeast(`${prefix}.${name}`, policy[name]);
  }
  numberAtLeast(`${prefix}.factor`, policy.factor, 1);
  if (!(policy.jitter >= 0 && policy.jitter <= 1)) {
    throw new InvalidOptionsError(
      `${prefix}.jitter`,
      `expected a number between 0 and 1, got ${policy.jitter}`,
    );
  }
  if (policy.maxDelayMs < policy.initialDelayMs) {
    throw new InvalidOptionsError(
      `${prefix}.maxDelayMs`,
      `must be >= initialDelayMs (${policy.initialDelayMs}), got ${policy.maxDelayMs}`,
    );
  }
  if (policy.maxAttempts !== Number.POSITIVE_INFINITY)
    positiveInteger(`${prefix}.maxAttempts`, policy.maxAttempts);
  return policy;
}

/** Un-jittered delay of the `retry`-th backoff step: `initialDelayMs × factor^(retry-1)`, capped. */
function backoffStep(retry: number, policy: BackoffPolicy): number {
  if (!Number.isInteger(retry) || retry < 1)
    throw new RangeError(`retry must be an integer >= 1, got ${retry}`);
  // Grow in a loop with an early cap so huge retry counts never overflow to Infinity.
  let base = policy.initialDelayMs;
  for (let i = 1; i < retry && base < policy.maxDelayMs; i++) base *= policy.factor;
  return Math.min(base, policy.maxDelayMs);
}

/**
 * Delay before the `retry`-th reconnect (1 = first retry after a drop or failure).
 *
 * The un-jittered delay is `initialDelayMs × factor^(retry-1)`, capped at `maxDelayMs`; the jittered
 * delay lies in `[delay × (1 − jitter), delay]`. Jitter applies to every retry, the first included,
 * so devices dropped together by one server restart do not come back in lock-step.
 *
 * @param random returns a number in [0, 1); injectable so tests can pin the jitter.
 */
export function backoffDelay(
  retry: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const jittered = backoffStep(retry, policy) * (1 - policy.jitter * random());
  return Math.round(jittered);
}

/**
 * Delay before an attempt after an online session was lost, until the device is logged in again:
 * "full jitter" over the spread window, uniform in `[0, spreadMs]`, while the backoff step of
 * `failures` is shorter than `spreadMs`; {@link backoffDelay} once it is not (so a device whose
 * sessions keep ending right after login still slows down). A server restart or network blip drops
 * a whole fleet at once, whatever the age of its sessions; spread this way the fleet comes back at
 * about 100 / `spreadMs` of itself per 100 ms, and the devices that tried too early (the server
 * still restarting) retry spread over the window again instead of together. With `spreadMs` 0 it
 * is `backoffDelay(failures, policy)`.
 *
 * @param failures failed attempts and unstable sessions counted by the backoff (1 = the first
 *   attempt after a stable session was lost).
 * @param random returns a number in [0, 1); injectable so tests can pin the spread.
 */
export function reconnectSpreadDelay(
  policy: BackoffPolicy,
  random: () => number = Math.random,
  failures = 1,
): number {
  if (policy.spreadMs <= 0 || backoffStep(failures, policy) >= policy.spreadMs)
    return backoffDelay(failures, policy, random);
  return Math.round(policy.spreadMs * random());
}

/**
 * Delay before reconnecting after the server replaced this session with a newer login of the same
 * device id: the `retry`-th backoff step with at most half of it randomised, so that the device
 * never comes straight back to take the session over again.
 */
export function replacedBackoffDelay(
  retry: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  return backoffDelay(retry, { ...policy, jitter: Math.min(policy.jitter, 0.5) }, random);
}
