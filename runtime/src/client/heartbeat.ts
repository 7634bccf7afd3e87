import { HeartbeatTimeoutError, InvalidOptionsError } from "../errors.js";
import { positiveNumber } from "../option-checks.js";
import type { TimerWheel, WheelTimer } from "../timers.js";
import type { HeartbeatOptions } from "./types.js";

/** Default heartbeat interval: 60 s, as in the original protocol. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 60_000;

/** Default dead-peer timeout for an interval: two missed heartbeats plus 10 s of slack. */
export function defaultHeartbeatTimeout(intervalMs: number): number {
  return 2 * intervalMs + 10_000;
}

/** Validated heartbeat timings. */
export interface HeartbeatTimings {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/** Validates the timings of `options` and fills in the defaults. */
export function resolveHeartbeatTimings(options: HeartbeatOptions<unknown>): HeartbeatTimings {
  const intervalMs = positiveNumber(
    "heartbeat.intervalMs",
    options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
  );
  const timeoutMs = positiveNumber(
    "heartbeat.timeoutMs",
    options.timeoutMs ?? defaultHeartbeatTimeout(intervalMs),
  );
  if (typeof options.build !== "function") {
    throw new InvalidOptionsError("heartbeat.build", "expected a function returning the heartbeat message");
  }
  return { intervalMs, timeoutMs };
}

/** What a {@link HeartbeatMonitor} needs from its connection. */
export interface HeartbeatHooks {
  /** Sends one heartbeat; a throw is reported through `onError` and the next one is still sent. */
  sendHeartbeat(): void;
  /** When the last byte was received, on the same clock as `now`. */
  lastReceivedAt(): number;
  now(): number;
  /** The peer is dead: nothing was received for the timeout. Called at most once per `start()`. */
  onDead(error: HeartbeatTimeoutError): void;
  onError(error: unknown): void;
  /** Peer name for the timeout error. */
  readonly peer?: string;
}

/**
 * Sends heartbeats every interval and watches inbound traffic. Keeps exactly two wheel timers: one
 * for the next heartbeat and one dead-peer check. The check is not pushed back on every received
 * byte; when it fires early it re-arms itself for the remaining time, so traffic costs nothing.
 */
export class HeartbeatMonitor {
  readonly #wheel: TimerWheel;
  readonly #timings: HeartbeatTimings;
  readonly #hooks: HeartbeatHooks;
  #sendTimer: WheelTimer | undefined;
  #deadTimer: WheelTimer | undefined;

  constructor(wheel: TimerWheel, timings: HeartbeatTimings, hooks: HeartbeatHooks) {
    this.#wheel = wheel;
    this.#timings = timings;
    this.#hooks = hooks;
  }

  /** Whether the monitor is running. */
  get running(): boolean {
    return this.#deadTimer !== undefined;
  }

  /** Starts sending and watching; the first heartbeat goes out one interval from now. */
  start(): void {
    if (this.running) return;
    this.#sendTimer = this.#wheel.schedule(this.#timings.intervalMs, () => this.#beat());
    this.#deadTimer = this.#wheel.schedule(this.#remaining(), () => this.#check());
  }

  /** Cancels both timers. */
  stop(): void {
    this.#sendTimer?.cancel();
    this.#deadTimer?.cancel();
    this.#sendTimer = undefined;
    this.#deadTimer = undefined;
  }

  #beat(): void {
    if (this.#sendTimer === undefined) return;
    try {
      this.#hooks.sendHeartbeat();
    } catch (error) {
      this.#hooks.onError(error);
    }
    this.#sendTimer?.reschedule(this.#timings.intervalMs);
  }

  #check(): void {
    const timer = this.#deadTimer;
    if (timer === undefined) return;
    const remaining = this.#remaining();
    if (remaining > 0) {
      timer.reschedule(remaining);
      return;
    }
    this.stop();
    const context: { peer?: string } = {};
    if (this.#hooks.peer !== undefined) context.peer = this.#hooks.peer;
    this.#hooks.onDead(new HeartbeatTimeoutError(this.#timings.timeoutMs, context));
  }

  /** Time left before the peer counts as dead, measured from the last byte received. */
  #remaining(): number {
    const idle = this.#hooks.now() - this.#hooks.lastReceivedAt();
    return Math.max(0, this.#timings.timeoutMs - Math.max(0, idle));
  }
}
