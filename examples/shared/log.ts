/**
 * One-line, human-readable logs: `[paynetd] <- RegisterReq sn=SN-001`. Everything goes to stdout,
 * one line per event, so the demo and the acceptance tests can follow a process by its lines.
 */
import type { Logger } from "@paynet/runtime";

/** Writes the log lines of one program. */
export interface Log {
  /** A normal step. */
  info(text: string): void;
  /** Something an operator should look at; the line carries `WARN`. */
  warn(text: string): void;
  /** A failure; the line carries `ERROR`. */
  error(text: string): void;
}

/** Creates the log of the program `name` (the bracketed prefix of every line). */
export function createLog(
  name: string,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Log {
  const prefix = `[${name}]`;
  return {
    info: (text) => write(`${prefix} ${text}`),
    warn: (text) => write(`${prefix} WARN ${text}`),
    error: (text) => write(`${prefix} ERROR ${text}`),
  };
}

/** Formats structured fields as `key=value` pairs (strings with spaces quoted). */
export function formatFields(fields: Record<string, unknown> | undefined): string {
  if (fields === undefined) return "";
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text =
      value instanceof Date ? value.toISOString() : typeof value === "string" ? value : JSON.stringify(value);
    parts.push(`${key}=${/\s/.test(text) ? JSON.stringify(text) : text}`);
  }
  return parts.length === 0 ? "" : ` (${parts.join(", ")})`;
}

/**
 * Adapts a {@link Log} to the runtime's {@link Logger}, prefixing `runtime:`. Messages below
 * `level` are dropped (the programs show their own readable steps; the runtime adds warnings), and
 * so are messages `shownElsewhere` claims: the program prints its own line for them.
 */
export function runtimeLogger(
  log: Log,
  level: "debug" | "info" | "warn",
  shownElsewhere: (message: string) => boolean = () => false,
): Logger {
  const ranks = { debug: 0, info: 1, warn: 2 } as const;
  const at = (rank: number) => rank >= ranks[level];
  const line = (message: string, fields: Record<string, unknown> | undefined) =>
    `runtime: ${message}${formatFields(fields)}`;
  return {
    debug: (fields, message) => {
      if (at(0) && !shownElsewhere(message)) log.info(line(message, fields));
    },
    info: (fields, message) => {
      if (at(1) && !shownElsewhere(message)) log.info(line(message, fields));
    },
    warn: (fields, message) => {
      if (!shownElsewhere(message)) log.warn(line(message, fields));
    },
    error: (fields, message) => {
      if (!shownElsewhere(message)) log.error(line(message, fields));
    },
  };
}

/** Longest wire text a log line shows. */
const MAX_SHOWN_WIRE_TEXT = 200;

/**
 * A text a peer sent, for a log line: as is when it is short printable ASCII without spaces or
 * quotes (and `quote` is not asked for), else JSON-quoted, so a newline cannot start a forged line;
 * cut to a sane length.
 */
export function wireText(text: string, quote = false): string {
  const cut = text.length > MAX_SHOWN_WIRE_TEXT ? `${text.slice(0, MAX_SHOWN_WIRE_TEXT)}…` : text;
  return !quote && /^[\x21-\x7e]+$/.test(cut) && !cut.includes('"') ? cut : JSON.stringify(cut);
}
