/**
 * Kinds of setting values, each parsed from the text of a flag or an environment variable and from
 * a YAML scalar, and each able to say what it expects (the second half of every config error).
 */
import { type Address, formatAddress } from "../address.js";

/** A value that does not fit its kind; the message is `expected ..., got ...`. */
export class ValueError extends Error {}

/** How one kind of value is read. */
export interface ValueKind<T> {
  /** What a valid value looks like: `HOST:PORT`, `a duration like 70s`. */
  readonly expected: string;
  /** From a flag's or an environment variable's text. Throws {@link ValueError}. */
  parse(text: string): T;
  /** From a YAML scalar (string, number, boolean or null). Default: its text through `parse`. */
  fromYaml?(value: unknown): T;
  /** The value as a flag would give it, for help texts and logs. Default `String(value)`. */
  format?(value: T): string;
  /** A YAML list of scalars is a value of this kind too (handed to `fromYaml` as an array). */
  readonly list?: boolean;
}

/** `expected <kind.expected>, got <value>` as a {@link ValueError}. */
export function mismatch(kind: { readonly expected: string }, got: unknown): ValueError {
  return new ValueError(`expected ${kind.expected}, got ${JSON.stringify(got)}`);
}

/** Reads a YAML scalar with `kind` (strings and numbers go through `parse`, other types are refused). */
export function readYaml<T>(kind: ValueKind<T>, value: unknown): T {
  if (kind.fromYaml !== undefined) return kind.fromYaml(value);
  if (typeof value === "string") return kind.parse(value);
  if (typeof value === "number") return kind.parse(String(value));
  throw mismatch(kind, value);
}

/** A non-empty string. */
export const text: ValueKind<string> = {
  expected: "a non-empty string",
  parse(value) {
    if (value.trim() === "") throw mismatch(this, value);
    return value;
  },
};

/** `HOST:PORT`; with `allowZero`, port 0 (any free port). `:PORT` means every interface (`defaultHost`). */
export function address(options: { allowZero: boolean; defaultHost?: string }): ValueKind<Address> {
  return {
    expected: `HOST:PORT${options.defaultHost === undefined ? "" : " or :PORT"}`,
    parse(value) {
      const match = /^(?:\[(?<v6>[^\]]+)\]|(?<host>[^:]*)):(?<port>\d+)$/.exec(value.trim());
      const host = match?.groups?.v6 ?? (match?.groups?.host || options.defaultHost);
      const port = Number(match?.groups?.port);
      if (host === undefined || host === "" || !Number.isInteger(port) || port > 65_535)
        throw mismatch(this, value);
      if (port === 0 && !options.allowZero) throw mismatch(this, value);
      return { host, port };
    },
    format: formatAddress,
  };
}

/**
 * One or several `HOST:PORT` (the nodes of one service): comma-separated in a flag or a variable,
 * a string or a YAML list in a file. Duplicates are refused.
 */
export function addressList(options: { allowZero: boolean }): ValueKind<readonly Address[]> {
  const one = address(options);
  const kind: ValueKind<readonly Address[]> = {
    expected: "HOST:PORT, or several (comma-separated, or a YAML list)",
    parse(value) {
      return this.fromYaml!(value.split(","));
    },
    fromYaml(value) {
      const items = typeof value === "string" ? value.split(",") : value;
      if (!Array.isArray(items) || items.length === 0) throw mismatch(kind, value);
      const addresses = items.map((item) => {
        if (typeof item !== "string") throw mismatch(kind, item);
        try {
          return one.parse(item);
        } catch {
          throw mismatch(kind, item);
        }
      });
      const seen = new Set<string>();
      for (const entry of addresses) {
        const key = formatAddress(entry);
        if (seen.has(key)) throw new ValueError(`${key} is listed twice`);
        seen.add(key);
      }
      return addresses;
    },
    format: (addresses) => addresses.map(formatAddress).join(","),
    list: true,
  };
  return kind;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * A duration in milliseconds: `70s`, `1m30s`, `500ms`, `2h`, or a bare number of seconds (`70`,
 * `0.5`), as the flags always took. `allowZero` accepts 0 (usually "never").
 */
export function duration(options: { allowZero: boolean }): ValueKind<number> {
  return {
    expected: `a duration like 70s, 1m30s or 500ms${options.allowZero ? " (0: never)" : ""}`,
    parse(value) {
      const trimmed = value.trim();
      let ms: number;
      if (/^\d+(\.\d+)?$/.test(trimmed)) {
        ms = Math.round(Number(trimmed) * 1_000);
      } else if (/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(trimmed)) {
        ms = 0;
        for (const part of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
          ms += Number(part[1]) * DURATION_UNITS[part[2]!]!;
        }
        ms = Math.round(ms);
      } else {
        throw mismatch(this, value);
      }
      if (!Number.isSafeInteger(ms) || (ms === 0 && !options.allowZero)) throw mismatch(this, value);
      return ms;
    },
    format: (ms) => (ms % 1_000 === 0 ? `${ms / 1_000}s` : `${ms}ms`),
  };
}

/** An integer in `[min, max]`. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): ValueKind<number> {
  return {
    expected: max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer ${min}..${max}`,
    parse(value) {
      const trimmed = value.trim();
      const number = Number(trimmed);
      if (!/^-?\d+$/.test(trimmed) || !Number.isSafeInteger(number) || number < min || number > max) {
        throw mismatch(this, value);
      }
      return number;
    },
  };
}

/** A number > 0 (fractions allowed). */
export const positiveNumber: ValueKind<number> = {
  expected: "a number > 0",
  parse(value) {
    const number = Number(value.trim());
    if (value.trim() === "" || !Number.isFinite(number) || number <= 0) throw mismatch(this, value);
    return number;
  },
};

/** `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off` in the environment). */
export const boolean: ValueKind<boolean> = {
  expected: "true or false",
  parse(value) {
    const lower = value.trim().toLowerCase();
    if (["true", "1", "yes", "on"].includes(lower)) return true;
    if (["false", "0", "no", "off"].includes(lower)) return false;
    throw mismatch(this, value);
  },
  fromYaml(value) {
    if (typeof value === "boolean") return value;
    throw mismatch(this, value);
  },
};

/**
 * One of `choices`; `aliases` map other spellings (`1.3` → `TLSv1.3`); `expected` replaces the
 * generated `one of ...` text.
 */
export function oneOf<T extends string>(
  choices: readonly T[],
  aliases: Readonly<Record<string, T>> = {},
  expected = `one of ${[...Object.keys(aliases), ...choices.filter((c) => !(c in aliases))].join(", ")}`,
): ValueKind<T> {
  return {
    expected,
    parse(value) {
      const trimmed = value.trim();
      const found = aliases[trimmed] ?? choices.find((choice) => choice === trimmed);
      if (found === undefined) throw mismatch(this, value);
      return found;
    },
  };
}

/** A file or directory path (a relative one in a config file is relative to that file). */
export const path: ValueKind<string> = {
  expected: "a path",
  parse(value) {
    if (value.trim() === "") throw mismatch(this, value);
    return value;
  },
};
