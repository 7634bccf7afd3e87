/**
 * paynetcli's options: the settings table resolved from defaults, `--config device.yaml`,
 * `PAYNETCLI_*` and the command line (see config/settings.ts).
 */
import { join } from "node:path";
import type { LogFormat, LogLevel } from "../paynetd/config/settings.js";
import type { Address } from "../shared/address.js";
import { type ResolvedSettings, resolveSettings } from "../shared/config/resolve.js";
import { usageText } from "../shared/config/usage.js";
import { UsageError } from "../shared/errors.js";
import type { TlsMinVersion } from "../shared/tls-version.js";
import { PAYNETCLI_SETTINGS } from "./config/settings.js";

/** Settings of paynetcli, from its command line. */
export interface PaynetcliOptions {
  /** paynetd's address(es): the device connects to the first, then the next, round the list. */
  readonly connect: readonly Address[];
  /** Directory with `ca.crt` and, for mTLS servers, `<sn>.crt`/`<sn>.key` or `device.crt`/`device.key` (when given). */
  readonly certsDir: string | undefined;
  /** The CA file trusted for the server certificate. */
  readonly caPath: string;
  /** Client certificate/key files overriding the ones in `certsDir`. */
  readonly certPath: string | undefined;
  readonly keyPath: string | undefined;
  readonly servername: string | undefined;
  /** Lowest TLS version offered (`--tls-min-version`). */
  readonly tlsMinVersion: TlsMinVersion;
  readonly sn: string;
  readonly model: string;
  readonly firmware: string;
  readonly token: string;
  readonly heartbeatMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** Time the coin mechanism takes per coin. */
  readonly coinMs: number;
  /** Order to query after every login (besides the last executed order after a reconnect). */
  readonly queryOrder: string | undefined;
  /** Exit (status 0) once a QueryRsp arrived. */
  readonly exitAfterQuery: boolean;
  readonly verbose: boolean;
  /** Warn at start when the device certificate expires within this many days. */
  readonly certWarnDays: number;
  /** Device metrics endpoint (`/metrics`), if enabled. */
  readonly metrics: Address | undefined;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /**
   * Where the device keeps its record of executed commands (`commands.journal`). Default
   * `paynetcli-data/<sn>` in the working directory, so the same serial remembers across restarts.
   */
  readonly dataDir: string;
}

export const PAYNETCLI_USAGE = usageText(
  PAYNETCLI_SETTINGS,
  "usage: paynetcli --connect HOST:PORT --certs DIR --sn SN [options]\n       paynetcli --config device.yaml [options]",
);

/**
 * Resolves paynetcli's settings from `argv`, `env` and the config file they name; `"help"` when
 * help was asked for. Throws `UsageError` or `ConfigError`.
 */
export function parsePaynetcliArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = {},
): PaynetcliOptions | "help" {
  const settings = resolveSettings(PAYNETCLI_SETTINGS, argv, env);
  if (settings === "help") return "help";
  return paynetcliOptions(settings);
}

function paynetcliOptions(settings: ResolvedSettings): PaynetcliOptions {
  const get = <T>(flag: string) => settings.get<T>(flag) as T;
  const certsDir = settings.get<string>("certs");
  const caPath =
    settings.get<string>("ca") ?? (certsDir === undefined ? undefined : join(certsDir, "ca.crt"));
  if (caPath === undefined)
    throw new UsageError("--certs DIR (client.tls.dir) or --ca FILE (client.tls.ca) is required");
  const certPath = settings.get<string>("cert");
  const keyPath = settings.get<string>("key");
  if ((certPath === undefined) !== (keyPath === undefined))
    throw new UsageError("--cert and --key go together");
  const backoffInitialMs = get<number>("backoff-initial");
  const backoffMaxMs = get<number>("backoff-max");
  if (backoffMaxMs < backoffInitialMs)
    throw new UsageError("--backoff-max must not be below --backoff-initial");
  const sn = get<string>("sn");
  const token = settings.secret("token") ?? "demo-token";
  return {
    connect: get("connect"),
    certsDir,
    caPath,
    certPath,
    keyPath,
    servername: settings.get<string>("servername"),
    tlsMinVersion: get<TlsMinVersion>("tls-min-version"),
    sn,
    model: get("model"),
    firmware: get("firmware"),
    token,
    heartbeatMs: get("heartbeat"),
    backoffInitialMs,
    backoffMaxMs,
    coinMs: get("coin-ms"),
    queryOrder: settings.get<string>("query"),
    exitAfterQuery: get("exit-after-query"),
    verbose: get("verbose"),
    certWarnDays: get("cert-warn-days"),
    metrics: settings.get<Address>("metrics"),
    logLevel: get("log-level"),
    logFormat: get("log-format"),
    dataDir: settings.get<string>("data") ?? join("paynetcli-data", safeDirectoryName(sn)),
  };
}

/** A serial number as one directory name: path separators and other unsafe characters become `_`. */
function safeDirectoryName(sn: string): string {
  const name = sn.replace(/[^A-Za-z0-9._-]/g, "_");
  return name === "." || name === ".." ? name.replace(/\./g, "_") : name;
}
