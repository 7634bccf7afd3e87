/** The metrics of a paynet server (`PaynetServer` or a generated facade's `runtime`). */
import type { PaynetErrorCode, ServerStats } from "@paynet/runtime";
import type { Registry } from "prom-client";
import {
  type Sample,
  ScrapedHistogram,
  scrapedCounter,
  scrapedGauge,
  snapshotPerScrape,
  typeLabels,
} from "./scrape.js";

/** What the exporter reads from a server: its `stats()`. */
export interface StatsSource {
  stats(): ServerStats;
}

/** A certificate whose expiry is exported (`paynet_cert_expiry_timestamp_seconds{cert}`). */
export interface CertificateExpiry {
  /** Label value: which certificate (`server`, `ca`, ...). */
  readonly cert: string;
  readonly notAfter: Date;
}

/** Options of {@link registerServerMetrics}. */
export interface ServerMetricsOptions {
  /**
   * The certificates to export the expiry of, read at every scrape (so a reloaded certificate shows
   * its new date). Default none.
   */
  readonly certificates?: () => readonly CertificateExpiry[];
}

/** Names of every metric {@link registerServerMetrics} registers (process defaults aside). */
export const SERVER_METRIC_NAMES = [
  "paynet_connections",
  "paynet_connections_accepted_total",
  "paynet_connections_rejected_total",
  "paynet_tls_handshakes_total",
  "paynet_tls_rejections_total",
  "paynet_disconnects_total",
  "paynet_frames_received_total",
  "paynet_frames_sent_total",
  "paynet_received_bytes_total",
  "paynet_sent_bytes_total",
  "paynet_handler_calls_total",
  "paynet_handler_errors_total",
  "paynet_handler_duration_seconds",
  "paynet_deliveries_pending",
  "paynet_delivery_oldest_age_seconds",
  "paynet_deliveries_total",
  "paynet_redeliveries_total",
  "paynet_outbound_queued_frames",
  "paynet_outbound_queued_bytes",
  "paynet_outbound_queue_full_total",
  "paynet_prelogin_closed_total",
  "paynet_login_refusals_total",
  "paynet_bad_frames_total",
  "paynet_bad_frames_unreported_total",
  "paynet_bad_frame_closes_total",
  "paynet_cert_expiry_timestamp_seconds",
  "paynet_draining",
] as const;

/** Delivery outcome label values, by the runtime's `DeliveryStats.outcomes` key. */
const OUTCOME_LABELS = {
  completed: "completed",
  timedOut: "timed_out",
  aborted: "aborted",
  cancelled: "cancelled",
  failed: "failed",
} as const;

/**
 * Registers the metrics of `server` on `registry`. Every value is read from one `stats()` call per
 * scrape (shared by all metrics of that scrape), nothing is counted per frame.
 *
 * ```ts
 * const registry = new Registry();
 * collectDefaultMetrics({ register: registry });
 * registerServerMetrics(registry, server.runtime);
 * http.createServer(async (_, res) => res.end(await registry.metrics()));
 * ```
 */
