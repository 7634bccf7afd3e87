/**
 * @packageDocumentation
 * `@paynet/metrics`: a Prometheus exporter for `@paynet/runtime` on prom-client. The runtime keeps
 * its counters in plain arrays and this package reads them at scrape time, so attaching it costs
 * the frame path nothing; `@paynet/runtime` itself stays free of dependencies.
 */
export { CLIENT_METRIC_NAMES, type ClientStatsSource, registerClientMetrics } from "./client.js";
export {
  type HistogramSample,
  type Sample,
  ScrapedHistogram,
  scrapedCounter,
  scrapedGauge,
  snapshotPerScrape,
  typeLabels,
} from "./scrape.js";
export {
  type CertificateExpiry,
  registerServerMetrics,
  SERVER_METRIC_NAMES,
  type ServerMetricsOptions,
  type StatsSource,
} from "./server.js";
