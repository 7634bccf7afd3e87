/**
 * The programs' logs, through pino: NDJSON for journald/ELK (`--log-format json`, the default when
 * stdout is not a terminal) or one readable line per event (`pretty`: `[paynetd] online dev-SN-1
 * (127.0.0.1:50123)`). Lines carry a stable `event` name where they report one (`listening`,
 * `connection`, `online`, `offline`, `delivery`, `reload`, `drain`, ...), so both a person and a
 * log pipeline can follow a process; the message text is the same in both formats.
 */
import type { LogFields, Logger } from "@paynet/runtime";
import { type Logger as Pino, pino } from "pino";

export type { LogFields } from "@paynet/runtime";

/** Levels the programs log at. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** One level's method: a message, or pino's order, fields first. */
export interface LogMethod {
  (message: string): void;
  (fields: LogFields, message: string): void;
}

/** Writes the log lines of one program. */
export interface Log {
  /** Protocol details (heartbeats); shown with `--log-level debug`. */
  readonly debug: LogMethod;
  /** A normal step. */
  readonly info: LogMethod;
  /** Something an operator should look at; the pretty line carries `WARN`. */
  readonly warn: LogMethod;
  /** A failure; the pretty line carries `ERROR`. */
  readonly error: LogMethod;
  /** Switches format and level (after the settings are known; the format only before the first line matters). */
  configure(options: LogOptions): void;
  /** Changes the level (SIGHUP). */
  setLevel(level: LogLevel): void;
  /** The underlying pino logger, for the runtime adapter. */
  readonly pino: Pino;
}

/** How a program logs. */
export interface LogOptions {
  /** `auto`: pretty when stdout is a terminal, json otherwise. */
  readonly format: "json" | "pretty" | "auto";
  readonly level: LogLevel;
}

/** Where lines go: stdout unless a test says otherwise. */
export type LineSink = (line: string) => void;

const stdoutSink: LineSink = (line) => process.stdout.write(line);

/** Creates the log of the program `name` (pretty lines start with `[name]`). */
export function createLog(
  name: string,
  options: LogOptions = { format: "auto", level: "info" },
  sink: LineSink = stdoutSink,
): Log {
  let current = makePino(name, options, sink);
  const method =
    (level: LogLevel): LogMethod =>
    (first: string | LogFields, second?: string) => {
      if (typeof first === "string") current[level](first);
      else current[level](first, second ?? "");
    };
  return {
    debug: method("debug"),
    info: method("info"),
    warn: method("warn"),
    error: method("error"),
    configure(next) {
      current = makePino(name, next, sink);
    },
    setLevel(level) {
      current.level = level;
    },
    get pino() {
      return current;
    },
  };
}

function makePino(name: string, options: LogOptions, sink: LineSink): Pino {
  const pretty = options.format === "pretty" || (options.format === "auto" && process.stdout.isTTY === true);
  return pino(
    {
      name,
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // `"level":"warn"` rather than 40: what people search for in ELK.
      formatters: { level: (label) => ({ level: label }) },
    },
    // Synchronous writes: the last lines before process.exit() are not lost.
    { write: (line: string) => sink(pretty ? prettyLine(line) : line) },
  );
}

/**
 * The readable form of one NDJSON line: `[name] text`, `[name] WARN text`, `[name] ERROR text`;
 * runtime lines (`component: "runtime"`) as `runtime: message (key=value, ...)`.
 */
export function prettyLine(json: string): string {
  const {
    level,
    name,
    msg,
    component,
    time: _time,
    pid: _pid,
    ...fields
  } = JSON.parse(json) as Record<string, unknown>;
  const tag = level === "warn" ? "WARN " : level === "error" || level === "fatal" ? "ERROR " : "";
  const text = component === "runtime" ? `runtime: ${String(msg)}${formatFields(fields)}` : String(msg);
  return `[${String(name)}] ${tag}${text}\n`;
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
 * The runtime's {@link Logger} on `log`: a pino child with `component: "runtime"`, at `level` (the
 * programs show their own readable steps, the runtime adds warnings unless `--verbose`). Messages
 * `shownElsewhere` claims are dropped: the program prints its own line for them.
 */
export function runtimeLogger(
  log: Log,
  level: LogLevel,
  shownElsewhere: (message: string) => boolean = () => false,
): Logger & { setLevel(level: LogLevel): void } {
  const base = log.pino.child({ component: "runtime" }, { level });
  const wrap = (target: Pino): Logger => ({
    debug: (fields, message) => {
      if (!shownElsewhere(message)) target.debug(fields, message);
    },
    info: (fields, message) => {
      if (!shownElsewhere(message)) target.info(fields, message);
    },
    warn: (fields, message) => {
      if (!shownElsewhere(message)) target.warn(fields, message);
    },
    error: (fields, message) => {
      if (!shownElsewhere(message)) target.error(fields, message);
    },
    child: (bindings) => wrap(target.child(bindings)),
  });
  return Object.assign(wrap(base), {
    setLevel: (next: LogLevel) => {
      base.level = next;
    },
  });
}

/** The more severe of two levels: `--log-level warn` also silences a logger floored at info. */
export function atLeast(floor: LogLevel, level: LogLevel): LogLevel {
  const order: readonly LogLevel[] = ["debug", "info", "warn", "error"];
  return order.indexOf(level) > order.indexOf(floor) ? level : floor;
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
