/**
 * Counters read by a stats API (and from there by any metrics exporter). Indexed by the Type byte
 * in fixed arrays, so counting a frame is two array increments.
 */
import { formatType } from "./errors.js";

/** Frames and bytes of one Type. */
export interface FrameCounter {
  frames: number;
  bytes: number;
}

/** Snapshot of {@link TrafficStats}; keys are `0x03`, or `0x03 paybox.Ping` with a name function. */
export interface TrafficSnapshot {
  framesIn: Record<string, FrameCounter>;
  framesOut: Record<string, FrameCounter>;
}

/** Maps a Type to its message name for snapshot keys; `undefined` leaves the key as the bare Type. */
export type TypeNamer = (type: number) => string | undefined;

/**
 * Call counts and latency of one handler Type. Every call is counted; latency is measured on every
 * call of a handler that has returned a promise, and on one call in {@link SYNC_TIMING_INTERVAL} of
 * a synchronous one (reading the clock twice costs as much as a small handler itself).
 */
export interface HandlerCounter {
  calls: number;
  errors: number;
  /** Calls whose latency was measured; `totalMs` and `maxMs` are over these. */
  timedCalls: number;
  totalMs: number;
  maxMs: number;
}

/** A synchronous handler's latency is measured on its first call and every this many calls after. */
export const SYNC_TIMING_INTERVAL = 16;

/** The snapshot key of a Type: `0x03`, or `0x03 paybox.Ping` when `nameOf` knows it. */
export function typeKey(type: number, nameOf?: TypeNamer): string {
  const name = nameOf?.(type);
  return name === undefined || name === "" ? formatType(type) : `${formatType(type)} ${name}`;
}

/**
 * Frames and bytes in and out, per Type. Bytes are wire bytes: the 5-byte header plus the payload.
 * One instance may be shared by many connections (a server's total).
 */
export class TrafficStats {
  readonly #framesIn = new Float64Array(256);
  readonly #bytesIn = new Float64Array(256);
  readonly #framesOut = new Float64Array(256);
  readonly #bytesOut = new Float64Array(256);

  /** Counts one inbound frame of `bytes` wire bytes. */
  frameIn(type: number, bytes: number): void {
    this.#framesIn[type & 0xff]! += 1;
    this.#bytesIn[type & 0xff]! += bytes;
  }

  /** Counts one outbound frame of `bytes` wire bytes. */
  frameOut(type: number, bytes: number): void {
    this.#framesOut[type & 0xff]! += 1;
    this.#bytesOut[type & 0xff]! += bytes;
  }

  /** Total inbound and outbound frames and bytes over all Types. */
  totals(): { in: FrameCounter; out: FrameCounter } {
    return { in: total(this.#framesIn, this.#bytesIn), out: total(this.#framesOut, this.#bytesOut) };
  }

  /** Counters of every Type seen so far (Types with no frames are left out). */
  snapshot(nameOf?: TypeNamer): TrafficSnapshot {
    return {
      framesIn: perType(this.#framesIn, this.#bytesIn, nameOf),
      framesOut: perType(this.#framesOut, this.#bytesOut, nameOf),
    };
  }
}

function perType(
  frames: Float64Array,
  bytes: Float64Array,
  nameOf?: TypeNamer,
): Record<string, FrameCounter> {
  const result: Record<string, FrameCounter> = {};
  for (let type = 0; type < 256; type++) {
    if (frames[type] === 0) continue;
    result[typeKey(type, nameOf)] = { frames: frames[type]!, bytes: bytes[type]! };
  }
  return result;
}

function total(frames: Float64Array, bytes: Float64Array): FrameCounter {
  let f = 0;
  let b = 0;
  for (let type = 0; type < 256; type++) {
    f += frames[type]!;
    b += bytes[type]!;
  }
  return { frames: f, bytes: b };
}

/** Calls, failures and latency of message handlers, per inbound Type. */
export class HandlerStats {
  readonly #counters: Array<HandlerCounter | undefined> = new Array(256);
  /** Per Type: 1 once a handler returned a promise; all its later calls are timed. */
  readonly #async = new Uint8Array(256);

  /** Whether the next call of `type` should be timed (see {@link HandlerCounter}). */
  shouldTime(type: number): boolean {
    const t = type & 0xff;
    return this.#async[t] === 1 || (this.#counters[t]?.calls ?? 0) % SYNC_TIMING_INTERVAL === 0;
  }

  /** Notes that a handler of `type` returned a promise: from now on every call is timed. */
  markAsync(type: number): void {
    this.#async[type & 0xff] = 1;
  }

  /** Records one handler run; `durationMs` is `undefined` when the call was not timed. */
  record(type: number, durationMs: number | undefined, failed: boolean): void {
    let counter = this.#counters[type & 0xff];
    if (counter === undefined) {
      counter = { calls: 0, errors: 0, timedCalls: 0, totalMs: 0, maxMs: 0 };
      this.#counters[type & 0xff] = counter;
    }
    counter.calls++;
    if (failed) counter.errors++;
    if (durationMs === undefined) return;
    counter.timedCalls++;
    counter.totalMs += durationMs;
    if (durationMs > counter.maxMs) counter.maxMs = durationMs;
  }

  /** Copies of the counters of every Type that ran at least once. */
  snapshot(nameOf?: TypeNamer): Record<string, HandlerCounter> {
    const result: Record<string, HandlerCounter> = {};
    this.#counters.forEach((counter, type) => {
      if (counter !== undefined) result[typeKey(type, nameOf)] = { ...counter };
    });
    return result;
  }
}
