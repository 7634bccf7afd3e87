/**
 * One value per setting from four layers, the higher winning: defaults < config file (`--config`)
 * < environment (`PAYNETD_*`) < command-line flags. Every value keeps its origin, so errors and
 * the reload log can say where it came from.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { UsageError } from "../errors.js";
import { envName, LAYER_RANK, type Origin, type Setting, type SettingsTable } from "./settings.js";
import { ValueError } from "./values.js";
import { ConfigError, type FileValue, readConfigFile } from "./yaml-file.js";

/** The settings in force, by flag name, each with its origin. */
export class ResolvedSettings {
  readonly #values: ReadonlyMap<string, { value: unknown; origin: Origin }>;
  /** The config file read, if any. */
  readonly configPath: string | undefined;

  constructor(
    values: ReadonlyMap<string, { value: unknown; origin: Origin }>,
    configPath: string | undefined,
  ) {
    this.#values = values;
    this.configPath = configPath;
  }

  /** The value of `flag` (the default when no layer set it), `undefined` when unset. */
  get<T>(flag: string): T | undefined {
    return this.#values.get(flag)?.value as T | undefined;
  }

  /** Where the value of `flag` came from (`default` when unset). */
  origin(flag: string): Origin {
    return this.#values.get(flag)?.origin ?? { layer: "default", where: "default" };
  }

  /**
   * A secret: the value of `flag`, or the contents of the file `<flag>-file` names (trailing newline
   * dropped), whichever a higher layer set. `undefined` when neither is set.
   */
  secret(flag: string): string | undefined {
    const inline = this.#values.get(flag);
    const file = this.#values.get(`${flag}-file`);
    const useFile =
      file !== undefined &&
      (inline === undefined || LAYER_RANK[file.origin.layer] >= LAYER_RANK[inline.origin.layer]);
    if (!useFile) return inline?.value as string | undefined;
    const path = file.value as string;
    let contents: string;
    try {
      contents = readFileSync(path, "utf8").replace(/\r?\n$/, "");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new ConfigError(`${file.origin.where}: cannot read the secret file ${path} (${code})`);
    }
    if (contents === "") throw new ConfigError(`${file.origin.where}: the secret file ${path} is empty`);
    return contents;
  }
}

/** Parses the command line, reads `--config` and the environment, and merges them with the defaults. */
export function resolveSettings(
  table: SettingsTable,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): ResolvedSettings | "help" {
  const flags = parseFlags(table, argv);
  if (flags.has("help")) return "help";
  const configPath =
    (flags.get("config") as string | undefined) ?? nonEmpty(env[`${table.envPrefix}_CONFIG`]);
  const file: ReadonlyMap<string, FileValue> =
    configPath === undefined ? new Map() : readConfigFile(table, configPath);
  const values = new Map<string, { value: unknown; origin: Origin }>();
  for (const setting of table.settings) {
    const flag = flags.get(setting.flag);
    const envVar = envName(table, setting);
    const envText = nonEmpty(env[envVar]);
    const fromFile = file.get(setting.flag);
    if (flag !== undefined) {
      values.set(setting.flag, { value: flag, origin: { layer: "flag", where: `--${setting.flag}` } });
    } else if (envText !== undefined) {
      values.set(setting.flag, {
        value: parseValue(setting, envText, envVar),
        origin: { layer: "env", where: envVar },
      });
    } else if (fromFile !== undefined) {
      values.set(setting.flag, { value: fromFile.value, origin: { layer: "file", where: fromFile.where } });
    } else if (setting.default !== undefined) {
      values.set(setting.flag, { value: setting.default, origin: { layer: "default", where: "default" } });
    } else if (setting.required === true) {
      const where = [
        `--${setting.flag}`,
        envVar,
        setting.key === undefined ? undefined : `${setting.key} in --config`,
      ];
      throw new UsageError(`${where.filter(Boolean).join(", ")}: required (${setting.kind.expected})`);
    }
  }
  return new ResolvedSettings(values, configPath);
}

/** Flag values parsed with their kinds; `config` and `help` included. Throws {@link UsageError}. */
function parseFlags(table: SettingsTable, argv: readonly string[]): Map<string, unknown> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    config: { type: "string" },
    help: { type: "boolean", short: "h" },
  };
  for (const setting of table.settings) {
    options[setting.flag] = { type: setting.placeholder === undefined ? "boolean" : "string" };
  }
  let parsed: Record<string, string | boolean | undefined>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false })
      .values as typeof parsed;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const values = new Map<string, unknown>();
  if (parsed.help === true) values.set("help", true);
  if (typeof parsed.config === "string") values.set("config", parsed.config);
  for (const setting of table.settings) {
    const raw = parsed[setting.flag];
    if (raw === undefined) continue;
    values.set(setting.flag, typeof raw === "boolean" ? raw : parseValue(setting, raw, `--${setting.flag}`));
  }
  return values;
}

/** Reads `text` with the setting's kind; a mismatch is a {@link UsageError} naming `where`. */
function parseValue(setting: Setting, text: string, where: string): unknown {
  try {
    return setting.kind.parse(text);
  } catch (error) {
    if (error instanceof ValueError) throw new UsageError(`${where}: ${error.message}`);
    throw error;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
