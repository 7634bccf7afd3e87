/**
 * Device-side idempotency: a command whose key was seen before is not executed again; the last reply
 * recorded for it is re-sent instead, so a redelivered command is answered from its recorded
 * progress. A command whose handler failed, or whose execution was interrupted by a crash, is recorded
 * as failed and never re-executed automatically: redeliveries are answered with the failure instead.
 */
import { validateStoreBounds } from "./store-bounds.js";
import type { IdempotencyRecord, IdempotencyStore } from "./types.js";

/** One recorded reply: wire Type and encoded payload. */
export interface RecordedReply {
  readonly type: number;
  readonly payload: Uint8Array;
}

/** Options of {@link MemoryIdempotencyStore}. */
export interface MemoryIdempotencyStoreOptions {
  /** Most keys kept; the least recently used is evicted beyond it. Default 10 000. */
  maxEntries?: number;
  /** A key is forgotten this long after its last update. Default 24 h. */
  ttlMs?: number;
  /** Clock, injectable for tests. Default `Date.now`. */
  now?: () => number;
}

/** Default TTL of a recorded command: 24 h, longer than any redelivery deadline. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 86_400_000;
/** Default bound of {@link MemoryIdempotencyStore}. */
export const DEFAULT_IDEMPOTENCY_MAX_ENTRIES = 10_000;

/**
 * In-memory {@link IdempotencyStore}: bounded (LRU eviction) with a TTL. The default store of the
 * device client; it forgets everything on restart, so a command redelivered after a restart runs
 * again. Use `FileIdempotencyStore` wherever a command must not run twice across process restarts.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly #now: () => number;
  // Map iteration order is insertion order: re-inserting on access keeps the LRU entry first.
  readonly #entries = new Map<string, { record: IdempotencyRecord; expiresAt: number }>();

  constructor(options: MemoryIdempotencyStoreOptions = {}) {
    const bounds = validateStoreBounds({
      maxEntries: options.maxEntries ?? DEFAULT_IDEMPOTENCY_MAX_ENTRIES,
      ttlMs: options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS,
    });
    this.maxEntries = bounds.maxEntries;
    this.ttlMs = bounds.ttlMs;
    this.#now = options.now ?? Date.now;
  }

  /** Number of keys held (expired ones included until touched or evicted). */
  get size(): number {
    return this.#entries.size;
  }

  /** The record of `key`, or `undefined` when unknown or expired. Marks the key recently used. */
  get(key: string): IdempotencyRecord | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= this.#now()) return undefined;
    this.#entries.set(key, entry);
    return entry.record;
  }

  /** Stores a copy of `record` under `key`, restarting its TTL and evicting the least recently used keys. */
  set(key: string, record: IdempotencyRecord): void {
    this.#entries.delete(key);
    this.#entries.set(key, { record: copyRecord(record), expiresAt: this.#now() + this.ttlMs });
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  /** Forgets `key`. */
  delete(key: string): void {
    this.#entries.delete(key);
  }
}

/** What the guard decided for one inbound command. */
export type GuardDecision =
  /** First sighting: the key is recorded (durably, with a durable store); run the handler. */
  | { readonly kind: "execute" }
  /**
   * Seen before: do not run. `lastReply` is the reply to re-send, if any; `failed` the recorded
   * failure of a handler that threw (or of an interrupted execution); `running` tells that the first
   * execution is still under way in this process.
   */
  | {
      readonly kind: "duplicate";
      readonly lastReply: RecordedReply | undefined;
      readonly failed?: string;
      readonly running: boolean;
    }
  /**
   * Claimed but never finished, and not running in this process: an earlier process died while
   * executing it (or between claiming and starting it). It must not run again; whether money moved
   * is unknown. Settle it with {@link IdempotencyGuard.markInterrupted}.
   */
  | { readonly kind: "interrupted"; readonly lastReply: RecordedReply | undefined };

/** How a command ended: its last reply (if the handler gave one) and the failure, when it failed. */
export interface CommandOutcome {
  readonly reply?: RecordedReply;
  readonly failure?: string;
}

interface ActiveCommand {
  replies: RecordedReply[];
  done: boolean;
  failed: string | undefined;
  /** Serialises store writes of this key so the store never sees them out of order. */
  writes: Promise<void>;
}

/** Replies kept per key; only the last one is ever re-sent, the rest is history for persistent stores. */
const MAX_RECORDED_REPLIES = 16;

