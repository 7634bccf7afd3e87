/**
 * paynetd: the example cloud service of the paybox protocol, built only from the SDK generated from
 * proto/paybox.proto and @paynet/runtime. Run `npm run paynetd -- --help`.
 */
import { type RedisCluster, redisCluster } from "@paynet/cluster";
import type { Session } from "@paynet/runtime";
import type { Redis } from "ioredis";
import { type CoinAck, CoinCommandRequest, createPayboxServer } from "../sdk/index.js";
import { formatAddress } from "../shared/address.js";
import { coinStateName } from "../shared/coin.js";
import { ConfigError } from "../shared/config/yaml-file.js";
import { ExampleError, UsageError } from "../shared/errors.js";
import { atLeast, createLog, type LogLevel, runtimeLogger } from "../shared/log.js";
import { startOpsServer } from "../shared/ops-server.js";
import { onShutdownSignal } from "../shared/signals.js";
import { startAdmin, stopAdmin } from "./admin.js";
import { loadAdminToken } from "./admin-token.js";
import { CertificateWatch } from "./cert-watch.js";
import { type LiveSettings, reloadOnSighup } from "./config/reload.js";
import { describe, logConnectionEvents, shownByPaynetd } from "./events.js";
import { paynetdHandlers } from "./handlers.js";
import { paynetdRegistry } from "./metrics.js";
import { PAYNETD_USAGE, type PaynetdOptions, parsePaynetdArgs } from "./options.js";
import { DEFAULT_COIN_TIMEOUT_S, OrderDesk } from "./orders.js";
import { RedisPaynetdState } from "./redis-state.js";
import { TlsReloader } from "./reload.js";
import { PaynetdState } from "./state.js";
import type { PaynetdStore } from "./store.js";
import { loadServerTls, loadTicketKeys } from "./tls.js";
import { ADMIN_TOKEN_ENV, isPrimary, runPrimary, TICKET_KEYS_ENV } from "./workers.js";

const log = createLog("paynetd");

async function main(argv: readonly string[]): Promise<void> {
  const options = parsePaynetdArgs(argv, process.env);
  if (options === "help") {
    process.stdout.write(`${PAYNETD_USAGE}\n`);
    return;
  }
  log.configure({ format: options.logFormat, level: options.logLevel });
  if (isPrimary(options.workers)) {
    // The workers share one admin token: generated (if need be) here, once, not raced by them.
    if (options.admin !== undefined && options.adminToken === undefined) {
      process.env[ADMIN_TOKEN_ENV] = await loadAdminToken({ file: options.adminTokenFile }, log);
    }
    runPrimary(options.workers, log);
    return;
  }
  await serve(argv, options);
}

