/** Errors of the device's journal of executed commands (`delivery/journal/`). */
import { PaynetError } from "./base.js";

/** Another process (or another store in this one) holds the journal's lock file. */
export class JournalLockedError extends PaynetError {
  constructor(
    readonly file: string,
    readonly holder: number | undefined,
  ) {
    super(
      "JOURNAL_LOCKED",
      `journal ${file} is locked by ${holder === undefined ? "another owner" : `process ${holder}`}: two processes cannot share one journal`,
    );
  }
}

/**
 * A journal holds bytes that are not a record where a record must be, before its end: not a torn
 * last write (that one is cut off and reported), so the store refuses to guess which commands ran.
 */
export class JournalCorruptError extends PaynetError {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly problem: string,
  ) {
    super("JOURNAL_CORRUPT", `journal ${file} is corrupt at offset ${offset}: ${problem}`);
  }
}

/**
 * Writing or syncing the journal failed. The journal then refuses every further write: what is on
 * disk is unknown, and a command must not run without its record.
 */
export class JournalFailedError extends PaynetError {
  constructor(
    readonly file: string,
    operation: string,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super("JOURNAL_FAILED", `journal ${file}: ${operation} failed: ${reason}`, { cause });
  }
}