/**
 * The decision logic around an {@link IdempotencyStore}. A key is claimed (written to the store)
 * before its handler runs, and commands in execution are also tracked in memory, so a redelivery that
 * arrives while the first execution is still running (or while the store is being consulted) is not
 * executed twice, and a record left unfinished by an earlier process is recognised as interrupted.
 */
export class IdempotencyGuard {
  readonly #store: IdempotencyStore;
  readonly #active = new Map<string, ActiveCommand>();

  constructor(store: IdempotencyStore) {
    this.#store = store;
  }

  /** The store the guard records into. */
  get store(): IdempotencyStore {
    return this.#store;
  }

  /** Keys whose handler is still running. */
  get activeCount(): number {
    return this.#active.size;
  }

  /**
   * Looks `key` up; when unseen, records it (awaiting the store) before answering `execute`.
   * Rejects when the store fails; the caller must then not execute (a payment must not run twice).
   */
  async claim(key: string): Promise<GuardDecision> {
    const running = this.#active.get(key);
    if (running !== undefined) {
      return { kind: "duplicate", lastReply: running.replies.at(-1), running: true };
    }
    // Reserve synchronously: a duplicate arriving during the store lookup sees the reservation.
    const command: ActiveCommand = {
      replies: [],
      done: false,
      failed: undefined,
      writes: Promise.resolve(),
    };
    this.#active.set(key, command);
    try {
      const existing = await this.#store.get(key);
      if (existing !== undefined) {
        this.#active.delete(key);
        const lastReply = existing.replies.at(-1);
        if (!existing.done) return { kind: "interrupted", lastReply };
        return existing.failed === undefined
          ? { kind: "duplicate", lastReply, running: false }
          : { kind: "duplicate", lastReply, failed: existing.failed, running: false };
      }
      await this.#write(key, command);
      return { kind: "execute" };
    } catch (error) {
      this.#active.delete(key);
      throw error;
    }
  }

  /** Records a progress reply of the command `key` (call before sending it). */
  record(key: string, reply: RecordedReply): Promise<void> {
    const command = this.#active.get(key);
    if (command === undefined)
      return Promise.reject(new Error(`idempotency key ${key} is not being executed`));
    this.#push(command, reply);
    return this.#write(key, command);
  }

  /**
   * Marks the command `key` finished, with its final reply (recorded in the same write, before it is
   * sent) and, when the handler threw, the failure: redeliveries are then answered from the record.
   */
  async finish(key: string, outcome: CommandOutcome = {}): Promise<void> {
    const command = this.#active.get(key);
    if (command === undefined) return;
    if (outcome.reply !== undefined) this.#push(command, outcome.reply);
    command.done = true;
    command.failed = outcome.failure;
    try {
      await this.#write(key, command);
    } finally {
      this.#active.delete(key);
    }
  }

  /**
   * Settles an interrupted command (see {@link GuardDecision}): recorded as finished with `reason`
   * as its failure and `reply` (the protocol's failure reply, if there is one) as its last reply, so
   * every later redelivery is answered the same way without being reported again.
   */
  async markInterrupted(key: string, reason: string, reply?: RecordedReply): Promise<void> {
    const existing = await this.#store.get(key);
    const replies = [...(existing?.replies ?? [])];
    if (reply !== undefined) replies.push(copyReply(reply));
    await this.#store.set(key, { replies: replies.slice(-MAX_RECORDED_REPLIES), done: true, failed: reason });
  }

  #push(command: ActiveCommand, reply: RecordedReply): void {
    command.replies.push(copyReply(reply));
    if (command.replies.length > MAX_RECORDED_REPLIES) command.replies.shift();
  }

  #write(key: string, command: ActiveCommand): Promise<void> {
    const record: IdempotencyRecord =
      command.failed === undefined
        ? { replies: [...command.replies], done: command.done }
        : { replies: [...command.replies], done: command.done, failed: command.failed };
    const write = command.writes.then(() => this.#store.set(key, record));
    // Keep the chain alive after a failed write; the failure is reported through `write`.
    command.writes = write.catch(() => {});
    return write;
  }
}

function copyReply(reply: RecordedReply): RecordedReply {
  return { type: reply.type, payload: Uint8Array.from(reply.payload) };
}

/** A deep copy of `record`, so a store is not changed through the object it was given. */
export function copyRecord(record: IdempotencyRecord): IdempotencyRecord {
  const replies = record.replies.map(copyReply);
  return record.failed === undefined
    ? { replies, done: record.done }
    : { replies, done: record.done, failed: record.failed };
}
