/**
 * docs/grafana/paynet-dashboard.json: every query is valid PromQL (parsed with Prometheus' own
 * grammar, lezer-promql) and every metric it selects is one the exporter really exports — names
 * taken from a real exposition of a server and of a device client, process defaults included.
 */
import { readFile } from "node:fs/promises";
import { parser } from "@prometheus-io/lezer-promql";
import { collectDefaultMetrics, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { registerClientMetrics, registerServerMetrics } from "../../metrics/src/index.js";
import { makeClient, setUpClientTests, startLoginServer } from "../helpers/client-harness.js";
import { Exposition } from "../helpers/prometheus.js";

const pki = await setUpClientTests();
const DASHBOARD = new URL("../../docs/grafana/paynet-dashboard.json", import.meta.url);

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly targets?: ReadonlyArray<{ readonly expr: string }>;
}

/** Grafana's macros are not PromQL: a range like `[$__rate_interval]` stands for a duration. */
function withoutGrafanaMacros(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, "5m");
}

/** The metric names `expr` selects, or a syntax error naming the position. */
function selectedMetrics(expr: string): string[] {
  const source = withoutGrafanaMacros(expr);
  const names: string[] = [];
  const errors: number[] = [];
  parser.parse(source).iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
      if (node.name === "VectorSelector") {
        const metric = node.node.getChild("Identifier");
        if (metric !== null) names.push(source.slice(metric.from, metric.to));
      }
    },
  });
  if (errors.length > 0) throw new Error(`not PromQL at offset ${errors[0]}: ${expr}`);
  return names;
}

/** Series names a family of `exposition` answers to (a histogram's `_bucket`, `_sum`, `_count`). */
function seriesNames(exposition: Exposition): Set<string> {
  const names = new Set<string>();
  for (const family of exposition.families.values()) {
    names.add(family.name);
    if (family.type === "HISTOGRAM" || family.type === "SUMMARY") {
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${family.name}${suffix}`);
    }
  }
  return names;
}

describe("Grafana dashboard", () => {
  it("queries only metrics the exporter exports, in valid PromQL", async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, "utf8")) as { panels: Panel[] };
    const t = await startLoginServer(pki);
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    registerServerMetrics(registry, t.server, {
      certificates: () => [{ cert: "server", notAfter: new Date() }],
    });
    registerClientMetrics(registry, makeClient(pki, t.port));
    const exported = seriesNames(new Exposition(await registry.metrics()));

    const queried = new Map<string, string>();
    for (const panel of dashboard.panels) {
      if (panel.type === "row") continue;
      expect(panel.targets?.length, `panel "${panel.title}" has no query`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        const names = selectedMetrics(target.expr);
        expect(names.length, `panel "${panel.title}" selects no metric: ${target.expr}`).toBeGreaterThan(0);
        for (const name of names) queried.set(name, panel.title);
      }
    }
    const unknown = [...queried].filter(([name]) => !exported.has(name));
    expect(unknown.map(([name, panel]) => `${name} (panel "${panel}")`)).toEqual([]);
    // The headline metrics are all on the dashboard.
    for (const name of [
      "paynet_connections",
      "paynet_tls_handshakes_total",
      "paynet_disconnects_total",
      "paynet_frames_received_total",
      "paynet_handler_duration_seconds_bucket",
      "paynet_deliveries_pending",
      "paynet_cert_expiry_timestamp_seconds",
      "paynet_draining",
      "paynet_heartbeat_rtt_seconds_bucket",
      "paynet_client_reconnects_total",
      "paynet_prelogin_closed_total",
      "paynet_login_refusals_total",
      "paynet_bad_frames_total",
      "paynet_bad_frame_closes_total",
    ]) {
      expect(queried.has(name), name).toBe(true);
    }
  });

  it("would notice a query of a metric nobody exports", () => {
    expect(selectedMetrics('sum(rate(paynet_frames_recieved_total{job="x"}[$__rate_interval]))')).toEqual([
      "paynet_frames_recieved_total",
    ]);
    expect(() => selectedMetrics("sum(rate(paynet_connections[5m])")).toThrow(/not PromQL/);
  });
});
