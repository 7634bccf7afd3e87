/**
 * The durable device-side record of executed commands: an {@link IdempotencyStore} kept in memory
 * and in an append-only journal file (see `journal/`). Every `set` resolves only once its record is
 * on disk, so the guard's "claimed before the handler runs" survives a crash: a command found claimed
 * but unfinished after a restart was interrupted and is never run again.
 *
 * Bounded by count and age like the memory store: beyond `maxEntries` the least recently UPDATED key
 * is dropped (reads do not reorder, so a restart replays to the same set), and a key is forgotten
 * `ttlMs` after its last update. The journal is compacted (live records rewritten into a new file)
 * once it holds more than `2 × live + 256` records, so its size stays proportional to the live set.
 */
import { JournalCorruptError } from "../errors.js";
import type { Logger } from "../logger.js";
import { copyRecord, DEFAULT_IDEMPOTENCY_MAX_ENTRIES, DEFAULT_IDEMPOTENCY_TTL_MS } from "./idempotency.js";
import type { JournalRecord, TornTail } from "./journal/format.js";
import type { JournalIo } from "./journal/io.js";
import { Journal } from "./journal/journal.js";
import { validateStoreBounds } from "./store-bounds.js";
import type { IdempotencyRecord, IdempotencyStore } from "./types.js";

/** Options of {@link FileIdempotencyStore.open}. */
export interface FileIdempotencyStoreOptions {
  /** Most keys kept. Default 10 000. */
  maxEntries?: number;
  /** A key is forgotten this long after its last update. Default 24 h. */
  ttlMs?: number;
  /** Told about a torn last record that was cut off when the journal was opened. */
  logger?: Logger;
  /** Clock, injectable for tests. Default `Date.now`. */
  now?: () => number;
  /** File operations (tests). Default node:fs. */
  io?: JournalIo;
}

/** A torn last record found (and cut off) when the journal was opened. */
export interface JournalRecovery extends TornTail {
  readonly file: string;
}

/** Superseded records tolerated beyond twice the live ones before the journal is compacted. */
const COMPACTION_SLACK = 256;

interface Entry {
  readonly record: IdempotencyRecord;
  readonly updatedAt: number;
}

/** See the module comment. Open it with {@link FileIdempotencyStore.open}; close it when done. */
export class FileIdempotencyStore implements IdempotencyStore {
  readonly maxEntries: number;
  readonly ttlMs: number;
  /** The torn tail cut off at open, or `undefined` when the journal ended cleanly. */
  readonly recovery: JournalRecovery | undefined;
  readonly #journal: Journal;
  readonly #now: () => number;
  readonly #logger: Logger | undefined;
  /** Insertion order is update order: the first entry is the least recently updated. */
  readonly #entries = new Map<string, Entry>();
  #compaction: Promise<void> | undefined;

  private constructor(
    journal: Journal,
    bounds: { maxEntries: number; ttlMs: number },
    now: () => number,
    logger: Logger | undefined,
    recovery: JournalRecovery | undefined,
  ) {
    this.#journal = journal;
    this.maxEntries = bounds.maxEntries;
    this.ttlMs = bounds.ttlMs;
    this.#now = now;
    this.#logger = logger;
    this.recovery = recovery;
  }

  /**
   * Opens (or creates) the journal at `path` and replays it. Throws `JournalLockedError` when another
   * live process has it open, `JournalCorruptError` (file and offset) when it holds damage that is not
   * a torn last write, and `InvalidOptionsError` for bad bounds.
   */
  static async open(path: string, options: FileIdempotencyStoreOptions = {}): Promise<FileIdempotencyStore> {
    const bounds = validateStoreBounds({
      maxEntries: options.maxEntries ?? DEFAULT_IDEMPOTENCY_MAX_ENTRIES,
      ttlMs: options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS,
    });
    const opened = await Journal.open(path, options.io);
    const recovery = opened.tail === undefined ? undefined : { file: path, ...opened.tail };
    const store = new FileIdempotencyStore(
      opened.journal,
      bounds,
      options.now ?? Date.now,
      options.logger,
      recovery,
    );
    try {
      store.#replay(opened.records);
    } catch (error) {
      await opened.journal.close();
      throw error;
    }
    if (recovery !== undefined) {
      options.logger?.warn(
        { file: path, offset: recovery.offset, bytes: recovery.bytes, reason: recovery.reason },
        `idempotency journal ${path}: torn last record at offset ${recovery.offset} (${recovery.reason}, ${recovery.bytes} bytes) cut off`,
      );
    }
    if (store.#needsCompaction()) await store.#compact();
    return store;
  }

  /** The journal file. */
  get path(): string {
    return this.#journal.path;
  }

  /** Keys held (expired ones included until read or compacted away). */
  get size(): number {
    return this.#entries.size;
  }

  /** Size of the journal file in bytes. */
  get journalBytes(): number {
    return this.#journal.bytes;
  }

  /** Records in the journal file (live and superseded). */
  get journalRecords(): number {
    return this.#journal.records;
  }

  /** The record of `key`, or `undefined` when unknown or expired. */
  get(key: string): IdempotencyRecord | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#expired(entry)) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.record;
  }

