/**
 * paynetd: the example cloud service of the paybox protocol, built only from the SDK generated from
 * proto/paybox.proto and @paynet/runtime. Run `npm run paynetd -- --help`.
 */
import type { PaynetError, PaynetErrorCode, Session } from "@paynet/runtime";
import { createPayboxServer } from "../sdk/index.js";
import { formatAddress } from "../shared/address.js";
import { coinStateName } from "../shared/coin.js";
import { ExampleError, UsageError } from "../shared/errors.js";
import { createLog, runtimeLogger } from "../shared/log.js";
import { onShutdownSignal } from "../shared/signals.js";
import { startAdmin, stopAdmin } from "./admin.js";
import { loadAdminToken } from "./admin-token.js";
import { paynetdHandlers } from "./handlers.js";
import { PAYNETD_USAGE, type PaynetdOptions, parsePaynetdArgs } from "./options.js";
import { DEFAULT_COIN_TIMEOUT_S, OrderDesk } from "./orders.js";
import { reloadTlsOnSighup } from "./reload.js";
import { PaynetdState } from "./state.js";
import { loadServerTls, loadTicketKeys } from "./tls.js";

const log = createLog("paynetd");

async function main(argv: readonly string[]): Promise<void> {
  const options = parsePaynetdArgs(argv);
  if (options === "help") {
    process.stdout.write(`${PAYNETD_USAGE}\n`);
    return;
  }
  await serve(options);
}

