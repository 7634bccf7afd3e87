/**
 * paynetcli: the example payment box of the paybox protocol, built only from the SDK generated from
 * proto/paybox.proto and @paynet/runtime. Run `npm run paynetcli -- --help`.
 */

import { registerClientMetrics } from "@paynet/metrics";
import type { PaynetError } from "@paynet/runtime";
import { collectDefaultMetrics, Registry } from "prom-client";
import { createPayboxClient, ResultCode } from "../sdk/index.js";
import { formatAddress } from "../shared/address.js";
import { coinStateName, resultCodeName } from "../shared/coin.js";
import { ConfigError } from "../shared/config/yaml-file.js";
import { ExampleError, UsageError } from "../shared/errors.js";
import { atLeast, createLog, runtimeLogger } from "../shared/log.js";
import { startOpsServer } from "../shared/ops-server.js";
import { onShutdownSignal } from "../shared/signals.js";
import { executeCoinCommand } from "./coins.js";
import { PAYNETCLI_USAGE, type PaynetcliOptions, parsePaynetcliArgs } from "./options.js";
import { openCommandRecord } from "./record.js";
import { loadDeviceTls } from "./tls.js";

const log = createLog("paynetcli");
const startedAt = Date.now();

async function main(argv: readonly string[]): Promise<void> {
  const options = parsePaynetcliArgs(argv, process.env);
  if (options === "help") {
    process.stdout.write(`${PAYNETCLI_USAGE}\n`);
    return;
  }
  log.configure({ format: options.logFormat, level: options.logLevel });
  await runDevice(options);
}

