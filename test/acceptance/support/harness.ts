/**
 * Acceptance-test harness: real paynetd / paynetcli processes (through tsx), certificates issued
 * into a temporary directory with the same code as `paynet-gen certs init`, and cleanup that kills
 * every process and removes every directory even when a test failed.
 */
import { mkdtempSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  adminTokenOf,
  type ManagedProcess,
  startExample,
  waitForAdmin,
  waitForListening,
  waitForOps,
} from "../../../examples/demo/processes.js";
import { type InitCertsOptions, initCerts, issueDeviceFiles } from "../../../src/certs/files.js";
import { scaled } from "../../helpers/time.js";

export type { LineMatch, ManagedProcess } from "../../../examples/demo/processes.js";

/**
 * Safety net of a wait for one output line: a cold tsx start on a busy 2-core machine takes seconds,
 * so far more, stretched by the time factor.
 */
export const LINE_TIMEOUT_MS = scaled(60_000);

/** A started paynetd with the addresses it printed. */
export interface Paynetd {
  readonly process: ManagedProcess;
  readonly port: number;
  /** `http://127.0.0.1:PORT` when started with an admin endpoint. */
  readonly adminUrl: string | undefined;
  /** `http://127.0.0.1:PORT` of the ops endpoint (`/metrics`, `/livez`, `/readyz`) with `--metrics`. */
  readonly opsUrl: string | undefined;
  /** The bearer token of the admin endpoint, when started with one. */
  readonly adminToken: string | undefined;
}

export class Harness {
  readonly #processes: ManagedProcess[] = [];
  readonly #dirs: string[] = [];
  #dataRoot: string | undefined;

  /** A fresh temporary directory, removed by {@link cleanup}. */
  async tempDir(prefix = "paynet-acceptance-"): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.#dirs.push(dir);
    return dir;
  }

  /**
   * `ca.crt`, `server.crt/key`, `device.crt/key` in a new directory (`paynet-gen certs init`), plus
   * `<SN>.crt/key` for each of `devices` (`paynet-gen certs device SN`): under mTLS a device needs a
   * certificate naming its own serial, and paynetcli presents `<SN>.crt` for `--sn SN`.
   */
  async certs(
    options: Omit<InitCertsOptions, "out"> & { readonly devices?: readonly string[] } = {},
  ): Promise<string> {
    const { devices = [], ...init } = options;
    const out = join(await this.tempDir(), "certs");
    await initCerts({ ...init, out });
    await Promise.all(devices.map((sn) => issueDeviceFiles({ out, commonName: sn })));
    return out;
  }

  /** A directory holding only `ca.crt` of `certsDir`: a device without a client certificate. */
  async caOnly(certsDir: string): Promise<string> {
    const out = join(await this.tempDir(), "ca-only");
    await mkdir(out);
    await copyFile(join(certsDir, "ca.crt"), join(out, "ca.crt"));
    return out;
  }

  /**
   * Starts paynetd and waits for its `listening` line (and the admin and ops lines, when `--admin`
   * or `--metrics` is given). `env` replaces the example environment (see `exampleEnv`).
   */
  async paynetd(args: readonly string[], name = "paynetd", env?: NodeJS.ProcessEnv): Promise<Paynetd> {
    const child = this.#track(startExample("paynetd", args, env === undefined ? { name } : { name, env }));
    const { port } = await waitForListening(child, LINE_TIMEOUT_MS);
    const adminUrl = args.includes("--admin") ? await waitForAdmin(child, LINE_TIMEOUT_MS) : undefined;
    const opsUrl = args.includes("--metrics") ? await waitForOps(child, LINE_TIMEOUT_MS) : undefined;
    const adminToken = adminUrl === undefined ? undefined : await adminTokenOf(args);
    return { process: child, port, adminUrl, opsUrl, adminToken };
  }

  /** Starts paynetd without waiting for anything (a start expected to fail). */
  paynetdUnready(args: readonly string[], name = "paynetd"): ManagedProcess {
    return this.#track(startExample("paynetd", args, { name }));
  }

  /**
   * Starts paynetcli (does not wait for anything). Without `--data`, its record of executed
   * commands goes to this harness's data directory, one per serial: a device restarted with the
   * same `--sn` remembers what it executed, as it would in one working directory.
   */
  paynetcli(args: readonly string[], name = "paynetcli", env?: NodeJS.ProcessEnv): ManagedProcess {
    const withData = args.includes("--data") ? args : [...args, "--data", this.#dataDirOf(args)];
    return this.#track(startExample("paynetcli", withData, env === undefined ? { name } : { name, env }));
  }

  #dataDirOf(args: readonly string[]): string {
    if (this.#dataRoot === undefined) {
      this.#dataRoot = mkdtempSync(join(tmpdir(), "paynet-devices-"));
      this.#dirs.push(this.#dataRoot);
    }
    const sn = args[args.indexOf("--sn") + 1] ?? "unknown";
    return join(this.#dataRoot, sn.replace(/[^A-Za-z0-9._-]/g, "_"));
  }

  /** Kills every process and removes every directory of this harness. */
  async cleanup(): Promise<void> {
    const processes = this.#processes.splice(0);
    await Promise.all(processes.map((child) => child.stop("SIGKILL", 1_000)));
    const dirs = this.#dirs.splice(0);
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }

  #track(child: ManagedProcess): ManagedProcess {
    this.#processes.push(child);
    return child;
  }
}

