/**
 * A coarse timer wheel: one unref'd interval serves every timeout of the process (read timeouts,
 * request timeouts, ...) instead of one Node timer per socket. Timers are kept in buckets keyed by
 * the tick at which they become due, so schedule, cancel and reschedule are O(1) whatever the
 * number of timers (100k read timeouts is the expected load).
 */
import { performance } from "node:perf_hooks";
import { InvalidOptionsError } from "./errors.js";
import { numberAtLeast } from "./option-checks.js";

/** A timer scheduled on a {@link TimerWheel}. */
export interface WheelTimer {
  /** Stops the timer; its callback will not run. Harmless when already fired or cancelled. */
  cancel(): void;
  /** Moves the deadline to `delayMs` from now; re-arms a timer that already fired or was cancelled. */
  reschedule(delayMs: number): void;
  /** True while the callback is still due to run. */
  readonly active: boolean;
}

/** Options of a {@link TimerWheel}. */
export interface TimerWheelOptions {
  /** Resolution: callbacks run up to about this much after their deadline. Default 50 ms. */
  tickMs?: number;
  /**
   * Called with any exception a callback throws; the wheel keeps running. Default
   * {@link reportTimerErrorOnce}: one line on stderr per distinct message.
   */
  onError?: (error: unknown) => void;
}

/** Default wheel resolution. */
export const DEFAULT_TICK_MS = 50;

/** Distinct messages {@link reportTimerErrorOnce} remembers; beyond, it stays quiet. */
const MAX_REPORTED_MESSAGES = 100;
const reportedMessages = new Set<string>();

/**
 * Default `onError` of every wheel: writes a throwing timer callback to stderr, once per distinct
 * message, so a bug is visible without flooding the log of a device that runs for months. Replace
 * it with {@link TimerWheel.onError} to route the errors to a logger.
 */
export function reportTimerErrorOnce(error: unknown): void {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (reportedMessages.has(message) || reportedMessages.size >= MAX_REPORTED_MESSAGES) return;
  reportedMessages.add(message);
  process.stderr.write(`paynet: a timer callback threw (reported once): ${message}\n`);
}

/** How a {@link Timer} enters and leaves its wheel's buckets (private operations of the wheel). */
interface TimerBuckets {
  link(timer: Timer, delayMs: number): void;
  unlink(timer: Timer): void;
}

class Timer implements WheelTimer {
  /** Tick index of the bucket holding this timer; `undefined` when not scheduled. */
  bucket: number | undefined;

  constructor(
    readonly buckets: TimerBuckets,
    readonly callback: () => void,
  ) {}

  get active(): boolean {
    return this.bucket !== undefined;
  }

  cancel(): void {
    this.buckets.unlink(this);
  }

  reschedule(delayMs: number): void {
    this.buckets.unlink(this);
    this.buckets.link(this, delayMs);
  }
}

/**
 * Runs callbacks after a delay with `tickMs` resolution. Callbacks never run before their delay
 * has passed and run at most about one tick late (plus event-loop lag). The interval is unref'd (it
 * never keeps the process alive) and only exists while at least one timer is scheduled.
 */
export class TimerWheel {
  readonly #tickMs: number;
  #onError: (error: unknown) => void;
  readonly #buckets = new Map<number, Set<Timer>>();
  /** Lowest tick index whose bucket has not been run yet. */
  #nextTick = 0;
  #size = 0;
  #interval: NodeJS.Timeout | undefined;
  #ticking = false;
  /** Handed to each timer, so that the bucket operations stay private to the wheel. */
  readonly #timerBuckets: TimerBuckets = {
    link: (timer, delayMs) => this.#link(timer, delayMs),
    unlink: (timer) => this.#unlink(timer),
  };

  constructor(options: TimerWheelOptions = {}) {
    const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
    if (!Number.isFinite(tickMs) || tickMs < 1) {
      throw new InvalidOptionsError("tickMs", `expected a number >= 1, got ${tickMs}`);
    }
    this.#tickMs = tickMs;
    this.#onError = options.onError ?? reportTimerErrorOnce;
  }

  /**
   * Where exceptions of timer callbacks go (the wheel keeps running). Settable, e.g. on the
   * {@link sharedTimerWheel}: `sharedTimerWheel().onError = (e) => logger.error(String(e))`.
   */
  get onError(): (error: unknown) => void {
    return this.#onError;
  }

  set onError(handler: (error: unknown) => void) {
    if (typeof handler !== "function") throw new InvalidOptionsError("onError", "expected a function");
    this.#onError = handler;
  }

  /** Number of scheduled (not yet fired, not cancelled) timers. */
  get size(): number {
    return this.#size;
  }

  /** Resolution of this wheel in ms. */
  get tickMs(): number {
    return this.#tickMs;
  }

  /** Runs `callback` once, no earlier than `delayMs` from now. */
  schedule(delayMs: number, callback: () => void): WheelTimer {
    const timer = new Timer(this.#timerBuckets, callback);
    this.#link(timer, delayMs);
    return timer;
  }

  /** Puts an unscheduled timer into the bucket of its deadline. */
  #link(timer: Timer, delayMs: number): void {
    numberAtLeast("delayMs", delayMs);
    if (this.#size === 0) this.#start();
    // Round up: a bucket runs at the start of its tick, which must not precede the deadline.
    const due = Math.max(Math.ceil((performance.now() + delayMs) / this.#tickMs), this.#nextTick);
    let bucket = this.#buckets.get(due);
    if (bucket === undefined) {
      bucket = new Set();
      this.#buckets.set(due, bucket);
    }
    bucket.add(timer);
    timer.bucket = due;
    this.#size++;
  }

  /** Removes a timer from its bucket, if scheduled. */
  #unlink(timer: Timer): void {
    const due = timer.bucket;
    if (due === undefined) return;
    timer.bucket = undefined;
    const bucket = this.#buckets.get(due);
    if (bucket !== undefined) {
      bucket.delete(timer);
      if (bucket.size === 0) this.#buckets.delete(due);
    }
    this.#size--;
    if (this.#size === 0 && !this.#ticking) this.#stop();
  }

  #start(): void {
    if (this.#interval !== undefined) return;
    this.#nextTick = Math.floor(performance.now() / this.#tickMs);
    this.#interval = setInterval(() => this.#tick(), this.#tickMs);
    this.#interval.unref();
  }

  #stop(): void {
    if (this.#interval === undefined) return;
    clearInterval(this.#interval);
    this.#interval = undefined;
  }

  #tick(): void {
    this.#ticking = true;
    try {
      this.#runDueBuckets();
    } finally {
      this.#ticking = false;
    }
    if (this.#size === 0) this.#stop();
  }

  #runDueBuckets(): void {
    const current = Math.floor(performance.now() / this.#tickMs);
    while (this.#nextTick <= current) {
      const due = this.#nextTick++;
      const bucket = this.#buckets.get(due);
      if (bucket === undefined) continue;
      this.#buckets.delete(due);
      for (const timer of bucket) {
        // Cancelled or moved by an earlier callback of this bucket (the Set is detached from the map).
        if (timer.bucket !== due) continue;
        timer.bucket = undefined;
        this.#size--;
        try {
          timer.callback();
        } catch (error) {
          try {
            this.#onError(error);
          } catch {
            // The error reporter itself failed; the wheel must keep running regardless.
          }
        }
      }
    }
  }
}

let shared: TimerWheel | undefined;

/** The process-wide wheel (tick 50 ms), created on first use. */
export function sharedTimerWheel(): TimerWheel {
  shared ??= new TimerWheel();
  return shared;
}
