/** Structured fields of one log line. */
export type LogFields = Record<string, unknown>;

/**
 * The structured logger the runtime writes to, in pino's argument order: fields first, then the
 * message. A pino instance (or anything pino-compatible, e.g. a bunyan or a console adapter) plugs
 * in as is. `child`, when present, is used to bind per-session fields (`conn`, `peer`, `deviceId`)
 * once instead of repeating them on every line.
 */
export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
  /** A logger that adds `bindings` to every line (pino's `child`). */
  child?(bindings: LogFields): Logger;
}

/** Discards everything. The default: libraries should not print unless asked. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};

/**
 * A logger adding `bindings` to every line of `logger`: its own `child` when it has one, else a
 * wrapper that merges the bindings into each line's fields (the line's own fields win).
 */
export function childLogger(logger: Logger, bindings: LogFields): Logger {
  if (typeof logger.child === "function") return logger.child(bindings);
  const at =
    (level: "debug" | "info" | "warn" | "error") =>
    (fields: LogFields, message: string): void =>
      logger[level]({ ...bindings, ...fields }, message);
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (more) => childLogger(logger, { ...bindings, ...more }),
  };
}

/** Logs without letting a throwing user logger break the caller. */
export function logSafely(
  logger: Logger,
  level: "debug" | "info" | "warn" | "error",
  fields: LogFields,
  message: string,
): void {
  try {
    logger[level](fields, message);
  } catch {
    // Nothing sensible is left to do with a logger that throws.
  }
}

/**
 * Runs `emit` (one `emitter.emit(...)`) without letting a throwing listener escape into the caller
 * (a socket event, a timer, a stop sequence, the client's connection loop): the throw is logged as
 * `<source> event listener threw` and the caller carries on.
 */
export function emitSafely(
  emit: () => void,
  logger: Logger,
  event: string,
  source: "server" | "client",
): void {
  try {
    emit();
  } catch (error) {
    logSafely(
      logger,
      "error",
      {
        event,
        error: error instanceof Error ? error.message : String(error),
        stack: error instanceof Error ? error.stack : undefined,
      },
      `${source} event listener threw`,
    );
  }
}