/**
 * POSTs `body` as JSON to `path` of paynetd's admin endpoint, with its token (or `headers` instead
 * of the defaults, for tests of refusals); resolves with the status and parsed body.
 */
export async function postJson(
  server: Paynetd,
  path: string,
  body: string,
  headers?: Readonly<Record<string, string>>,
): Promise<{ status: number; json: Record<string, unknown> }> {
  if (server.adminUrl === undefined) throw new Error("paynetd was started without --admin");
  const response = await fetch(`${server.adminUrl}${path}`, {
    method: "POST",
    headers: headers ?? { "content-type": "application/json", authorization: `Bearer ${server.adminToken}` },
    body,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** Escapes text for use inside a RegExp. */
export function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Options of {@link paynetdArgs}. */
export interface PaynetdArgsOptions {
  readonly certs: string;
  /** Port to listen on, on 127.0.0.1 (default 0: any free port). */
  readonly port?: number;
  /** Open the admin endpoint on 127.0.0.1, any free port. */
  readonly admin?: boolean;
  /** Where paynetd keeps its state file. */
  readonly state?: string;
}

/** Arguments of an mTLS paynetd that sends no coin commands by itself. */
export function paynetdArgs(options: PaynetdArgsOptions): string[] {
  return [
    "--listen",
    `127.0.0.1:${options.port ?? 0}`,
    "--certs",
    options.certs,
    "--mtls",
    ...(options.admin === true ? ["--admin", "127.0.0.1:0"] : []),
    "--command-coins",
    "0",
    ...(options.state === undefined ? [] : ["--state", options.state]),
  ];
}

/** Options of {@link paynetcliArgs}. */
export interface PaynetcliArgsOptions {
  /** paynetd's port on 127.0.0.1. */
  readonly port: number;
  readonly certs: string;
  /** Serial number; the device logs in as `dev-<sn>`. */
  readonly sn: string;
  /** How long the simulated coin dispenser takes per coin. */
  readonly coinMs?: number;
  /** Further arguments, appended. */
  readonly extra?: readonly string[];
}

/** Arguments of a paynetcli device that reconnects quickly (0.2 s backoff, at most 0.5 s). */
export function paynetcliArgs(options: PaynetcliArgsOptions): string[] {
  return [
    "--connect",
    `127.0.0.1:${options.port}`,
    "--certs",
    options.certs,
    "--sn",
    options.sn,
    ...(options.coinMs === undefined ? [] : ["--coin-ms", String(options.coinMs)]),
    "--backoff-initial",
    "0.2",
    "--backoff-max",
    "0.5",
    ...(options.extra ?? []),
  ];
}
