/**
 * SIGHUP: read the settings again (config file, environment, the same command line) and the TLS
 * material, check all of it, and only then apply what can change while running. On any error
 * nothing changes and the error is logged with its file:line:col. A changed setting that needs a
 * restart is named in a warning and keeps its running value.
 */
import type { Log } from "../../shared/log.js";
import type { CertificateWatch } from "../cert-watch.js";
import { type PaynetdOptions, parsePaynetdArgs } from "../options.js";
import type { TlsReloader } from "../reload.js";
import { PAYNETD_SETTINGS } from "./settings.js";

/** The settings a running paynetd reads at the moment it uses them. */
export interface LiveSettings {
  /** In force now: the startup values of restart-only settings, the latest of the others. */
  options: PaynetdOptions;
  /** As started: what restart-only settings are compared with. */
  readonly startup: PaynetdOptions;
}

/** What a reload touches. */
export interface ReloadTargets {
  readonly live: LiveSettings;
  readonly log: Log;
  readonly tls: TlsReloader;
  readonly certificates: CertificateWatch;
  /** Applies a new log level (the program's and, with --verbose, the runtime's). */
  setLogLevel(level: PaynetdOptions["logLevel"]): void;
}

/** Installs the SIGHUP handler; reloads run one after the other. */
export function reloadOnSighup(argv: readonly string[], targets: ReloadTargets): void {
  let queue = Promise.resolve();
  process.on("SIGHUP", () => {
    queue = queue.then(() => reload(argv, targets));
  });
}

/** One reload; never throws (everything is logged). */
export async function reload(argv: readonly string[], targets: ReloadTargets): Promise<void> {
  const { live, log } = targets;
  const running = live.options;
  const what =
    running.settings.configPath === undefined
      ? "TLS material"
      : `${running.settings.configPath} and TLS material`;
  log.info({ event: "reload", phase: "start" }, `SIGHUP: reloading ${what}`);
  let next: PaynetdOptions;
  let loaded: Awaited<ReturnType<TlsReloader["load"]>>;
  try {
    const parsed = parsePaynetdArgs(argv, process.env);
    if (parsed === "help") return;
    next = parsed;
    loaded = await targets.tls.load(next.tlsFiles);
  } catch (error) {
    log.error(
      { event: "reload", ok: false, error: messageOf(error) },
      `reload refused, the running settings stay: ${messageOf(error)}`,
    );
    return;
  }
  let revocations: string;
  try {
    revocations = targets.tls.apply(loaded);
  } catch (error) {
    log.warn(
      { event: "reload", ok: false, error: messageOf(error) },
      `TLS reload refused, the old material stays in force: ${messageOf(error)}`,
    );
    return;
  }
  const changed: string[] = [];
  const merged = { ...next } as { -readonly [K in keyof PaynetdOptions]: PaynetdOptions[K] };
  for (const setting of PAYNETD_SETTINGS.settings) {
    const base = setting.reload === "restart" ? live.startup : running;
    const before = base.settings.get(setting.flag);
    const after = next.settings.get(setting.flag);
    if (JSON.stringify(before) === JSON.stringify(after)) continue;
    const name = setting.key ?? `--${setting.flag}`;
    if (setting.reload === "restart") {
      // A secret (the admin token) is never written to the log.
      const shown = (value: unknown) =>
        value === undefined
          ? "unset"
          : setting.secret === true
            ? "(secret)"
            : (setting.kind.format?.(value as never) ?? String(value));
      log.warn(
        { event: "reload", setting: name, restart: true },
        `${name} changed (${next.settings.origin(setting.flag).where}) but takes effect only after a restart; still ${shown(before)}`,
      );
    } else {
      changed.push(name);
    }
  }
  // A secret read from a file changes without its setting changing.
  if (next.token !== running.token && !changed.includes("server.login_token")) changed.push("login token");
  // Restart-only settings keep their running values.
  for (const key of RESTART_ONLY) (merged as Record<string, unknown>)[key] = live.startup[key];
  live.options = merged;
  targets.setLogLevel(merged.logLevel);
  targets.certificates.load(merged.tlsFiles, merged.mtls);
  targets.certificates.setWarnDays(merged.certWarnDays);
  log.info(
    { event: "reload", ok: true, changed },
    `reloaded TLS material (${revocations})${changed.length === 0 ? "" : `; settings changed: ${changed.join(", ")}`}`,
  );
}

/** Options that need a restart: derived from restart-only settings, read where they are used once. */
const RESTART_ONLY = [
  "listen",
  "mtls",
  "tlsMinVersion",
  "staleCrl",
  "admin",
  "adminToken",
  "adminTokenFile",
  "metrics",
  "maxDevices",
  "maxOrders",
  "maxFrame",
  "readTimeoutMs",
  "statePath",
  "ticketKeysPath",
  "logFormat",
  "verbose",
] as const satisfies ReadonlyArray<keyof PaynetdOptions>;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