export function registerServerMetrics(
  registry: Registry,
  server: StatsSource,
  options: ServerMetricsOptions = {},
): void {
  const stats = snapshotPerScrape(() => server.stats());
  const gauge = <L extends string>(
    name: string,
    help: string,
    labels: readonly L[],
    read: (s: ServerStats) => Iterable<Sample<L>> | number,
  ) => scrapedGauge(registry, name, help, labels, () => read(stats()));
  const counter = <L extends string>(
    name: string,
    help: string,
    labels: readonly L[],
    read: (s: ServerStats) => Iterable<Sample<L>> | number,
  ) => scrapedCounter(registry, name, help, labels, () => read(stats()));

  gauge("paynet_connections", "Open device connections by state", ["state"], (s) => [
    { labels: { state: "handshaking" }, value: s.connections.handshaking },
    { labels: { state: "connected" }, value: s.connections.current - s.connections.online },
    { labels: { state: "online" }, value: s.connections.online },
  ]);
  counter("paynet_connections_accepted_total", "Device sessions admitted", [], (s) => s.connections.total);
  counter(
    "paynet_connections_rejected_total",
    "Connections refused (connection limit, rejected certificate)",
    [],
    (s) => s.connections.rejected,
  );
  counter("paynet_tls_handshakes_total", "TLS handshakes by result", ["result"], (s) => [
    { labels: { result: "full" }, value: s.handshakes.full },
    { labels: { result: "resumed" }, value: s.handshakes.resumed },
    { labels: { result: "failed" }, value: s.handshakes.failed },
  ]);
  counter("paynet_tls_rejections_total", "Peer certificates refused, by reason", ["reason"], (s) =>
    Object.entries(s.tls.rejections).map(([reason, value]) => ({ labels: { reason }, value })),
  );
  counter(
    "paynet_disconnects_total",
    "Closed sessions by reason (the runtime's error code)",
    ["reason"],
    (s) =>
      Object.entries(s.disconnects).map(([reason, value]) => ({
        labels: { reason: reason as PaynetErrorCode },
        value: value ?? 0,
      })),
  );
  counter("paynet_frames_received_total", "Inbound frames by Type", ["type", "message"], (s) =>
    perType(s.framesIn, (counter) => counter.frames),
  );
  counter("paynet_frames_sent_total", "Outbound frames by Type", ["type", "message"], (s) =>
    perType(s.framesOut, (counter) => counter.frames),
  );
  counter("paynet_received_bytes_total", "Inbound wire bytes (5-byte headers included)", [], (s) =>
    sum(s.framesIn, (counter) => counter.bytes),
  );
  counter("paynet_sent_bytes_total", "Outbound wire bytes (5-byte headers included)", [], (s) =>
    sum(s.framesOut, (counter) => counter.bytes),
  );
  counter("paynet_handler_calls_total", "Handler runs by inbound Type", ["type", "message"], (s) =>
    perType(s.handlers, (counter) => counter.calls),
  );
  counter(
    "paynet_handler_errors_total",
    "Handler runs that threw, by inbound Type",
    ["type", "message"],
    (s) => perType(s.handlers, (counter) => counter.errors),
  );
  new ScrapedHistogram(
    registry,
    "paynet_handler_duration_seconds",
    "Handler latency by inbound Type (every call of an async handler, one in 16 of a synchronous one)",
    () =>
      Object.entries(stats().handlers).map(([key, counter]) => ({
        labels: typeLabels(key),
        histogram: counter.latency,
      })),
  );
  gauge(
    "paynet_deliveries_pending",
    "At-least-once deliveries waiting for their final reply",
    [],
    (s) => s.delivery.pending,
  );
  gauge(
    "paynet_delivery_oldest_age_seconds",
    "Age of the oldest pending delivery",
    [],
    (s) => s.delivery.oldestAgeMs / 1000,
  );
  counter("paynet_deliveries_total", "Ended deliveries by outcome", ["outcome"], (s) =>
    Object.entries(OUTCOME_LABELS).map(([key, outcome]) => ({
      labels: { outcome },
      value: s.delivery.outcomes[key as keyof typeof OUTCOME_LABELS],
    })),
  );
  counter(
    "paynet_redeliveries_total",
    "Deliveries re-sent after a re-login",
    [],
    (s) => s.delivery.redelivered,
  );
  gauge(
    "paynet_outbound_queued_frames",
    "Frames waiting in outbound queues",
    [],
    (s) => s.outboundQueue.frames,
  );
  gauge(
    "paynet_outbound_queued_bytes",
    "Wire bytes waiting in outbound queues",
    [],
    (s) => s.outboundQueue.bytes,
  );
  counter(
    "paynet_outbound_queue_full_total",
    "Sessions closed because their outbound queue was full (a peer that does not read)",
    [],
    (s) => s.outboundQueue.fullErrors,
  );
  counter("paynet_prelogin_closed_total", "Connections closed before login, by reason", ["reason"], (s) => [
    { labels: { reason: "login_timeout" }, value: s.preLogin.loginTimeouts },
    { labels: { reason: "refused_type" }, value: s.preLogin.refusedTypes },
    { labels: { reason: "rate_limited" }, value: s.preLogin.rateLimited },
    { labels: { reason: "oversize_frame" }, value: s.preLogin.oversizeFrames },
  ]);
  counter(
    "paynet_login_refusals_total",
    "Register and login steps refused by the login policy (LOGIN_REFUSED), by step",
    ["step"],
    (s) => [
      { labels: { step: "register" }, value: s.loginRefusals.register },
      { labels: { step: "login" }, value: s.loginRefusals.login },
    ],
  );
  counter(
    "paynet_bad_frames_total",
    "Inbound frames of an unknown Type or that did not decode",
    ["kind"],
    (s) => [
      { labels: { kind: "unknown_type" }, value: s.badFrames.unknownType },
      { labels: { kind: "undecodable" }, value: s.badFrames.undecodable },
    ],
  );
  counter(
    "paynet_bad_frames_unreported_total",
    "Bad frames only counted: not logged or answered (one report per connection per window)",
    [],
    (s) => s.badFrames.suppressed,
  );
  counter(
    "paynet_bad_frame_closes_total",
    "Connections closed for too many bad frames in a window (TOO_MANY_BAD_FRAMES)",
    [],
    (s) => s.badFrames.closed,
  );
  scrapedGauge(
    registry,
    "paynet_cert_expiry_timestamp_seconds",
    "Expiry (notAfter) of the server's certificates, Unix seconds",
    ["cert"],
    () =>
      (options.certificates?.() ?? []).map(({ cert, notAfter }) => ({
        labels: { cert },
        value: Math.floor(notAfter.getTime() / 1000),
      })),
  );
  gauge("paynet_draining", "1 while the server drains (lame duck), else 0", [], (s) => (s.draining ? 1 : 0));
}

function perType<C>(
  counters: Record<string, C>,
  value: (counter: C) => number,
): Sample<"type" | "message">[] {
  return Object.entries(counters).map(([key, counter]) => ({
    labels: typeLabels(key),
    value: value(counter),
  }));
}

function sum<C>(counters: Record<string, C>, value: (counter: C) => number): number {
  let total = 0;
  for (const counter of Object.values(counters)) total += value(counter);
  return total;
}
