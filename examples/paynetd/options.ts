import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Address, parseAddress, parseCount, parseSeconds } from "../shared/address.js";
import { UsageError } from "../shared/errors.js";
import { parseTlsMinVersion, type TlsMinVersion } from "../shared/tls-version.js";
import { ADMIN_TOKEN_FILE } from "./admin-token.js";
import { DEFAULT_STATE_LIMITS } from "./state.js";

/** Settings of paynetd, from its command line. */
export interface PaynetdOptions {
  readonly listen: Address;
  /** Directory with `server.crt`, `server.key` and (for `--mtls`) `ca.crt` and optionally `ca.crl`. */
  readonly certsDir: string;
  readonly mtls: boolean;
  /** Lowest TLS version accepted (`--tls-min-version`). */
  readonly tlsMinVersion: TlsMinVersion;
  /** What a CRL past its nextUpdate does (`--stale-crl`): warn, or refuse the devices under it. */
  readonly staleCrl: "warn" | "fail";
  /** Login token every device must present. */
  readonly token: string;
  /** Loopback address of the HTTP admin endpoint, if enabled. */
  readonly admin: Address | undefined;
  /** The admin endpoint's bearer token file (`--admin-token-file`, default `<certs>/admin.token`). */
  readonly adminTokenFile: string;
  /** The admin token itself (`--admin-token`), instead of the file. */
  readonly adminToken: string | undefined;
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
  readonly verbose: boolean;
}

export const PAYNETD_USAGE = `usage: paynetd --listen HOST:PORT --certs DIR [options]

  --listen HOST:PORT      address to listen on (port 0: any free port, printed in "listening HOST:PORT")
  --certs DIR             directory with server.crt, server.key and ca.crt (paynet-gen certs init)
  --mtls                  require a device certificate signed by ca.crt and not revoked by ca.crl
                          (used when present: paynet-gen certs revoke)
  --tls-min-version V     lowest TLS version accepted: 1.3 (default) or 1.2, for device TLS stacks
                          without 1.3 (mbedTLS 2.x)
  --stale-crl warn|fail   a ca.crl past its nextUpdate: log it and let devices in (warn, default)
                          or refuse the devices under its CA until a fresh one is loaded (fail)
  --token T               login token devices must present (default demo-token)
  --admin HOST:PORT       loopback HTTP admin endpoint: POST /devices/:id/coin {"order_id","coins"}
                          with Authorization: Bearer <admin token>, Content-Type: application/json
  --admin-token-file FILE the admin token; generated (mode 0600, printed once) when missing
                          (default DIR/admin.token of --certs)
  --admin-token T         the admin token itself (at least 16 characters; visible to ps, prefer the file)
  --read-timeout SECONDS  drop a connection that sent nothing for this long (default 70, 0: never)
  --command-coins N       coins of the CoinCommand sent after a device's first login (default 3, 0: none)
  --state FILE            keep registered devices and orders in this JSON file across restarts
                          (written atomically, many changes per write, and on stop)
  --max-devices N         most devices registered; more are refused (default 100000)
  --max-orders N          most orders kept; more are refused (default 100000)
  --ticket-keys FILE      TLS session ticket key file (created if missing): resumption survives restarts
  --verbose               also print the runtime's own info and debug logs
  --help                  show this help

signals: SIGHUP re-reads server.crt, server.key, ca.crt and ca.crl from --certs (connected devices
whose certificate is now revoked or no longer chains to ca.crt are disconnected, and refused on
their next connection, resumed TLS sessions included); SIGINT/SIGTERM stop gracefully.`;

/** Parses paynetd's arguments; `"help"` when help was asked for. Throws {@link UsageError}. */
export function parsePaynetdArgs(argv: readonly string[]): PaynetdOptions | "help" {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return "help";
  if (values.listen === undefined) throw new UsageError("--listen HOST:PORT is required");
  if (values.certs === undefined) throw new UsageError("--certs DIR is required");
  const admin = values.admin === undefined ? undefined : parseAddress("--admin", values.admin, true);
  if (admin !== undefined && !isLoopback(admin.host)) {
    throw new UsageError(
      `--admin must be a loopback address (127.0.0.1, ::1 or localhost), got ${admin.host}`,
    );
  }
  if (values.token === "") throw new UsageError("--token must not be empty");
  const staleCrl = values["stale-crl"] ?? "warn";
  if (staleCrl !== "warn" && staleCrl !== "fail") {
    throw new UsageError(`--stale-crl: expected warn or fail, got "${staleCrl}"`);
  }
  return {
    listen: parseAddress("--listen", values.listen, true),
    certsDir: values.certs,
    mtls: values.mtls ?? false,
    tlsMinVersion: parseTlsMinVersion("--tls-min-version", values["tls-min-version"]),
    staleCrl,
    token: values.token ?? "demo-token",
    admin,
    adminTokenFile: values["admin-token-file"] ?? join(values.certs, ADMIN_TOKEN_FILE),
    adminToken: values["admin-token"],
    readTimeoutMs: parseSeconds("--read-timeout", values["read-timeout"] ?? "70", true),
    commandCoins: parseCount("--command-coins", values["command-coins"] ?? "3"),
    statePath: values.state,
    maxDevices: parseLimit("--max-devices", values["max-devices"], DEFAULT_STATE_LIMITS.maxDevices),
    maxOrders: parseLimit("--max-orders", values["max-orders"], DEFAULT_STATE_LIMITS.maxOrders),
    ticketKeysPath: values["ticket-keys"],
    verbose: values.verbose ?? false,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      listen: { type: "string" },
      certs: { type: "string" },
      mtls: { type: "boolean" },
      "tls-min-version": { type: "string" },
      "stale-crl": { type: "string" },
      token: { type: "string" },
      admin: { type: "string" },
      "admin-token-file": { type: "string" },
      "admin-token": { type: "string" },
      "read-timeout": { type: "string" },
      "command-coins": { type: "string" },
      state: { type: "string" },
      "max-devices": { type: "string" },
      "max-orders": { type: "string" },
      "ticket-keys": { type: "string" },
      verbose: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function parseLimit(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const limit = parseCount(flag, value);
  if (limit === 0) throw new UsageError(`${flag}: expected at least 1, got 0`);
  return limit;
}
