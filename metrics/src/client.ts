/** The metrics of a device client (`PaynetClient` or a generated facade's `runtime`). */
import type { ClientStats } from "@paynet/runtime";
import type { Registry } from "prom-client";
import { ScrapedHistogram, scrapedCounter, scrapedGauge, snapshotPerScrape, typeLabels } from "./scrape.js";

/** What the exporter reads from a client. */
export interface ClientStatsSource {
  stats(): ClientStats;
  readonly online: boolean;
}

/** Names of every metric {@link registerClientMetrics} registers. */
export const CLIENT_METRIC_NAMES = [
  "paynet_client_online",
  "paynet_client_connects_total",
  "paynet_client_reconnects_total",
  "paynet_client_tls_handshakes_total",
  "paynet_client_frames_received_total",
  "paynet_client_frames_sent_total",
  "paynet_client_offline_queue_messages",
  "paynet_client_heartbeats_sent_total",
  "paynet_heartbeat_rtt_seconds",
] as const;

/** Registers the metrics of `client` on `registry`, read from one `stats()` per scrape. */
export function registerClientMetrics(registry: Registry, client: ClientStatsSource): void {
  const stats = snapshotPerScrape(() => client.stats());
  scrapedGauge(registry, "paynet_client_online", "1 while logged in to the server, else 0", [], () =>
    client.online ? 1 : 0,
  );
  scrapedCounter(
    registry,
    "paynet_client_connects_total",
    "TLS connections established",
    [],
    () => stats().connects,
  );
  scrapedCounter(
    registry,
    "paynet_client_reconnects_total",
    "Backoff waits before a new connection attempt",
    [],
    () => stats().reconnects,
  );
  scrapedCounter(
    registry,
    "paynet_client_tls_handshakes_total",
    "TLS handshakes by result",
    ["result"],
    () => {
      const { full, resumed, failed } = stats().handshakes;
      return [
        { labels: { result: "full" }, value: full },
        { labels: { result: "resumed" }, value: resumed },
        { labels: { result: "failed" }, value: failed },
      ];
    },
  );
  scrapedCounter(
    registry,
    "paynet_client_frames_received_total",
    "Inbound frames by Type",
    ["type", "message"],
    () =>
      Object.entries(stats().framesIn).map(([key, counter]) => ({
        labels: typeLabels(key),
        value: counter.frames,
      })),
  );
  scrapedCounter(
    registry,
    "paynet_client_frames_sent_total",
    "Outbound frames by Type",
    ["type", "message"],
    () =>
      Object.entries(stats().framesOut).map(([key, counter]) => ({
        labels: typeLabels(key),
        value: counter.frames,
      })),
  );
  scrapedGauge(
    registry,
    "paynet_client_offline_queue_messages",
    "Messages waiting in the offline queue",
    [],
    () => stats().offlineQueue.messages,
  );
  scrapedCounter(
    registry,
    "paynet_client_heartbeats_sent_total",
    "Heartbeats sent",
    [],
    () => stats().heartbeat.sent,
  );
  new ScrapedHistogram(
    registry,
    "paynet_heartbeat_rtt_seconds",
    "Heartbeat round trip: heartbeat sent to its reply received",
    () => [{ labels: {}, histogram: stats().heartbeat.rtt }],
  );
}
