/** A logger for long runs: counts lines per level and message, keeps only the first few lines. */
import type { Logger } from "../../../runtime/src/logger.js";

export interface CountingLogger extends Logger {
  readonly counts: Record<"debug" | "info" | "warn" | "error", number>;
  /** Count per message text (messages name the peer, so keep the text before the first " (")". */
  readonly byMessage: Map<string, number>;
  readonly first: Array<{ level: string; message: string }>;
}

export function countingLogger(keep = 20): CountingLogger {
  const counts = { debug: 0, info: 0, warn: 0, error: 0 };
  const byMessage = new Map<string, number>();
  const first: Array<{ level: string; message: string }> = [];
  const at = (level: keyof typeof counts) => (_fields: Record<string, unknown>, message: string) => {
    counts[level]++;
    const key = `${level}: ${message.split(" (")[0]}`;
    byMessage.set(key, (byMessage.get(key) ?? 0) + 1);
    if (first.length < keep) first.push({ level, message });
  };
  return {
    counts,
    byMessage,
    first,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  };
}
