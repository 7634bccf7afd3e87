/**
 * paynetd's options: the settings table resolved from defaults, `--config paynetd.yaml`, `PAYNETD_*`
 * and the command line (see config/settings.ts), checked as a whole.
 */
import { dirname, join } from "node:path";
import type { Address } from "../shared/address.js";
import { type ResolvedSettings, resolveSettings } from "../shared/config/resolve.js";
import { usageText } from "../shared/config/usage.js";
import { UsageError } from "../shared/errors.js";
import type { TlsMinVersion } from "../shared/tls-version.js";
import { ADMIN_TOKEN_FILE } from "./admin-token.js";
import { type LogFormat, type LogLevel, PAYNETD_SETTINGS } from "./config/settings.js";
import type { ServerTlsFiles } from "./tls.js";

/** Settings of paynetd. */
export interface PaynetdOptions {
  readonly listen: Address;
  /** The TLS files: `server.crt`/`server.key`, and for mTLS `ca.crt` and (when present) `ca.crl`. */
  readonly tlsFiles: ServerTlsFiles;
  readonly mtls: boolean;
  /** Lowest TLS version accepted (`--tls-min-version`). */
  readonly tlsMinVersion: TlsMinVersion;
  /** What a CRL past its nextUpdate does (`--stale-crl`): warn, or refuse the devices under it. */
  readonly staleCrl: "warn" | "fail";
  /** Warn when the server certificate or its CA expires within this many days. */
  readonly certWarnDays: number;
  /** Login token every device must present. */
  readonly token: string;
  /** Loopback address of the HTTP admin endpoint, if enabled. */
  readonly admin: Address | undefined;
  /** The admin endpoint's bearer token file (`--admin-token-file`, default `<certs>/admin.token`). */
  readonly adminTokenFile: string;
  /** The admin token itself (`--admin-token`), instead of the file. */
  readonly adminToken: string | undefined;
  /** Ops endpoint (`/metrics`, `/livez`, `/readyz`), if enabled. */
  readonly metrics: Address | undefined;
  readonly maxFrame: number;
  readonly readTimeoutMs: number;
  /** Coins of the CoinCommand sent to each device after its first login; 0 sends none. */
  readonly commandCoins: number;
  /** JSON file keeping registered devices and orders across restarts; in memory when absent. */
  readonly statePath: string | undefined;
  /** Most devices paynetd registers (`--max-devices`). */
  readonly maxDevices: number;
  /** Most orders paynetd keeps (`--max-orders`). */
  readonly maxOrders: number;
  /** File with the 48-byte TLS ticket key (created if missing), so tickets survive restarts. */
  readonly ticketKeysPath: string | undefined;
  /** Redis of the cluster this node joins (`--redis`); its state then lives there too. */
  readonly redisUrl: string | undefined;
  /** Server processes on this machine behind the one port (`--workers`, node:cluster); 1: this one. */
  readonly workers: number;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** Runtime lines at the log level too (else its warnings only). */
  readonly verbose: boolean;
  /** The lame-duck stop on SIGTERM (see `server.drain()`). */
  readonly drain: {
    readonly graceMs: number;
    readonly evictPerSecond: number;
    readonly handlerGraceMs: number;
  };
  /** Where every value came from (for the reload log), and the config file, if any. */
  readonly settings: ResolvedSettings;
}

export const PAYNETD_USAGE = usageText(
  PAYNETD_SETTINGS,
  "usage: paynetd --listen HOST:PORT --certs DIR [options]\n       paynetd --config paynetd.yaml [options]",
  `signals: SIGHUP re-reads the config file (the whole of it is checked first: on any error the
running settings stay) and the TLS material (connected devices whose certificate is now revoked or
no longer chains to the client CA are disconnected, and refused on their next connection, resumed
TLS sessions included); settings marked restart keep their running value until a restart.
SIGTERM drains (readiness fails, listener closed after --drain-grace, sessions evicted at
--drain-rate, handlers finish); SIGINT stops at once, gracefully.`,
);

