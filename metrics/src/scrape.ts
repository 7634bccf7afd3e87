/**
 * Building blocks of an exporter that reads its numbers at scrape time. The runtime already counts
 * everything in plain arrays on the hot path; a scrape copies those counts into prom-client
 * metrics from their `collect()` hook. No metric is touched per frame.
 */
import type { HistogramSnapshot } from "@paynet/runtime";
import { Counter, Gauge, type Registry } from "prom-client";

/** One labelled value of a metric read at scrape time. */
export interface Sample<L extends string> {
  readonly labels: Partial<Record<L, string>>;
  readonly value: number;
}

/** A prom-client gauge whose values `read()` gives at every scrape. */
export function scrapedGauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Iterable<Sample<L>> | number,
): Gauge<L> {
  return new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      const samples = read();
      this.reset();
      if (typeof samples === "number") this.set(samples);
      else for (const sample of samples) this.set(sample.labels, sample.value);
    },
  });
}

/**
 * A prom-client counter whose totals `read()` gives at every scrape (the runtime's counters only
 * grow, so the exported series is monotonic as Prometheus expects of a counter).
 */
export function scrapedCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Iterable<Sample<L>> | number,
): Counter<L> {
  return new Counter<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      const samples = read();
      this.reset();
      if (typeof samples === "number") {
        if (samples > 0) this.inc(samples);
      } else {
        for (const sample of samples) if (sample.value > 0) this.inc(sample.labels, sample.value);
      }
    },
  });
}

/** One labelled histogram of a {@link ScrapedHistogram}. */
export interface HistogramSample<L extends string> {
  readonly labels: Partial<Record<L, string>>;
  readonly histogram: HistogramSnapshot;
}

/** What prom-client's registry reads from a metric (`get()`), as its own metric classes return it. */
interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
}

/**
 * A histogram whose buckets the runtime keeps (`HistogramSnapshot`): prom-client's own `Histogram`
 * only learns through `observe()`, one call per measured value, so this metric hands the registry
 * the runtime's cumulative buckets at scrape time instead, in the shape prom-client formats.
 */
export class ScrapedHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly #read: () => Iterable<HistogramSample<L>>;

  constructor(registry: Registry, name: string, help: string, read: () => Iterable<HistogramSample<L>>) {
    this.name = name;
    this.help = help;
    this.#read = read;
    registry.registerMetric(this as unknown as Parameters<Registry["registerMetric"]>[0]);
  }

  /** Called by the registry on every scrape. */
  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: MetricValue[];
  }> {
    const values: MetricValue[] = [];
    for (const { labels, histogram } of this.#read()) {
      const base = labels as Record<string, string>;
      histogram.bounds.forEach((bound, index) => {
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...base, le: bound },
          value: histogram.cumulative[index] ?? 0,
        });
      });
      values.push({
        metricName: `${this.name}_bucket`,
        labels: { ...base, le: "+Inf" },
        value: histogram.count,
      });
      values.push({ metricName: `${this.name}_sum`, labels: base, value: histogram.sumSeconds });
      values.push({ metricName: `${this.name}_count`, labels: base, value: histogram.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Nothing to reset: the counts live in the runtime. */
  reset(): void {}
}

/**
 * Splits a stats key (`0x03 paybox.Ping`, or `0x7E` for a Type without a known name) into the
 * `type` and `message` labels.
 */
export function typeLabels(key: string): { type: string; message: string } {
  const space = key.indexOf(" ");
  return space === -1
    ? { type: key, message: "" }
    : { type: key.slice(0, space), message: key.slice(space + 1) };
}

/**
 * `read()` called at most once per scrape: prom-client collects every metric of a scrape in the
 * same tick, so the snapshot taken by the first one is reused until the next tick.
 */
export function snapshotPerScrape<T>(read: () => T): () => T {
  let cached: T | undefined;
  let fresh = false;
  return () => {
    if (!fresh) {
      cached = read();
      fresh = true;
      queueMicrotask(() => {
        fresh = false;
      });
    }
    return cached as T;
  };
}
