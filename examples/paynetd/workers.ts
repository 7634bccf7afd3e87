/**
 * `--workers N`: N paynetd processes on one machine behind one port. Node 20 has no `reusePort`, so
 * `node:cluster` shares the listening sockets: this primary process accepts nothing itself, forks the
 * workers (each a full cluster node with its own node id) and hands connections to them. A worker
 * that dies is replaced; its devices reconnect to the others and their pending commands follow them
 * through Redis. SIGINT/SIGTERM stop every worker gracefully.
 */
import cluster from "node:cluster";
import { randomBytes } from "node:crypto";
import type { Log } from "../shared/log.js";
import { onShutdownSignal } from "../shared/signals.js";

/** Environment variable handing the workers the primary's TLS ticket key (hex), so tickets resume on any. */
// Not PAYNETD_*: that prefix is the settings table's (PAYNETD_TICKET_KEYS would be read as the --ticket-keys file).
export const TICKET_KEYS_ENV = "PAYNET_WORKERS_TICKET_KEYS";
/** Environment variable handing the workers the admin token the primary loaded. */
export const ADMIN_TOKEN_ENV = "PAYNET_WORKERS_ADMIN_TOKEN";

/** Runs the primary: forks `count` workers and supervises them until a stop signal. */
export function runPrimary(count: number, log: Log): void {
  // Without --ticket-keys the workers still share one key: a resumed session lands on any worker.
  process.env[TICKET_KEYS_ENV] ??= randomBytes(48).toString("hex");
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < count; i++) fork();
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        log.info("stopped");
        process.exit(0);
      }
      return;
    }
    log.warn(`worker ${worker.process.pid} died (${signal ?? `exit ${code}`}); starting another`);
    fork();
  });
  log.info(`primary ${process.pid}: ${count} workers`);
  onShutdownSignal((reason) => {
    stopping = true;
    log.info(`stopping ${count} workers (${reason})`);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  });
}

/** Whether this process is the primary of `--workers` (and should not serve itself). */
export function isPrimary(workers: number): boolean {
  return workers > 1 && cluster.isPrimary;
}
