/**
 * An append-only journal file with group commit: appends made while a write is on its way are
 * written together in the next `write` + `fdatasync`, and each append resolves only once the
 * fdatasync covering it returned. Compaction rewrites the live records into a new file, syncs it and
 * renames it over the journal (then syncs the directory), in the same queue as the appends, so a
 * reader never sees a half-compacted journal. See `format.ts` for the bytes and the torn-tail rules.
 */
import { dirname } from "node:path";
import { JournalFailedError } from "../../errors.js";
import { encodeRecord, JOURNAL_MAGIC, type JournalRecord, scanJournal, type TornTail } from "./format.js";
import { type JournalFile, type JournalIo, nodeJournalIo } from "./io.js";
import { type JournalLock, lockJournal } from "./lock.js";

/** What {@link Journal.open} recovered. */
export interface OpenedJournal {
  readonly journal: Journal;
  /** Every record of the file, oldest first. */
  readonly records: readonly JournalRecord[];
  /** The torn end that was cut off, if the last write had been interrupted. */
  readonly tail: TornTail | undefined;
}

interface PendingAppend {
  readonly frame: Buffer;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface PendingCompaction {
  readonly snapshot: () => Iterable<Uint8Array>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** See the module comment. One instance per file and process (a lock file enforces it). */
export class Journal {
  readonly path: string;
  readonly #io: JournalIo;
  readonly #lock: JournalLock;
  #file: JournalFile;
  #size: number;
  #records: number;
  #pending: PendingAppend[] = [];
  #compactions: PendingCompaction[] = [];
  #working: Promise<void> | undefined;
  /** Set once a write failed: what is on disk is unknown, so nothing more is written. */
  #failed: JournalFailedError | undefined;
  #closed = false;

  private constructor(
    path: string,
    io: JournalIo,
    lock: JournalLock,
    file: JournalFile,
    size: number,
    records: number,
  ) {
    this.path = path;
    this.#io = io;
    this.#lock = lock;
    this.#file = file;
    this.#size = size;
    this.#records = records;
  }

  /**
   * Locks and reads the journal at `path` (creating it when missing), cutting off a torn tail.
   * Throws `JournalLockedError`, `JournalCorruptError` (naming the file and offset) or the I/O error.
   */
  static async open(path: string, io: JournalIo = nodeJournalIo): Promise<OpenedJournal> {
    const lock = await lockJournal(path);
    try {
      const content = await io.read(path);
      if (content === undefined) {
        const file = await replaceJournalFile(io, path, []);
        return {
          journal: new Journal(path, io, lock, file, JOURNAL_MAGIC.length, 0),
          records: [],
          tail: undefined,
        };
      }
      const scan = scanJournal(content, path);
      let file: JournalFile;
      if (scan.end === 0) {
        // Nothing but a torn header: start the file again.
        file = await replaceJournalFile(io, path, []);
      } else {
        file = await io.open(path);
        if (scan.tail !== undefined) {
          await file.truncate(scan.end);
          await file.datasync();
        }
      }
      const size = Math.max(scan.end, JOURNAL_MAGIC.length);
      const journal = new Journal(path, io, lock, file, size, scan.records.length);
      return { journal, records: scan.records, tail: scan.tail };
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** Records in the file (live and superseded ones). */
  get records(): number {
    return this.#records;
  }

  /** Size of the file in bytes. */
  get bytes(): number {
    return this.#size;
  }

  /** The failure that stopped the journal, if any. */
  get failure(): JournalFailedError | undefined {
    return this.#failed;
  }

  /**
   * Appends one record. Resolves once it is on disk (after the fdatasync of the batch it went out
   * in); rejects with `JournalFailedError` when the journal cannot be written.
   */
  append(body: Uint8Array): Promise<void> {
    const refused = this.#refusal("append");
    if (refused !== undefined) return Promise.reject(refused);
    const frame = encodeRecord(body);
    return new Promise((resolve, reject) => {
      this.#pending.push({ frame, resolve, reject });
      this.#kick();
    });
  }

  /**
   * Replaces the journal by the records `snapshot()` returns, called when the compaction runs (after
   * every append queued before it was written), so it sees the newest state.
   */
  compact(snapshot: () => Iterable<Uint8Array>): Promise<void> {
    const refused = this.#refusal("compact");
    if (refused !== undefined) return Promise.reject(refused);
    return new Promise((resolve, reject) => {
      this.#compactions.push({ snapshot, resolve, reject });
      this.#kick();
    });
  }

  /** Waits for queued work, closes the file and releases the lock. Appends after it reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#working;
    await this.#file.close().catch(() => {});
    await this.#lock.release();
  }

  #refusal(operation: string): JournalFailedError | undefined {
    if (this.#failed !== undefined) return this.#failed;
    if (this.#closed) return new JournalFailedError(this.path, operation, new Error("journal is closed"));
    return undefined;
  }

  #kick(): void {
    if (this.#working !== undefined) return;
    // A microtask first, so the appends of this turn share one write.
    this.#working = Promise.resolve()
      .then(() => this.#work())
      .finally(() => {
        this.#working = undefined;
        if (this.#failed === undefined && (this.#pending.length > 0 || this.#compactions.length > 0))
          this.#kick();
      });
  }

  async #work(): Promise<void> {
    while (this.#failed === undefined) {
      if (this.#pending.length > 0) await this.#writeBatch(this.#pending.splice(0));
      else if (this.#compactions.length > 0) await this.#compact(this.#compactions.splice(0));
      else return;
    }
  }

  async #writeBatch(batch: PendingAppend[]): Promise<void> {
    const bytes = Buffer.concat(batch.map((append) => append.frame));
    try {
      await this.#file.write(bytes, this.#size);
      await this.#file.datasync();
    } catch (error) {
      this.#fail("write", error, batch);
      return;
    }
    this.#size += bytes.length;
    this.#records += batch.length;
    for (const append of batch) append.resolve();
  }

  async #compact(requests: PendingCompaction[]): Promise<void> {
    const last = requests.at(-1)!;
    const frames = [...last.snapshot()].map(encodeRecord);
    let file: JournalFile;
    try {
      file = await replaceJournalFile(this.#io, this.path, frames);
    } catch (error) {
      // The old file is intact (the rename is what makes the new one count), but its handle may now
      // point at an unlinked file: stop rather than write where nobody reads.
      this.#fail("compaction", error, []);
      for (const request of requests) request.reject(this.#failed!);
      return;
    }
    await this.#file.close().catch(() => {});
    this.#file = file;
    this.#size = frames.reduce((size, frame) => size + frame.length, JOURNAL_MAGIC.length);
    this.#records = frames.length;
    for (const request of requests) request.resolve();
  }

  #fail(operation: string, error: unknown, batch: PendingAppend[]): void {
    this.#failed = new JournalFailedError(this.path, operation, error);
    for (const append of [...batch, ...this.#pending.splice(0)]) append.reject(this.#failed);
    for (const request of this.#compactions.splice(0)) request.reject(this.#failed);
  }
}

/**
 * Writes header + `frames` to `<path>.new`, syncs it, renames it over `path` and syncs the directory;
 * returns the open new file. On any failure the new file's handle is closed (an unclosed FileHandle
 * left to the garbage collector is an error from Node 26 on) and the old journal stays in force.
 */
async function replaceJournalFile(
  io: JournalIo,
  path: string,
  frames: readonly Buffer[],
): Promise<JournalFile> {
  const file = await io.create(`${path}.new`);
  try {
    await file.write(Buffer.concat([JOURNAL_MAGIC, ...frames]), 0);
    await file.datasync();
    await io.rename(`${path}.new`, path);
    await io.syncDirectory(dirname(path));
    return file;
  } catch (error) {
    await file.close().catch(() => {});
    throw error;
  }
}
