/**
 * Device-side idempotency: a command whose correlation key was seen before is not executed again;
 * the last reply recorded for it is re-sent instead, so a redelivered command is answered from its
 * recorded progress. A command whose handler failed is recorded as failed and never re-executed
 * automatically: redeliveries are answered with the error instead.
 */
import { InvalidOptionsError } from "../errors.js";
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
 * device client; it forgets everything on restart, so plug in a persistent store where a command must
 * not run twice across process restarts.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly #now: () => number;
  // Map iteration order is insertion order: re-inserting on access keeps the LRU entry first.
  readonly #entries = new Map<string, { record: IdempotencyRecord; expiresAt: number }>();

  constructor(options: MemoryIdempotencyStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? DEFAULT_IDEMPOTENCY_MAX_ENTRIES;
    this.ttlMs = options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
    this.#now = options.now ?? Date.now;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) {
      throw new InvalidOptionsError("maxEntries", `expected an integer >= 1, got ${this.maxEntries}`);
    }
    if (!Number.isFinite(this.ttlMs) || this.ttlMs <= 0) {
      throw new InvalidOptionsError("ttlMs", `expected a finite number > 0, got ${this.ttlMs}`);
    }
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

  /** Stores `record` under `key`, restarting its TTL and evicting the least recently used keys. */
  set(key: string, record: IdempotencyRecord): void {
    this.#entries.delete(key);
    this.#entries.set(key, { record, expiresAt: this.#now() + this.ttlMs });
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
  /** First sighting: the key is recorded; run the handler and record its replies. */
  | { readonly execute: true }
  /**
   * Seen before: do not run. `lastReply` is the reply to re-send, if any; `failed` the recorded
   * failure of a handler that threw; `running` tells that the first execution has not settled yet.
   */
  | {
      readonly execute: false;
      readonly lastReply: RecordedReply | undefined;
      readonly failed?: string;
      readonly running: boolean;
    };

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
 * The decision logic around an {@link IdempotencyStore}. A key is claimed before its handler runs, and
 * commands in execution are also tracked in memory, so a redelivery that arrives while the first
 * execution is still running (or while the store is being consulted) is not executed twice.
 */
export class IdempotencyGuard {
  readonly #store: IdempotencyStore;
  readonly #active = new Map<string, ActiveCommand>();

  constructor(store: IdempotencyStore) {
    this.#store = store;
  }

  /** Keys whose handler is still running. */
  get activeCount(): number {
    return this.#active.size;
  }

  /**
   * Looks `key` up; when unseen, records it (awaiting the store) before answering `execute: true`.
   * Rejects when the store fails; the caller must then not execute (a payment must not run twice).
   */
  async claim(key: string): Promise<GuardDecision> {
    const running = this.#active.get(key);
    if (running !== undefined) return { execute: false, lastReply: running.replies.at(-1), running: true };
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
        return existing.failed === undefined
          ? { execute: false, lastReply, running: false }
          : { execute: false, lastReply, failed: existing.failed, running: false };
      }
      await this.#write(key, command);
      return { execute: true };
    } catch (error) {
      this.#active.delete(key);
      throw error;
    }
  }

  /** Records a reply of the command `key` (call before sending it). */
  record(key: string, reply: RecordedReply): Promise<void> {
    const command = this.#active.get(key);
    if (command === undefined)
      return Promise.reject(new Error(`idempotency key ${key} is not being executed`));
    command.replies.push({ type: reply.type, payload: Uint8Array.from(reply.payload) });
    if (command.replies.length > MAX_RECORDED_REPLIES) command.replies.shift();
    return this.#write(key, command);
  }

  /**
   * Marks the command `key` finished (its handler settled); later sightings read the store. Pass
   * `failure` when the handler threw: the record then says so, and redeliveries are answered with it.
   */
  async finish(key: string, failure?: string): Promise<void> {
    const command = this.#active.get(key);
    if (command === undefined) return;
    command.done = true;
    command.failed = failure;
    try {
      await this.#write(key, command);
    } finally {
      this.#active.delete(key);
    }
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
