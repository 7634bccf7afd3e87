/** `--help` of a program, from its settings table. */
import { envName, type Setting, type SettingsTable } from "./settings.js";

/** Width of the flag column. */
const FLAG_COLUMN = 30;

/**
 * The usage text: `synopsis`, one line per flag (its config key and, for settings a SIGHUP does
 * not change, `restart`), then how the layers combine, then `footer`.
 */
export function usageText(table: SettingsTable, synopsis: string, footer = ""): string {
  const lines = [
    synopsis,
    "",
    flagLine("--config FILE", `YAML config file with the keys in [brackets] (${table.envPrefix}_CONFIG)`),
  ];
  for (const setting of table.settings) {
    const flag =
      setting.placeholder === undefined ? `--${setting.flag}` : `--${setting.flag} ${setting.placeholder}`;
    lines.push(flagLine(flag, describe(setting)));
  }
  lines.push(flagLine("--help", "show this help"));
  const example = table.settings.find((setting) => setting.placeholder !== undefined);
  lines.push(
    "",
    `Every flag can also come from the environment as ${table.envPrefix}_<FLAG>` +
      (example === undefined ? "" : ` (e.g. ${envName(table, example)})`) +
      "; secrets also from files (--<flag>-file).",
    "Precedence: defaults < config file < environment < flags.",
  );
  if (footer !== "") lines.push("", footer);
  return lines.join("\n");
}

function describe(setting: Setting): string {
  const extras: string[] = [];
  if (setting.key !== undefined) extras.push(setting.key);
  if (setting.key !== undefined && setting.reload === "restart") extras.push("restart");
  const defaultText =
    setting.default === undefined || setting.default === false
      ? ""
      : ` (default ${setting.kind.format?.(setting.default as never) ?? String(setting.default)})`;
  return `${setting.help}${defaultText}${extras.length === 0 ? "" : ` [${extras.join(", ")}]`}`;
}

function flagLine(flag: string, help: string): string {
  return `  ${flag.padEnd(FLAG_COLUMN - 2)}${flag.length >= FLAG_COLUMN - 2 ? ` ${help}` : help}`;
}