async function runDevice(options: PaynetcliOptions): Promise<void> {
  const { tls, certPath, expiryWarning, serialWarning } = await loadDeviceTls(options);
  const commands = await openCommandRecord(options.dataDir, log);
  let deviceId = `dev-${options.sn}`;
  let lastOrderId: string | undefined;
  let onlineCount = 0;
  // How far the current connection got: a server that wants a client certificate lets the TLS 1.3
  // handshake finish, then closes the connection before answering anything.
  let progress: ConnectionProgress = "connecting";
  let hinted = false;
  const heard = () => {
    progress = "answered";
  };

  const client = createPayboxClient(
    {
      addresses: options.connect,
      tls,
      reconnect: { initialDelayMs: options.backoffInitialMs, maxDelayMs: options.backoffMaxMs },
      logger: runtimeLogger(log, options.verbose ? "debug" : atLeast("info", options.logLevel)),
      idempotencyStore: commands,
      register: () => {
        log.info(`-> RegisterReq sn=${options.sn} model=${options.model} firmware=${options.firmware}`);
        return { deviceSn: options.sn, model: options.model, firmware: options.firmware };
      },
      onRegisterReply: (reply) => {
        heard();
        log.info(
          `<- RegisterRsp ${resultCodeName(reply.code)} device_id=${reply.deviceId || "-"} "${reply.msg}"`,
        );
        if (reply.code === ResultCode.OK && reply.deviceId !== "") deviceId = reply.deviceId;
      },
      login: () => {
        log.info(`-> LoginReq device_id=${deviceId} version=${options.firmware}`);
        return { deviceId, token: options.token, version: options.firmware };
      },
      onLoginReply: (reply) => {
        heard();
        const token = reply.resumeToken === "" ? "" : ` resume_token=${reply.resumeToken}`;
        log.info(`<- LoginRsp ${resultCodeName(reply.code)} "${reply.msg}"${token}`);
      },
      heartbeat: {
        intervalMs: options.heartbeatMs,
        build: () => {
          const ping = { timestamp: BigInt(Date.now()), uptime: Math.floor((Date.now() - startedAt) / 1000) };
          log.debug(`-> Ping timestamp=${ping.timestamp} uptime=${ping.uptime}s`);
          return ping;
        },
      },
    },
    {
      CoinCommand: (command, ctx) =>
        executeCoinCommand(command, ctx, {
          coinMs: options.coinMs,
          log,
          onOrder: (orderId) => {
            lastOrderId = orderId;
          },
        }),
      Pong: (pong) => log.debug(`<- Pong timestamp=${pong.timestamp}`),
      ErrorMsg: (error) => log.warn(`<- ErrorMsg code=${error.code} "${error.msg}"`),
    },
  );

  async function query(orderId: string): Promise<void> {
    log.info(`-> QueryReq order=${orderId}`);
    try {
      const reply = await client.requestQueryReq({ orderId }, { timeoutMs: 10_000 });
      const error = reply.error === "" ? "" : ` error="${reply.error}"`;
      log.info(
        `<- QueryRsp order=${reply.orderId} state=${coinStateName(reply.state)} progress=${reply.progress}${error}`,
      );
      if (options.exitAfterQuery) await stop("query answered");
    } catch (error) {
      log.warn(`query of ${orderId} failed: ${describe(error)}`);
    }
  }

  async function stop(why: string): Promise<void> {
    log.info(`stopping (${why})`);
    await client.stop();
    await commands.close();
    log.info("stopped");
    process.exit(0);
  }

  const handshake = (resumed: boolean) => (resumed ? "resumed TLS session" : "full TLS handshake");
  client.on("connecting", ({ attempt, host, port }) => {
    progress = "connecting";
    log.info(`connecting to ${formatAddress({ host, port })} (attempt ${attempt})`);
  });
  client.on("connected", ({ resumed }) => {
    progress = "tls-up";
    log.info(`TLS connected (${handshake(resumed)})`);
  });
  client.on("online", ({ resumed }) => {
    heard();
    onlineCount++;
    log.info({ event: "online", deviceId, resumed }, `online (${handshake(resumed)}) as ${deviceId}`);
    if (options.queryOrder !== undefined) void query(options.queryOrder);
    else if (onlineCount > 1 && lastOrderId !== undefined) void query(lastOrderId);
  });
  client.on("offline", (reason) =>
    log.info({ event: "offline", deviceId, reason: reason.code }, `offline: ${describe(reason)}`),
  );
  client.on("reconnecting", ({ attempt, delayMs }) =>
    log.info(
      { event: "reconnecting", attempt, delayMs },
      `reconnecting in ${(delayMs / 1000).toFixed(1)}s (attempt ${attempt})`,
    ),
  );
  client.on("loginRefused", (error) => log.warn(`login refused: ${describe(error)}`));
  client.on("interrupted", ({ key, reason }) =>
    log.warn(`order ${key} was interrupted by a restart while dispensing: answered FAILED (${reason})`),
  );
  client.on("error", (error) => {
    if (error.code === "LOGIN_REFUSED") return;
    log.warn(`connection problem: ${describe(error)}`);
    if (certPath === undefined && !hinted && closedForWantOfCertificate(error, progress)) {
      hinted = true;
      log.warn(
        `hint: the server closed the connection right after the TLS handshake and this device presented no client certificate; the server may require one (--mtls): put device.crt/device.key in ${options.certsDir ?? "the --certs directory"} or pass --cert/--key`,
      );
    }
  });

  const mtls = certPath === undefined ? "no client certificate" : `client certificate ${certPath}`;
  log.info(`device ${options.sn} starting: server ${options.connect.map(formatAddress).join(", ")}, ${mtls}`);
  if (expiryWarning !== undefined)
    log.warn({ event: "cert_expiry", cert: "device", path: certPath }, expiryWarning);
  if (serialWarning !== undefined)
    log.warn({ event: "cert_serial_mismatch", path: certPath, sn: options.sn }, serialWarning);
  if (options.metrics !== undefined) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    registerClientMetrics(registry, client.runtime);
    const ops = await startOpsServer(options.metrics, {
      registry,
      ready: () => client.runtime.online,
      notReady: "offline",
    });
    log.info(
      { event: "ops_listening", address: formatAddress(ops.address) },
      `metrics listening http://${formatAddress(ops.address)}/metrics`,
    );
  }
  onShutdownSignal((reason) => void stop(reason));
  await client.run();
}

/** How far one connection got before it ended. */
type ConnectionProgress = "connecting" | "tls-up" | "answered";

/**
 * Whether `error` looks like a server refusing a device without a client certificate: the
 * connection closed after the TLS handshake but before any answer, or the handshake itself was
 * reset or ended with the server's "certificate required" alert.
 */
function closedForWantOfCertificate(error: PaynetError, progress: ConnectionProgress): boolean {
  if (error.code === "CONNECTION_CLOSED") return progress === "tls-up";
  return error.code === "HANDSHAKE_FAILED" && /certificate required|ECONNRESET/i.test(error.message);
}

function describe(error: unknown): string {
  if (error instanceof Error && "code" in error) return `${(error as PaynetError).code} ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`paynetcli: ${error.message}\n\n${PAYNETCLI_USAGE}\n`);
    process.exit(2);
  }
  // Before any log line: the operator who started it reads this on the terminal or in the unit's status.
  if (error instanceof ConfigError) {
    process.stderr.write(`paynetcli: ${error.message}\n`);
    process.exit(2);
  }
  log.error(error instanceof ExampleError ? error.message : describe(error));
  process.exit(1);
});
