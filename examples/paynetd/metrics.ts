/**
 * paynetd's Prometheus registry: the Node process defaults and `@paynet/metrics` on the running
 * server, with the expiry of the certificates it serves with.
 */
import { registerServerMetrics } from "@paynet/metrics";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { PayboxServer } from "../sdk/index.js";
import type { CertificateWatch } from "./cert-watch.js";

/** A registry exporting `server` (read at scrape time) and the process. */
export function paynetdRegistry(server: PayboxServer, certificates: CertificateWatch): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerServerMetrics(registry, server.runtime, { certificates: () => certificates.expiries() });
  return registry;
}
