/**
 * A program's settings, declared once: each has a command-line flag, an environment variable
 * (`PREFIX_FLAG_NAME`) and usually a key in the YAML config file, a kind of value, a default, a help
 * text and whether a SIGHUP can change it. Flags, environment, file schema, `--help` and the reload
 * rules are all derived from this one table.
 */
import type { ValueKind } from "./values.js";

/** When a changed value takes effect. */
export type Reload =
  /** On SIGHUP, without a restart. */
  | "live"
  /** Only after a restart (a SIGHUP that changes it logs so and keeps the running value). */
  | "restart";

/** One setting. */
export interface Setting<T = unknown> {
  /** The flag without dashes (`listen`, `tls-min-version`); also names the environment variable. */
  readonly flag: string;
  /** Dotted key in the config file (`server.addr`); absent: command line and environment only. */
  readonly key?: string;
  readonly kind: ValueKind<T>;
  /** Used when no layer sets it; absent: unset (optional, or required when `required`). */
  readonly default?: T;
  readonly required?: boolean;
  /** Placeholder in `--help` (`HOST:PORT`); absent for a boolean flag. */
  readonly placeholder?: string;
  readonly help: string;
  readonly reload: Reload;
  /** A path: relative ones in the config file are taken relative to the file's directory. */
  readonly isPath?: boolean;
  /** A secret: never logged (`--token`); its `<flag>-file` sibling reads it from a file. */
  readonly secret?: boolean;
}

/** The settings of one program, with its environment prefix (`PAYNETD`). */
export interface SettingsTable {
  readonly program: string;
  readonly envPrefix: string;
  readonly settings: readonly Setting[];
}

/** `PAYNETD_TLS_MIN_VERSION` for flag `tls-min-version`. */
export function envName(table: SettingsTable, setting: Setting): string {
  return `${table.envPrefix}_${setting.flag.toUpperCase().replace(/-/g, "_")}`;
}

/** Where a value came from, for errors and the reload log. */
export interface Origin {
  readonly layer: "default" | "file" | "env" | "flag";
  /** `paynetd.yaml:3:9`, `PAYNETD_LISTEN`, `--listen` or `default`. */
  readonly where: string;
}

/** Rank of a layer: a higher one wins. */
export const LAYER_RANK: Readonly<Record<Origin["layer"], number>> = { default: 0, file: 1, env: 2, flag: 3 };
