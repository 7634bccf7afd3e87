import { InvalidOptionsError } from "../errors.js";
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
   * Window over which the first attempt after an online connection dropped is spread: its delay is
   * uniform in `[0, spreadMs]`. 0 = use the exponential delay for that attempt too.
   */
  readonly spreadMs: number;
  /**
   * How long a session must stay online for its drop to reset the backoff. A session that drops
   * sooner (or is replaced by a newer login of the device) counts as one more failure.
   */
  readonly stableAfterMs: number;
}

/** How many initial delays the first reconnect after a drop is spread over, unless `spreadMs` is set. */
export const DEFAULT_SPREAD_FACTOR = 5;

/**
 * Defaults: 1 s, ×2, capped at 64 s, as documented by the original protocol; "full jitter" (each
 * delay uniform in `[0, delay]`). The first attempt after a drop is spread over 5 s (5 × the
 * initial delay), so a fleet dropped at once by a server restart comes back at about 2 % of the
 * fleet per 100 ms; full jitter keeps the devices whose first attempt came too early (the server
 * still restarting) from returning together on their second. The backoff restarts only after a
 * session stayed online for 30 s, so two boxes sharing a device id (each replacing the other's
 * session) slow down instead of taking turns forever.
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
  const finiteNonNegative = (name: keyof BackoffPolicy, value: number) => {
    if (!Number.isFinite(value) || value < 0) {
      throw new InvalidOptionsError(`${prefix}.${name}`, `expected a finite number >= 0, got ${value}`);
    }
  };
  finiteNonNegative("initialDelayMs", policy.initialDelayMs);
  finiteNonNegative("maxDelayMs", policy.maxDelayMs);
  finiteNonNegative("spreadMs", policy.spreadMs);
  finiteNonNegative("stableAfterMs", policy.stableAfterMs);
  if (!Number.isFinite(policy.factor) || policy.factor < 1) {
    throw new InvalidOptionsError(`${prefix}.factor`, `expected a finite number >= 1, got ${policy.factor}`);
  }
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
  if (
    policy.maxAttempts !== Number.POSITIVE_INFINITY &&
    (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1)
  ) {
    throw new InvalidOptionsError(
      `${prefix}.maxAttempts`,
      `expected an integer >= 1, got ${policy.maxAttempts}`,
    );
  }
  return policy;
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
  if (!Number.isInteger(retry) || retry < 1)
    throw new RangeError(`retry must be an integer >= 1, got ${retry}`);
  // Grow in a loop with an early cap so huge retry counts never overflow to Infinity.
  let base = policy.initialDelayMs;
  for (let i = 1; i < retry && base < policy.maxDelayMs; i++) base *= policy.factor;
  base = Math.min(base, policy.maxDelayMs);
  const jittered = base * (1 - policy.jitter * random());
  return Math.round(jittered);
}

/**
 * Delay before the first attempt after a connection that was online dropped: uniform in
 * `[0, spreadMs]` ("full jitter" over the spread window), so devices dropped together by one server
 * restart or network blip reconnect spread out instead of in a burst. With `spreadMs` 0 it is
 * `backoffDelay(1, policy)`. Later attempts (if this one fails) follow {@link backoffDelay}.
 *
 * @param random returns a number in [0, 1); injectable so tests can pin the spread.
 */
export function reconnectSpreadDelay(policy: BackoffPolicy, random: () => number = Math.random): number {
  if (policy.spreadMs <= 0) return backoffDelay(1, policy, random);
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
