import { InvalidOptionsError, QueueFullError } from "../errors.js";
import { positiveNumber } from "../option-checks.js";
import type { OfflineQueueOptions } from "./types.js";

/** One message waiting for the client to come online, already encoded. */
export interface OfflineEntry {
  readonly type: number;
  /** Message name, for errors that say what was dropped. */
  readonly name: string;
  readonly payload: Uint8Array;
  /** Epoch ms when it was queued. */
  readonly queuedAt: number;
}

/** Resolved limits of an {@link OfflineQueue}. */
export interface OfflineQueueLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
}

/** Defaults: 1 000 messages, 1 MiB, 1 hour. */
export const DEFAULT_OFFLINE_QUEUE: OfflineQueueLimits = Object.freeze({
  maxMessages: 1_000,
  maxBytes: 1_048_576,
  maxAgeMs: 3_600_000,
});

/** Frame overhead (Len + Type) counted against `maxBytes`, so the bound matches what goes on the wire. */
const FRAME_HEADER_BYTES = 5;

/**
 * Bounded FIFO of messages sent while the client is offline (or while its backlog drains). A message
 * it accepts is kept until it is written: a push over a limit throws {@link QueueFullError}, so the
 * sender learns at once; nothing accepted is dropped later.
 */
export class OfflineQueue {
  readonly limits: OfflineQueueLimits;
  /** Named in `QueueFullError`s: the server the queued messages are for. */
  readonly peer: string | undefined;
  #entries: OfflineEntry[] = [];
  #head = 0;
  #bytes = 0;

  constructor(options: OfflineQueueOptions = {}, peer?: string) {
    this.limits = resolveOfflineQueueLimits(options);
    this.peer = peer;
  }

  /** Messages currently queued. */
  get messages(): number {
    return this.#entries.length - this.#head;
  }

  /** Wire bytes (header included) currently queued. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Queue time of the oldest entry, or `undefined` when empty. */
  get oldestQueuedAt(): number | undefined {
    return this.#entries[this.#head]?.queuedAt;
  }

  /**
   * Appends an entry.
   * @throws QueueFullError (`offline`) when it would exceed `maxMessages` or `maxBytes`, or when the
   * oldest queued message has waited `maxAgeMs` already (the client has been offline that long).
   */
  push(entry: OfflineEntry): void {
    const size = entry.payload.length + FRAME_HEADER_BYTES;
    const context = {
      ...(this.peer === undefined ? {} : { peer: this.peer }),
      frameType: entry.type,
      messageName: entry.name,
    };
    if (this.messages + 1 > this.limits.maxMessages) {
      throw new QueueFullError("offline", `maxMessages ${this.limits.maxMessages}`, context);
    }
    if (this.#bytes + size > this.limits.maxBytes) {
      throw new QueueFullError("offline", `maxBytes ${this.limits.maxBytes}`, context);
    }
    const oldest = this.oldestQueuedAt;
    if (oldest !== undefined && entry.queuedAt - oldest >= this.limits.maxAgeMs) {
      throw new QueueFullError(
        "offline",
        `maxAgeMs ${this.limits.maxAgeMs}: the oldest queued message has waited ${entry.queuedAt - oldest} ms`,
        context,
      );
    }
    this.#entries.push(entry);
    this.#bytes += size;
  }

  /** The oldest entry, left in place, or `undefined`. */
  peek(): OfflineEntry | undefined {
    return this.messages === 0 ? undefined : this.#entries[this.#head];
  }

  /** Removes and returns the oldest entry, or `undefined`. */
  shift(): OfflineEntry | undefined {
    return this.messages === 0 ? undefined : this.#shift();
  }

  /** Removes and returns everything, oldest first. */
  clear(): OfflineEntry[] {
    const all = this.#entries.slice(this.#head);
    this.#entries = [];
    this.#head = 0;
    this.#bytes = 0;
    return all;
  }

  #shift(): OfflineEntry {
    const entry = this.#entries[this.#head] as OfflineEntry;
    this.#entries[this.#head++] = undefined as unknown as OfflineEntry;
    this.#bytes -= entry.payload.length + FRAME_HEADER_BYTES;
    // Compact once the consumed prefix dominates, keeping shift O(1) amortised.
    if (this.#head > 64 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    return entry;
  }
}

/** Validates offline-queue options and fills in defaults. */
export function resolveOfflineQueueLimits(options: OfflineQueueOptions): OfflineQueueLimits {
  const limits = {
    maxMessages: options.maxMessages ?? DEFAULT_OFFLINE_QUEUE.maxMessages,
    maxBytes: options.maxBytes ?? DEFAULT_OFFLINE_QUEUE.maxBytes,
    maxAgeMs: options.maxAgeMs ?? DEFAULT_OFFLINE_QUEUE.maxAgeMs,
  };
  for (const [name, value] of Object.entries(limits)) positiveNumber(`offlineQueue.${name}`, value);
  if (!Number.isInteger(limits.maxMessages)) {
    throw new InvalidOptionsError(
      "offlineQueue.maxMessages",
      `expected an integer, got ${limits.maxMessages}`,
    );
  }
  return limits;
}