async function serve(options: PaynetdOptions): Promise<void> {
  const { tls, crlPath, revoked } = await loadServerTls(options.certsDir, options.mtls);
  if (crlPath !== undefined) log.info(`revocation list ${crlPath}: ${revoked ?? "?"} revoked`);
  const ticketKeys =
    options.ticketKeysPath === undefined ? undefined : await loadTicketKeys(options.ticketKeysPath);
  const state = PaynetdState.open({
    ...(options.statePath === undefined ? {} : { path: options.statePath }),
    limits: { maxDevices: options.maxDevices, maxOrders: options.maxOrders },
    // Retried with the next change; the failure is on the operator's screen meanwhile.
    writer: { onError: (error) => log.error(error.message) },
  });
  if (options.statePath !== undefined) {
    log.info(`state ${options.statePath}: ${state.size.devices} devices, ${state.size.orders} orders`);
  }
  // The order desk delivers through the server, which is created with the handlers using the desk.
  const orders = new OrderDesk(
    (deviceId, command, deliveryOptions) => server.deliverCoinCommand(deviceId, command, deliveryOptions),
    (deviceId, command) => server.sendCoinCommand(deviceId, command),
    state,
    log,
  );
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
      readTimeoutMs: options.readTimeoutMs,
      stopGraceMs: 2_000,
      logger: runtimeLogger(log, options.verbose ? "debug" : "warn", isTlsRefusal),
    },
    paynetdHandlers({ state, orders, token: options.token, log }),
  );

  server.on("connection", (session) => {
    const cert =
      session.identity === undefined ? "" : `, device certificate CN=${session.identity.commonName ?? "?"}`;
    log.info(
      `connection from ${session.peer} (${session.resumed ? "resumed TLS session" : "full TLS handshake"}${cert})`,
    );
  });
  // Sessions that logged in: only they go "offline"; the others were never online.
  const wentOnline = new WeakSet<Session>();
  server.on("online", (session) => {
    wentOnline.add(session);
    log.info(`online ${session.deviceId} (${session.peer})`);
    // After the runtime's post-login redelivery pass: a delivery started before it would be sent twice.
    setImmediate(() => sendFirstCommand(session));
  });
  server.on("offline", (session, reason) => {
    if (wentOnline.has(session)) log.info(`offline ${session.deviceId ?? session.peer}: ${describe(reason)}`);
    else log.info(`disconnected ${session.peer} (never logged in): ${describe(reason)}`);
  });
  server.on("error", (error, session) => {
    if (error.code === "PEER_CERTIFICATE_REJECTED" && session !== undefined) {
      // A connected device whose certificate no longer passes after a reload (revoked, or its CA
      // dropped from ca.crt): the runtime closes its session.
      log.warn(`disconnecting ${session.deviceId ?? session.peer}: ${describeRefusal(error)}`);
    } else if (TLS_REFUSALS.has(error.code)) {
      // The one line about a refused TLS connection (the runtime's own warning is not printed).
      log.warn(`TLS refused ${knownPeer(error.peer) ?? "(peer address unknown)"}: ${describeRefusal(error)}`);
    } else if (options.verbose) {
      log.error(`${session?.peer ?? "server"}: ${describe(error)}`);
    }
  });

  function sendFirstCommand(session: Session): void {
    const deviceId = session.deviceId;
    if (options.commandCoins === 0 || deviceId === undefined || !state.markCommanded(deviceId)) return;
    const order = {
      orderId: OrderDesk.newOrderId(),
      coins: options.commandCoins,
      timeout: DEFAULT_COIN_TIMEOUT_S,
    };
    orders.push(deviceId, order).then(
      (final) =>
        log.info(
          `order ${final.orderId} of ${deviceId} finished: ${coinStateName(final.state)} ${final.progress}%`,
        ),
      (error: unknown) => log.warn(`order ${order.orderId} of ${deviceId} not completed: ${String(error)}`),
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
          token: await loadAdminToken({ token: options.adminToken, file: options.adminTokenFile }, log),
        });
  if (admin !== undefined) log.info(`admin listening http://${formatAddress(admin.address)}`);
  const bound = await server.start();
  reloadTlsOnSighup(server, options, crlPath !== undefined, log);
  if (options.mtls) log.info("mTLS: devices must present a certificate signed by ca.crt");
  if (options.tlsMinVersion === "TLSv1.2") log.info("TLS 1.2 accepted (--tls-min-version 1.2)");
  // Exactly `listening HOST:PORT` (after the log prefix): scripts read the bound port from it.
  log.info(`listening ${formatAddress(bound)}`);

  onShutdownSignal((reason) => {
    log.info(`stopping (${reason})`);
    const stopped = Promise.all([
      server.stop(),
      admin === undefined ? undefined : stopAdmin(admin.http),
    ]).then(
      // After the server: the acks of its last moments are in the state too.
      () => state.flush(),
    );
    stopped.then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        log.error(`stop failed: ${String(error)}`);
        process.exit(1);
      },
    );
  });
}

/** Error codes of a TLS connection refused before any session: paynetd prints one line for each. */
const TLS_REFUSALS = new Set<PaynetErrorCode>([
  "HANDSHAKE_FAILED",
  "PEER_CERTIFICATE_REJECTED",
  "HANDSHAKE_TIMEOUT",
]);

/** The runtime's warning about a refused TLS connection, which the `error` handler reports itself. */
function isTlsRefusal(message: string): boolean {
  return /^(TLS handshake failed|TLS handshake not completed|peer certificate rejected)\b/.test(message);
}

/** `code reason`: the TLS library's reason without the message's repeated context. */
function describeRefusal(error: PaynetError): string {
  const reason = "reason" in error && typeof error.reason === "string" ? error.reason : error.message;
  return `${error.code} ${reason}`;
}

/** The peer address, unless the runtime could not tell it (`?:?` for a socket reset early). */
function knownPeer(peer: string | undefined): string | undefined {
  return peer === undefined || peer.startsWith("?") ? undefined : peer;
}

function describe(error: PaynetError): string {
  return `${error.code} ${error.message}`;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`paynetd: ${error.message}\n\n${PAYNETD_USAGE}\n`);
    process.exit(2);
  }
  log.error(
    error instanceof ExampleError
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error),
  );
  process.exit(1);
});
