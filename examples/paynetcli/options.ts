import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Address, parseAddress, parseCount, parseSeconds } from "../shared/address.js";
import { UsageError } from "../shared/errors.js";
import { parseTlsMinVersion, type TlsMinVersion } from "../shared/tls-version.js";

/** Settings of paynetcli, from its command line. */
export interface PaynetcliOptions {
  readonly connect: Address;
  /** Directory with `ca.crt` and, for mTLS servers, `device.crt`/`device.key`. */
  readonly certsDir: string;
  /** Client certificate/key files overriding `device.crt`/`device.key` in `certsDir`. */
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
  /**
   * Where the device keeps its record of executed commands (`commands.journal`). Default
   * `paynetcli-data/<sn>` in the working directory, so the same serial remembers across restarts.
   */
  readonly dataDir: string;
}

export const PAYNETCLI_USAGE = `usage: paynetcli --connect HOST:PORT --certs DIR --sn SN [options]

  --connect HOST:PORT       paynetd address
  --certs DIR               trusts DIR/ca.crt; presents DIR/device.crt + device.key when present (mTLS)
  --cert FILE --key FILE    present this client certificate instead of DIR/device.crt
  --servername NAME         TLS server name to verify (default: the host of --connect)
  --tls-min-version V       lowest TLS version: 1.3 (default) or 1.2 (talk to a server that lacks 1.3)
  --sn SN                   device serial number (device id: dev-SN)
  --model M --firmware F    sent in RegisterReq (default paybox-mini, 1.0.0)
  --token T                 login token (default demo-token)
  --heartbeat SECONDS       Ping interval (default 60)
  --backoff-initial SECONDS first reconnect delay (default 1)
  --backoff-max SECONDS     longest reconnect delay (default 64)
  --coin-ms MS              time the coin mechanism takes per coin (default 300)
  --query ORDER_ID          query this order after every login
  --exit-after-query        exit once a QueryRsp arrived
  --data DIR                record of executed commands, kept across restarts
                            (default paynetcli-data/SN in the working directory)
  --verbose                 also print the runtime's debug logs
  --help                    show this help`;

/** Parses paynetcli's arguments; `"help"` when help was asked for. Throws {@link UsageError}. */
export function parsePaynetcliArgs(argv: readonly string[]): PaynetcliOptions | "help" {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return "help";
  if (values.connect === undefined) throw new UsageError("--connect HOST:PORT is required");
  if (values.certs === undefined) throw new UsageError("--certs DIR is required");
  if (values.sn === undefined || values.sn === "") throw new UsageError("--sn SN is required");
  if ((values.cert === undefined) !== (values.key === undefined))
    throw new UsageError("--cert and --key go together");
  const backoffInitialMs = parseSeconds("--backoff-initial", values["backoff-initial"] ?? "1");
  const backoffMaxMs = parseSeconds("--backoff-max", values["backoff-max"] ?? "64");
  if (backoffMaxMs < backoffInitialMs)
    throw new UsageError("--backoff-max must not be below --backoff-initial");
  return {
    connect: parseAddress("--connect", values.connect, false),
    certsDir: values.certs,
    certPath: values.cert,
    keyPath: values.key,
    servername: values.servername,
    tlsMinVersion: parseTlsMinVersion("--tls-min-version", values["tls-min-version"]),
    sn: values.sn,
    model: values.model ?? "paybox-mini",
    firmware: values.firmware ?? "1.0.0",
    token: values.token ?? "demo-token",
    heartbeatMs: parseSeconds("--heartbeat", values.heartbeat ?? "60"),
    backoffInitialMs,
    backoffMaxMs,
    coinMs: parseCount("--coin-ms", values["coin-ms"] ?? "300"),
    queryOrder: values.query,
    exitAfterQuery: values["exit-after-query"] ?? false,
    verbose: values.verbose ?? false,
    dataDir: values.data ?? join("paynetcli-data", safeDirectoryName(values.sn)),
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      connect: { type: "string" },
      certs: { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      servername: { type: "string" },
      "tls-min-version": { type: "string" },
      sn: { type: "string" },
      model: { type: "string" },
      firmware: { type: "string" },
      token: { type: "string" },
      heartbeat: { type: "string" },
      "backoff-initial": { type: "string" },
      "backoff-max": { type: "string" },
      "coin-ms": { type: "string" },
      query: { type: "string" },
      "exit-after-query": { type: "boolean" },
      verbose: { type: "boolean" },
      data: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/** A serial number as one directory name: path separators and other unsafe characters become `_`. */
function safeDirectoryName(sn: string): string {
  const name = sn.replace(/[^A-Za-z0-9._-]/g, "_");
  return name === "." || name === ".." ? name.replace(/\./g, "_") : name;
}