async function serve(argv: readonly string[], options: PaynetdOptions): Promise<void> {
  const live: LiveSettings = { options, startup: options };
  if (options.settings.configPath !== undefined) {
    log.info({ event: "config", path: options.settings.configPath }, `config ${options.settings.configPath}`);
  }
  const loaded = await loadServerTls(options.tlsFiles, options.mtls);
  const { tls, crlPath, revoked } = loaded;
  if (crlPath !== undefined) log.info(`revocation list ${crlPath}: ${revoked ?? "?"} revoked`);
  const certificates = new CertificateWatch(log, options.certWarnDays);
  certificates.load(options.tlsFiles, options.mtls);
  const sharedTicketKeys = process.env[TICKET_KEYS_ENV];
  const ticketKeys =
    options.ticketKeysPath !== undefined
      ? await loadTicketKeys(options.ticketKeysPath)
      : sharedTicketKeys === undefined
        ? undefined
        : Buffer.from(sharedTicketKeys, "hex");
  const limits = { maxDevices: options.maxDevices, maxOrders: options.maxOrders };
  // With --redis this process is one node of a cluster: presence, pending commands and the state
  // are shared through Redis (the spec, with its isFinal from the proto, tells every node how a
  // CoinCommand ends).
  const cluster: RedisCluster | undefined =
    options.redisUrl === undefined
      ? undefined
      : redisCluster({ url: options.redisUrl, specs: [CoinCommandRequest] });
  let state: PaynetdStore;
  if (cluster !== undefined) {
    // --redis names one Redis (or a Sentinel-managed primary): a `Redis`, never a Redis Cluster.
    state = new RedisPaynetdState(cluster.redis as Redis, cluster.prefix, limits);
    log.info(
      { event: "cluster", node: cluster.nodeId },
      `cluster node ${cluster.nodeId} on ${options.redisUrl}`,
    );
  } else {
    const local = PaynetdState.open({
      ...(options.statePath === undefined ? {} : { path: options.statePath }),
      limits,
      // Retried with the next change; the failure is on the operator's screen meanwhile.
      writer: { onError: (error) => log.error(error.message) },
    });
    if (options.statePath !== undefined) {
      log.info(`state ${options.statePath}: ${local.size.devices} devices, ${local.size.orders} orders`);
    }
    state = local;
  }
  // The order desk delivers through the server, which is created with the handlers using the desk.
  const orders = new OrderDesk(
    (deviceId, command, deliveryOptions) => server.deliverCoinCommand(deviceId, command, deliveryOptions),
    (deviceId, command) => server.sendCoinCommand(deviceId, command),
    state,
    log,
    { acksRecordedByHolder: cluster !== undefined },
  );
  // In a cluster, every CoinAck is recorded by the node holding the device, whoever pushed the order.
  cluster?.on(
    "reply",
    (event) => void orders.recordAck(event.deviceId, event.reply as CoinAck).catch(() => {}),
  );
  const runtimeLevel = (level: LogLevel): LogLevel => (options.verbose ? level : atLeast("warn", level));
  const runtime = runtimeLogger(log, runtimeLevel(options.logLevel), shownByPaynetd);
  const server = createPayboxServer(
    {
      host: options.listen.host,
      port: options.listen.port,
      tls: {
        ...tls,
        minVersion: options.tlsMinVersion,
        staleCrl: options.staleCrl,
        ...(ticketKeys === undefined ? {} : { ticketKeys }),
      },
      maxFrame: options.maxFrame,
      readTimeoutMs: options.readTimeoutMs,
      stopGraceMs: 2_000,
      // Under --mtls a certificate acts only for the device it names (the runtime's default policy);
      // the state file tells which device id each serial was registered as, across restarts.
      registeredDevices: { deviceIdOf: (serial) => state.deviceIdOf(serial) },
      logger: runtime,
      ...(cluster === undefined ? {} : { cluster }),
    },
    paynetdHandlers({
      state,
      orders,
      log,
      get token() {
        return live.options.token;
      },
    }),
  );
  logConnectionEvents(server, log, { verbose: options.verbose, onOnline: (s) => void sendFirstCommand(s) });

  async function sendFirstCommand(session: Session): Promise<void> {
    const deviceId = session.deviceId;
    const coins = live.options.commandCoins;
    if (coins === 0 || deviceId === undefined) return;
    // Once per device, cluster-wide with --redis.
    let first: boolean;
    try {
      first = await state.markCommanded(deviceId);
    } catch (error) {
      log.warn(`first command of ${deviceId} not sent: ${String(error)}`);
      return;
    }
    if (!first) return;
    const order = { orderId: OrderDesk.newOrderId(), coins, timeout: DEFAULT_COIN_TIMEOUT_S };
    orders.push(deviceId, order).then(
      (final) =>
        log.info(
          { event: "delivery", deviceId, orderId: final.orderId, outcome: coinStateName(final.state) },
          `order ${final.orderId} of ${deviceId} finished: ${coinStateName(final.state)} ${final.progress}%`,
        ),
      (error: unknown) =>
        log.warn(
          { event: "delivery", deviceId, orderId: order.orderId, outcome: "not_completed" },
          `order ${order.orderId} of ${deviceId} not completed: ${String(error)}`,
        ),
    );
  }

  const admin =
    options.admin === undefined
      ? undefined
      : await startAdmin(options.admin, {
          server,
          orders,
          state,
          log,
          token: await adminToken(options, state),
          ...(cluster === undefined
            ? {}
            : { isOnline: async (deviceId: string) => (await cluster.locate(deviceId)) !== undefined }),
        });
  if (admin !== undefined) log.info(`admin listening http://${formatAddress(admin.address)}`);
  const ops =
    options.metrics === undefined
      ? undefined
      : await startOpsServer(options.metrics, {
          registry: paynetdRegistry(server, certificates),
          ready: () => !server.runtime.draining,
        });
  if (ops !== undefined) {
    log.info(
      { event: "ops_listening", address: formatAddress(ops.address) },
      `ops listening http://${formatAddress(ops.address)} (/metrics, /livez, /readyz)`,
    );
  }
  const bound = await server.start();
  certificates.start();
  reloadOnSighup(argv, {
    live,
    log,
    tls: new TlsReloader(server, options.mtls, crlPath !== undefined),
    certificates,
    setLogLevel: (level) => {
      log.setLevel(level);
      runtime.setLevel(runtimeLevel(level));
    },
  });
  if (options.mtls) {
    log.info(
      "mTLS: devices must present a certificate signed by ca.crt, and act only as the device its CN names",
    );
  }
  if (options.tlsMinVersion === "TLSv1.2") log.info("TLS 1.2 accepted (--tls-min-version 1.2)");
  onShutdownSignal((reason) => {
    log.info({ event: "stopping", reason }, `stopping (${reason})`);
    certificates.stop();
    const serverStopped = reason === "SIGTERM" ? drain() : server.stop();
    const stopped = serverStopped.then(() =>
      Promise.all([
        admin === undefined ? undefined : stopAdmin(admin.http),
        ops?.close(),
        // After the server: the acks of its last moments are in the state too.
        state.flush(),
      ]),
    );
    stopped.then(
      () => {
        log.info({ event: "stopped" }, "stopped");
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ event: "stopped", error: String(error) }, `stop failed: ${String(error)}`);
        process.exit(1);
      },
    );
  });
  // Announced only once SIGTERM and SIGINT stop paynetd gracefully: whoever waits for this line (a
  // script, a supervisor) may signal at once. The message is exactly `listening HOST:PORT` in both
  // formats: scripts read the bound port from it.
  const address = formatAddress(bound);
  log.info({ event: "listening", address, host: bound.host, port: bound.port }, `listening ${address}`);

  /** SIGTERM: the lame-duck stop, with its figures in the log. */
  async function drain(): Promise<void> {
    const { graceMs, evictPerSecond, handlerGraceMs } = live.options.drain;
    server.runtime.on("draining", (info) => {
      if (info.phase === "grace") {
        log.info(
          { event: "drain", phase: "grace", sessions: info.sessions, graceMs },
          `draining: /readyz answers 503, listener open ${graceMs / 1000}s more, ${info.sessions} session(s)`,
        );
      } else {
        log.info(
          { event: "drain", phase: "evicting", sessions: info.sessions, evictPerSecond },
          `draining: listener closed, evicting ${info.sessions} session(s) at ${evictPerSecond}/s`,
        );
      }
    });
    const report = await server.runtime.drain({ graceMs, evictPerSecond, handlerGraceMs });
    log.info(
      { event: "drain", phase: "done", ...report },
      `drained: ${report.evicted} of ${report.sessions} session(s) evicted in ${(report.evictionMs / 1000).toFixed(1)}s, ` +
        `${report.handlersUnfinished} handler(s) unfinished, ${(report.durationMs / 1000).toFixed(1)}s in all`,
    );
  }
}

/**
 * The admin token: `--admin-token`, the one the `--workers` primary loaded, or the token file; in a
 * cluster the first node's token is the cluster's (kept in Redis), so every node accepts the same.
 */
async function adminToken(options: PaynetdOptions, state: PaynetdStore): Promise<string> {
  const token =
    options.adminToken ??
    process.env[ADMIN_TOKEN_ENV] ??
    (await loadAdminToken({ token: options.adminToken, file: options.adminTokenFile }, log));
  return state instanceof RedisPaynetdState ? state.sharedAdminToken(token, log) : token;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`paynetd: ${error.message}\n\n${PAYNETD_USAGE}\n`);
    process.exit(2);
  }
  // Before any log line: the operator who started it reads this on the terminal or in the unit's status.
  if (error instanceof ConfigError) {
    process.stderr.write(`paynetd: ${error.message}\n`);
    process.exit(2);
  }
  log.error(
    error instanceof ExampleError
      ? error.message
      : error instanceof Error && "code" in error
        ? describe(error as never)
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error),
  );
  process.exit(1);
});
