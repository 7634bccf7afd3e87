/**
 * Seams of the delivery layer. In-memory implementations are the defaults; a shared store (Redis)
 * can replace them so several server processes act as one.
 */

/** One at-least-once delivery that has not seen its final reply yet. */
export interface PendingDelivery {
  readonly deviceId: string;
  /** Correlation key (e.g. the order id). */
  readonly key: string;
  /** Wire Type of the request: with the device and the key, what identifies the delivery. */
  readonly type: number;
  /** Encoded request payload, re-sent as-is after each re-login. */
  readonly payload: Uint8Array;
  readonly createdAt: number;
  readonly deadline: number;
  attempts: number;
}

/**
 * Where pending deliveries live between the send and their final reply, identified by device,
 * request Type and correlation key. A store may be shared by several server processes or outlive a
 * restart, so its contract (checked by `pendingDeliveryStoreContract` of `@paynet/runtime/testing`)
 * is written for that:
 *
 * - any process may complete a record, whether or not it started it: `remove` tells the one caller
 *   that removed it (`true`), so a completion or an expiry is counted once;
 * - `expire(now)` removes and returns the records past their deadline, each one to exactly one
 *   caller, however many processes sweep at the same time;
 * - nothing but `remove` and `expire` removes a record (a stopping server leaves them).
 */
export interface PendingDeliveryStore {
  /** Stores `delivery`, replacing a record with the same device, Type and key. */
  add(delivery: PendingDelivery): void | Promise<void>;
  /** Removes the record; `true` when this call removed it, `false` when it was not there (any more). */
  remove(deviceId: string, type: number, key: string): boolean | Promise<boolean>;
  /** Every record of `deviceId`, oldest first. */
  forDevice(deviceId: string): readonly PendingDelivery[] | Promise<readonly PendingDelivery[]>;
  /** Removes and returns every record whose deadline is at or before `now`. */
  expire(now: number): readonly PendingDelivery[] | Promise<readonly PendingDelivery[]>;
  /** Records held (a shared store may answer from a recent count). */
  size(): number;
  /** Creation time of the oldest record, `undefined` when empty. */
  oldestCreatedAt(): number | undefined;
}

/** Counters of the at-least-once deliveries of a server. */
export interface DeliveryStats {
  /** Deliveries waiting for their final reply. */
  pending: number;
  /** Age in ms of the oldest pending delivery, 0 when none. */
  oldestAgeMs: number;
  /** Re-sends after a re-login (first sends not counted). */
  redelivered: number;
  /** Deliveries ended by their final reply. */
  completed: number;
  /** Deliveries ended by their deadline (`RequestTimeoutError`). */
  timedOut: number;
  /** Every ended delivery, by how it ended. */
  outcomes: DeliveryOutcomes;
}

/** Ended deliveries by outcome. */
export interface DeliveryOutcomes {
  /** Final reply received. */
  completed: number;
  /** Deadline passed (`RequestTimeoutError`). */
  timedOut: number;
  /** Aborted through the caller's signal. */
  aborted: number;
  /** The caller stopped iterating the replies. */
  cancelled: number;
  /** Ended by another error: the server stopping, a store failure. */
  failed: number;
}

/** Recorded progress of a command on the device, keyed by its message name and correlation value. */
export interface IdempotencyRecord {
  /** Encoded replies sent so far, oldest first (Type + payload). */
  readonly replies: ReadonlyArray<{ type: number; payload: Uint8Array }>;
  /**
   * True once the handler has settled (returned or threw). A record that is not done and whose
   * command is not running in this process was interrupted (the process died while executing it).
   */
  readonly done: boolean;
  /**
   * Why the handler failed, when it threw or rejected. A redelivery of a failed command is not run
   * again (it may have moved money before failing); it is answered with the protocol's error message.
   */
  readonly failed?: string;
}

/**
 * Device-side memory of executed commands. `set` must not resolve before the record would survive
 * what the store promises to survive (a restart, for a persistent store): the client writes the
 * record of a command before its handler runs, and of a reply before the reply is sent.
 */
export interface IdempotencyStore {
  get(key: string): IdempotencyRecord | undefined | Promise<IdempotencyRecord | undefined>;
  set(key: string, record: IdempotencyRecord): void | Promise<void>;
}
