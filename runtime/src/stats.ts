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
  /** Latency distribution of the timed calls. */
  latency: HistogramSnapshot;
}

/** A synchronous handler's latency is measured on its first call and every this many calls after (a power of two). */
export const SYNC_TIMING_INTERVAL = 16;

/**
 * Upper bounds (in seconds, ascending) of the latency histogram buckets: 100 µs to 10 s, the range
 * of a handler that answers from memory up to one that waits on a slow backend.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Snapshot of a {@link LatencyHistogram}: Prometheus-style cumulative buckets. */
export interface HistogramSnapshot {
  /** Upper bounds in seconds, ascending (the `+Inf` bucket is `count`). */
  readonly bounds: readonly number[];
  /** Observations `<=` each bound, cumulative, one per bound. */
  readonly cumulative: readonly number[];
  /** Sum of the observations, in seconds. */
  readonly sumSeconds: number;
  /** Number of observations. */
  readonly count: number;
}

/**
 * Latency histogram kept in a fixed array: an observation is a short scan of {@link
 * LATENCY_BUCKETS_SECONDS} and one increment, no allocation. Read by exporters at scrape time.
 */
export class LatencyHistogram {
  readonly #boundsMs = LATENCY_BUCKETS_SECONDS.map((seconds) => seconds * 1000);
  /** Per bucket (not cumulative); the last slot is the overflow (`+Inf`) bucket. */
  readonly #counts = new Float64Array(LATENCY_BUCKETS_SECONDS.length + 1);
  #sumMs = 0;
  #count = 0;

  /** Records one latency of `ms` milliseconds. */
  observe(ms: number): void {
    const bounds = this.#boundsMs;
    let bucket = 0;
    while (bucket < bounds.length && ms > bounds[bucket]!) bucket++;
    this.#counts[bucket]! += 1;
    this.#sumMs += ms;
    this.#count++;
  }

  /** Number of observations so far. */
  get count(): number {
    return this.#count;
  }

  /** The buckets as Prometheus wants them (cumulative, seconds). */
  snapshot(): HistogramSnapshot {
    const cumulative: number[] = [];
    let running = 0;
    for (let bucket = 0; bucket < LATENCY_BUCKETS_SECONDS.length; bucket++) {
      running += this.#counts[bucket]!;
      cumulative.push(running);
    }
    return {
      bounds: LATENCY_BUCKETS_SECONDS,
      cumulative,
      sumSeconds: this.#sumMs / 1000,
      count: this.#count,
    };
  }
}

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

/** A handler's counters as kept: the histogram itself rather than its snapshot. */
type MutableHandlerCounter = Omit<HandlerCounter, "latency"> & { latency: LatencyHistogram };

/** Calls, failures and latency of message handlers, per inbound Type. */
export class HandlerStats {
  readonly #counters: Array<MutableHandlerCounter | undefined> = new Array(256);
  /** Per Type: 1 once a handler returned a promise; all its later calls are timed. */
  readonly #async = new Uint8Array(256);

  /** Whether the next call of `type` should be timed (see {@link HandlerCounter}). */
  shouldTime(type: number): boolean {
    const t = type & 0xff;
    // A mask, not `%`: the count is a double once stored, and a double modulo is a C call per frame.
    return this.#async[t] === 1 || ((this.#counters[t]?.calls ?? 0) & (SYNC_TIMING_INTERVAL - 1)) === 0;
  }

  /** Notes that a handler of `type` returned a promise: from now on every call is timed. */
  markAsync(type: number): void {
    this.#async[type & 0xff] = 1;
  }

  /** Records one handler run; `durationMs` is `undefined` when the call was not timed. */
  record(type: number, durationMs: number | undefined, failed: boolean): void {
    let counter = this.#counters[type & 0xff];
    if (counter === undefined) {
      counter = { calls: 0, errors: 0, timedCalls: 0, totalMs: 0, maxMs: 0, latency: new LatencyHistogram() };
      this.#counters[type & 0xff] = counter;
    }
    counter.calls++;
    if (failed) counter.errors++;
    if (durationMs === undefined) return;
    counter.timedCalls++;
    counter.totalMs += durationMs;
    counter.latency.observe(durationMs);
    if (durationMs > counter.maxMs) counter.maxMs = durationMs;
  }

  /** Copies of the counters of every Type that ran at least once. */
  snapshot(nameOf?: TypeNamer): Record<string, HandlerCounter> {
    const result: Record<string, HandlerCounter> = {};
    this.#counters.forEach((counter, type) => {
      if (counter !== undefined) {
        result[typeKey(type, nameOf)] = { ...counter, latency: counter.latency.snapshot() };
      }
    });
    return result;
  }
}