  /** Stores `record` under `key`; resolves once it is on disk. Rejects with `JournalFailedError`. */
  set(key: string, record: IdempotencyRecord): Promise<void> {
    const updatedAt = this.#now();
    const body = encodeEntry(key, record, updatedAt);
    const written = this.#journal.append(body);
    this.#put(key, { record: copyRecord(record), updatedAt });
    return written.then(() => this.#compactWhenDue());
  }

  /** Forgets `key` (durably). */
  delete(key: string): Promise<void> {
    if (!this.#entries.delete(key)) return Promise.resolve();
    return this.#journal.append(encodeTombstone(key)).then(() => this.#compactWhenDue());
  }

  /** Waits for pending writes, closes the journal and releases its lock. */
  async close(): Promise<void> {
    await this.#compaction?.catch(() => {});
    await this.#journal.close();
  }

  #put(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  #expired(entry: Entry): boolean {
    return entry.updatedAt + this.ttlMs <= this.#now();
  }

  #replay(records: readonly JournalRecord[]): void {
    for (const { offset, body } of records) {
      const decoded = decodeEntry(body, this.#journal.path, offset);
      if (decoded.record === undefined) this.#entries.delete(decoded.key);
      else this.#put(decoded.key, { record: decoded.record, updatedAt: decoded.updatedAt });
    }
    for (const [key, entry] of this.#entries) if (this.#expired(entry)) this.#entries.delete(key);
  }

  #needsCompaction(): boolean {
    return this.#journal.records > 2 * this.#entries.size + COMPACTION_SLACK;
  }

  #compactWhenDue(): void {
    if (this.#compaction !== undefined || !this.#needsCompaction()) return;
    this.#compaction = this.#compact()
      .catch((error: unknown) => {
        // The journal refuses further writes now; every later set() rejects with the same error.
        this.#logger?.error(
          { file: this.path, error: String(error) },
          "idempotency journal compaction failed",
        );
      })
      .finally(() => {
        this.#compaction = undefined;
      });
  }

  #compact(): Promise<void> {
    return this.#journal.compact(() => {
      const live: Uint8Array[] = [];
      for (const [key, entry] of this.#entries) {
        if (this.#expired(entry)) this.#entries.delete(key);
        else live.push(encodeEntry(key, entry.record, entry.updatedAt));
      }
      return live;
    });
  }
}

/** Journal body of one key: `{"k","t","d","f"?,"r":[[type,base64],…]}`; a tombstone is `{"k","x":1}`. */
function encodeEntry(key: string, record: IdempotencyRecord, updatedAt: number): Buffer {
  const json: Record<string, unknown> = {
    k: key,
    t: updatedAt,
    d: record.done ? 1 : 0,
    r: record.replies.map((reply) => [reply.type, Buffer.from(reply.payload).toString("base64")]),
  };
  if (record.failed !== undefined) json.f = record.failed;
  return Buffer.from(JSON.stringify(json));
}

function encodeTombstone(key: string): Buffer {
  return Buffer.from(JSON.stringify({ k: key, x: 1 }));
}

function decodeEntry(
  body: Buffer,
  file: string,
  offset: number,
): { key: string; updatedAt: number; record: IdempotencyRecord | undefined } {
  let json: { k?: unknown; t?: unknown; d?: unknown; f?: unknown; r?: unknown; x?: unknown };
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    throw new JournalCorruptError(file, offset, "record is not JSON");
  }
  if (typeof json.k !== "string") throw new JournalCorruptError(file, offset, "record has no key");
  if (json.x === 1) return { key: json.k, updatedAt: 0, record: undefined };
  if (typeof json.t !== "number" || !Array.isArray(json.r)) {
    throw new JournalCorruptError(file, offset, "record lacks its time or replies");
  }
  const replies = json.r.map((reply: unknown) => {
    if (!Array.isArray(reply) || typeof reply[0] !== "number" || typeof reply[1] !== "string") {
      throw new JournalCorruptError(file, offset, "record has a malformed reply");
    }
    return { type: reply[0], payload: new Uint8Array(Buffer.from(reply[1], "base64")) };
  });
  const record: IdempotencyRecord =
    typeof json.f === "string"
      ? { replies, done: json.d === 1, failed: json.f }
      : { replies, done: json.d === 1 };
  return { key: json.k, updatedAt: json.t, record };
}
