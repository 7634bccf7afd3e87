import { describe, expect, it } from "vitest";
import {
  HandlerStats,
  LATENCY_BUCKETS_SECONDS,
  LatencyHistogram,
  SYNC_TIMING_INTERVAL,
  TrafficStats,
  typeKey,
} from "../../runtime/src/stats.js";
import { nameOfType } from "../helpers/messages.js";

describe("TrafficStats", () => {
  it("counts frames and bytes per Type and direction", () => {
    const stats = new TrafficStats();
    stats.frameIn(0x03, 7);
    stats.frameIn(0x03, 5);
    stats.frameOut(0x83, 5);
    stats.frameOut(0x7e, 10);
    expect(stats.snapshot()).toEqual({
      framesIn: { "0x03": { frames: 2, bytes: 12 } },
      framesOut: { "0x83": { frames: 1, bytes: 5 }, "0x7E": { frames: 1, bytes: 10 } },
    });
    expect(stats.snapshot(nameOfType).framesOut).toEqual({
      "0x83 paytest.Pong": { frames: 1, bytes: 5 },
      "0x7E": { frames: 1, bytes: 10 },
    });
    expect(stats.totals()).toEqual({ in: { frames: 2, bytes: 12 }, out: { frames: 2, bytes: 15 } });
  });

  it("formats keys like the protocol docs", () => {
    expect(typeKey(4)).toBe("0x04");
    expect(typeKey(0xff, () => "paybox.ErrorMsg")).toBe("0xFF paybox.ErrorMsg");
  });
});

describe("HandlerStats", () => {
  it("records calls, errors, total and max latency per Type", () => {
    const stats = new HandlerStats();
    stats.record(0x04, 3, false);
    stats.record(0x04, 10, true);
    stats.record(0x03, 1, false);
    stats.record(0x03, undefined, true);
    expect(stats.snapshot(nameOfType)).toMatchObject({
      "0x03 paytest.Ping": { calls: 2, errors: 1, timedCalls: 1, totalMs: 1, maxMs: 1 },
      "0x04 paytest.Command": { calls: 2, errors: 1, timedCalls: 2, totalMs: 13, maxMs: 10 },
    });
    // The histogram holds the timed calls only: 3 ms and 10 ms for 0x04.
    const latency = stats.snapshot()["0x04"]!.latency;
    expect(latency.count).toBe(2);
    expect(latency.sumSeconds).toBeCloseTo(0.013);
  });

  it("times a synchronous handler's first call and one in SYNC_TIMING_INTERVAL after it", () => {
    const stats = new HandlerStats();
    const timed: number[] = [];
    for (let call = 0; call < 3 * SYNC_TIMING_INTERVAL + 1; call++) {
      const time = stats.shouldTime(0x04);
      if (time) timed.push(call);
      stats.record(0x04, time ? 1 : undefined, false);
    }
    expect(timed).toEqual([0, SYNC_TIMING_INTERVAL, 2 * SYNC_TIMING_INTERVAL, 3 * SYNC_TIMING_INTERVAL]);
    expect(stats.snapshot()["0x04"]).toMatchObject({ calls: 3 * SYNC_TIMING_INTERVAL + 1, timedCalls: 4 });
  });

  it("times every call of a Type once its handler has returned a promise", () => {
    const stats = new HandlerStats();
    stats.record(0x05, 1, false);
    stats.markAsync(0x05);
    for (let call = 0; call < 5; call++) {
      expect(stats.shouldTime(0x05)).toBe(true);
      stats.record(0x05, 2, false);
    }
    expect(stats.snapshot()["0x05"]).toMatchObject({
      calls: 6,
      errors: 0,
      timedCalls: 6,
      totalMs: 11,
      maxMs: 2,
    });
    expect(stats.shouldTime(0x04)).toBe(true);
  });
});

describe("LatencyHistogram", () => {
  it("keeps cumulative buckets in seconds, a value on a bound counting in that bound's bucket", () => {
    const histogram = new LatencyHistogram();
    histogram.observe(0.05); // 50 µs: first bucket (<= 100 µs)
    histogram.observe(1); // exactly 1 ms: the 0.001 s bucket
    histogram.observe(1.2); // 0.0025 s bucket
    histogram.observe(60_000); // a minute: only +Inf
    const snapshot = histogram.snapshot();
    expect(snapshot.bounds).toBe(LATENCY_BUCKETS_SECONDS);
    const at = (bound: number) => snapshot.cumulative[LATENCY_BUCKETS_SECONDS.indexOf(bound)];
    expect(at(0.0001)).toBe(1);
    expect(at(0.0005)).toBe(1);
    expect(at(0.001)).toBe(2);
    expect(at(0.0025)).toBe(3);
    expect(at(10)).toBe(3);
    expect(snapshot.count).toBe(4);
    expect(snapshot.sumSeconds).toBeCloseTo(60.00225);
  });
});
