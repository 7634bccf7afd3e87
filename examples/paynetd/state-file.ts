/**
 * How paynetd's state reaches the disk: changes are coalesced into one asynchronous write (many
 * changes, one write; never a synchronous rewrite per frame), and every write is atomic (temporary
 * file, fsync, rename, fsync of the directory), so a crash or SIGKILL at any moment leaves either the
 * previous or the new complete file, never a half-written one.
 */
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ExampleError } from "../shared/errors.js";

/** Default time changes gather before a write starts. */
export const DEFAULT_STATE_WRITE_DELAY_MS = 50;
/** After a failed write (disk full, directory gone) the next attempt waits this long. */
const RETRY_AFTER_FAILURE_MS = 1_000;

export interface StateFileWriterOptions {
  /** How long changes gather before a write starts (default {@link DEFAULT_STATE_WRITE_DELAY_MS}). */
  readonly delayMs?: number;
  /** A write started by a change failed; it is retried with the next change (after a pause). */
  readonly onError?: (error: ExampleError) => void;
}

/** Writes the text `serialize` returns to `path`, at most one write at a time, coalescing changes. */
export class StateFileWriter {
  readonly #path: string;
  readonly #serialize: () => string;
  readonly #delayMs: number;
  readonly #onError: (error: ExampleError) => void;
  /** Something changed since the last write started. */
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #lastFailed = false;
  #writes = 0;

  constructor(path: string, serialize: () => string, options: StateFileWriterOptions = {}) {
    this.#path = path;
    this.#serialize = serialize;
    this.#delayMs = options.delayMs ?? DEFAULT_STATE_WRITE_DELAY_MS;
    this.#onError = options.onError ?? (() => {});
  }

  /** Completed writes so far. */
  get writes(): number {
    return this.#writes;
  }

  /** Notes a change: a write follows within the delay, together with every other change until then. */
  changed(): void {
    this.#dirty = true;
    this.#schedule();
  }

  /**
   * Writes what changed and resolves when the file holds every change made before the call.
   * Rejects with `STATE_FILE` when the write fails.
   */
  async flush(): Promise<void> {
    // A write already running may have serialized the state before the latest changes.
    while (this.#writing !== undefined || this.#dirty) {
      this.#cancelTimer();
      await this.#start();
    }
  }

  #cancelTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#writing !== undefined) return;
    const delay = this.#lastFailed ? Math.max(this.#delayMs, RETRY_AFTER_FAILURE_MS) : this.#delayMs;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#start().catch((error: unknown) => this.#onError(error as ExampleError));
    }, delay);
  }

  #start(): Promise<void> {
    this.#writing ??= this.#writeOnce().finally(() => {
      this.#writing = undefined;
      // Changes made while this write ran gather for another delay, then go out in one write.
      if (this.#dirty) this.#schedule();
    });
    return this.#writing;
  }

  async #writeOnce(): Promise<void> {
    if (!this.#dirty) return;
    this.#dirty = false;
    const text = this.#serialize();
    try {
      await writeFileAtomically(this.#path, text);
    } catch (error) {
      this.#dirty = true;
      this.#lastFailed = true;
      throw new ExampleError("STATE_FILE", `cannot write ${this.#path}: ${String(error)}`, { cause: error });
    }
    this.#lastFailed = false;
    this.#writes++;
  }
}

/**
 * Replaces `path` with `text` atomically: write a temporary file next to it (mode 0600), fsync it,
 * rename it over `path`, fsync the directory so the rename itself survives a power cut.
 */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const file = await open(temporary, "w", 0o600);
    try {
      await file.writeFile(text, "utf8");
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {});
    throw error;
  }
  const directory = await open(dirname(path), "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