/**
 * Resolves paynetd's settings from `argv`, `env` and the config file they name; `"help"` when help
 * was asked for. Throws `UsageError` (flags, environment) or `ConfigError` (config file, secret files).
 */
export function parsePaynetdArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = {},
): PaynetdOptions | "help" {
  const settings = resolveSettings(PAYNETD_SETTINGS, argv, env);
  if (settings === "help") return "help";
  return paynetdOptions(settings);
}

function paynetdOptions(settings: ResolvedSettings): PaynetdOptions {
  const get = <T>(flag: string) => settings.get<T>(flag) as T;
  const admin = settings.get<Address>("admin");
  if (admin !== undefined && !isLoopback(admin.host)) {
    throw new UsageError(
      `${settings.origin("admin").where}: the admin endpoint must be on a loopback address (127.0.0.1, ::1 or localhost), got ${admin.host}`,
    );
  }
  const token = settings.secret("token") ?? "demo-token";
  const files = tlsFiles(settings);
  if (token.trim() === "")
    throw new UsageError(`${settings.origin("token").where}: the login token must not be empty`);
  const { redisUrl, workers } = clusterSettings(settings);
  return {
    listen: get("listen"),
    tlsFiles: files,
    mtls: get("mtls"),
    tlsMinVersion: get("tls-min-version"),
    staleCrl: get("stale-crl"),
    certWarnDays: get("cert-warn-days"),
    token,
    admin,
    adminTokenFile:
      settings.get<string>("admin-token-file") ?? join(files.dir ?? dirname(files.cert), ADMIN_TOKEN_FILE),
    adminToken: settings.get<string>("admin-token"),
    metrics: settings.get<Address>("metrics"),
    maxFrame: get("max-frame"),
    readTimeoutMs: get("read-timeout"),
    commandCoins: get("command-coins"),
    statePath: settings.get<string>("state"),
    maxDevices: get("max-devices"),
    maxOrders: get("max-orders"),
    ticketKeysPath: settings.get<string>("ticket-keys"),
    redisUrl,
    workers,
    logLevel: get("log-level"),
    logFormat: get("log-format"),
    verbose: get("verbose"),
    drain: {
      graceMs: get("drain-grace"),
      evictPerSecond: get("drain-rate"),
      handlerGraceMs: get("drain-handler-grace"),
    },
    settings,
  };
}

/** `--redis` and `--workers`, checked against each other and `--state`. */
function clusterSettings(settings: ResolvedSettings): { redisUrl: string | undefined; workers: number } {
  const redisUrl = settings.get<string>("redis");
  const workers = settings.get<number>("workers") ?? 1;
  const where = (flag: string) => settings.origin(flag).where;
  if (redisUrl !== undefined && !/^rediss?:\/\/[^/\s]+(\/\d+)?$/.test(redisUrl)) {
    throw new UsageError(`${where("redis")}: expected redis://HOST:PORT[/DB], got "${redisUrl}"`);
  }
  if (redisUrl !== undefined && settings.get<string>("state") !== undefined) {
    throw new UsageError(
      `${where("state")}: --state and --redis exclude each other (with --redis the state lives in Redis)`,
    );
  }
  if (workers > 1 && redisUrl === undefined) {
    throw new UsageError(
      `${where("workers")}: --workers needs --redis (the workers share devices, orders and pending commands through it)`,
    );
  }
  return { redisUrl, workers };
}

/** The TLS files: each given one, else its name in the certificates directory. */
function tlsFiles(settings: ResolvedSettings): ServerTlsFiles {
  const dir = settings.get<string>("certs");
  const file = (flag: string, name: string): string | undefined =>
    settings.get<string>(flag) ?? (dir === undefined ? undefined : join(dir, name));
  const cert = file("cert", "server.crt");
  const key = file("key", "server.key");
  if (cert === undefined || key === undefined) {
    throw new UsageError(
      "--certs DIR (server.tls.dir) is required, or both --cert and --key (server.tls.cert, server.tls.key)",
    );
  }
  return {
    dir,
    cert,
    key,
    ca: file("client-ca", "ca.crt"),
    crl: file("crl", "ca.crl"),
  };
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
