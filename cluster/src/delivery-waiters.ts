/**
 * The caller's side of cluster deliveries: the deliveries this node called `deliver()` for, while
 * their iterators are open. `deliver()` writes the record (the script rings the node holding the
 * device); replies and ends reach this node through its inbox (or from this node itself) and are
 * yielded; a deadline, an abort or a stopped iteration ends the record in Redis, where exactly one
 * end wins. The reconcile pass checks each waiter against its record now and then, for an end whose
 * message was lost and a send whose doorbell was lost.
 */
import {
  AbortedError,
  CorrelationMissingError,
  type DeliveryOptions,
  type DeliveryOutcomes,
  InvalidOptionsError,
  type Logger,
  type PaynetError,
  PendingLimitError,
  type RequestSpec,
} from "@paynet/runtime";
import { ReplyQueue, sharedTimerWheel, type WheelTimer } from "@paynet/runtime/cluster";
import { type ClusterRedis, isReady, unavailable } from "./connection.js";
import type { DeliverySteps } from "./delivery-steps.js";
import { encodeMessage } from "./encode.js";
import type { ClusterKeys } from "./keys.js";
import type { ClusterSpec, ResolvedClusterOptions } from "./options.js";
import { type EndState, endError, readRecord } from "./records.js";
import type { SpecTable } from "./specs.js";

/** Default deadline of a delivery: 5 minutes (as without a cluster). */
const DEFAULT_DEADLINE_MS = 300_000;
/** Reconcile passes between two checks of one delivery this node waits for. */
const CHECK_EVERY_PASSES = 5;

/** A delivery this node called `deliver()` for and whose iterator is still open. */
interface Waiting {
  readonly deviceId: string;
  readonly key: string;
  readonly spec: ClusterSpec;
  readonly deadlineMs: number;
  readonly queue: ReplyQueue<unknown>;
  /** `DeliveryOptions.onReply`: told each reply this node yields, before the iteration sees it. */
  readonly onReply: ((reply: unknown) => void) | undefined;
  timer: WheelTimer | undefined;
  detachSignal: (() => void) | undefined;
  /** Replies yielded so far. */
  yielded: number;
  /** The record exists in Redis (its creation was confirmed). */
  created: boolean;
  /** Reconcile passes until this delivery is checked against its record again. */
  checkIn: number;
  /** The caller stopped iterating before the record was confirmed. */
  cancelled: boolean;
}

/**
 * One delivery's id in this node's tables: the device id comes first with its length, so no device
 * id or key (any characters, separators included) can make two deliveries one.
 */
export const idOf = (deviceId: string, key: string) => `${deviceId.length}:${deviceId}${key}`;

/** The deliveries this node waits for; see the module comment. */
export class DeliveryWaiters {
  readonly #redis: ClusterRedis;
  readonly #keys: ClusterKeys;
  readonly #steps: DeliverySteps;
  readonly #specs: SpecTable;
  readonly #options: ResolvedClusterOptions;
  readonly #outcomes: DeliveryOutcomes;
  readonly #ring: (nodeId: string, deviceId: string) => void;
  readonly #waiting = new Map<string, Waiting>();
  #logger: Logger | undefined;
  #started = false;

  constructor(deps: {
    redis: ClusterRedis;
    keys: ClusterKeys;
    steps: DeliverySteps;
    specs: SpecTable;
    options: ResolvedClusterOptions;
    /** This node's outcome counters (shared with the holder's side and the sweep). */
    outcomes: DeliveryOutcomes;
    /** Rings the node holding a device (this one included). */
    ring: (nodeId: string, deviceId: string) => void;
  }) {
    this.#redis = deps.redis;
    this.#keys = deps.keys;
    this.#steps = deps.steps;
    this.#specs = deps.specs;
    this.#options = deps.options;
    this.#outcomes = deps.outcomes;
    this.#ring = deps.ring;
  }

  attach(logger: Logger): void {
    this.#logger = logger;
    this.#started = true;
  }

  detach(): void {
    this.#started = false;
  }

  deliver<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options: DeliveryOptions<Rep> = {},
  ): AsyncIterable<Rep> {
    if (spec.requestKey === undefined || spec.replyKey === undefined) {
      throw new InvalidOptionsError(
        `spec ${spec.request.name}`,
        "deliver() needs requestKey and replyKey to match replies to the request",
      );
    }
    const listed = this.#specs.require(spec, "deliver()");
    if (options.isFinal !== undefined && options.isFinal !== listed.isFinal) {
      throw new InvalidOptionsError(
        "isFinal",
        "in a cluster the node holding the device decides which reply is final: give isFinal with the spec in redisCluster({ specs })",
      );
    }
    const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    if (!Number.isInteger(deadlineMs) || deadlineMs <= 0) {
      throw new InvalidOptionsError("deadlineMs", `expected a positive integer, got ${deadlineMs}`);
    }
    const peer = `device ${deviceId}`;
    const key = spec.requestKey(message);
    if (key === "") throw new CorrelationMissingError({ peer, messageName: spec.request.name });
    const payload = encodeMessage(spec.request, message, peer);
    const id = idOf(deviceId, key);
    let waiting: Waiting | undefined;
    const queue = new ReplyQueue<unknown>(() => {
      if (waiting !== undefined) this.#cancel(waiting);
    });
    if (options.signal?.aborted) {
      queue.fail(new AbortedError({ peer, messageName: spec.request.name }));
    } else if (this.#waiting.has(id)) {
      queue.fail(
        new InvalidOptionsError("key", `a delivery with key ${key} to device ${deviceId} is already pending`),
      );
    } else if (!this.#started || !isReady(this.#redis)) {
      queue.fail(unavailable(`delivery ${key} to ${deviceId}`, new Error("not connected")));
    } else {
      waiting = {
        deviceId,
        key,
        spec: listed,
        deadlineMs,
        queue,
        onReply: options.onReply as ((reply: unknown) => void) | undefined,
        timer: undefined,
        detachSignal: undefined,
        yielded: 0,
        created: false,
        checkIn: CHECK_EVERY_PASSES,
        cancelled: false,
      };
      this.#waiting.set(id, waiting);
      this.#create(waiting, spec.request.type, payload, deadlineMs, options.signal);
    }
    return queue as AsyncIterable<Rep>;
  }

  #create(
    waiting: Waiting,
    type: number,
    payload: Uint8Array,
    deadlineMs: number,
    signal?: AbortSignal,
  ): void {
    const { deviceId, key } = waiting;
    const created = this.#steps.create(deviceId, key, type, payload, waiting.spec.reply.type, deadlineMs);
    created.then(
      ([status, , , node]) => {
        const context = { peer: `device ${deviceId}`, messageName: waiting.spec.request.name };
        if (status === "dup") {
          this.#settle(
            waiting,
            new InvalidOptionsError(
              "key",
              `a delivery with key ${key} to device ${deviceId} is already pending in the cluster`,
            ),
          );
          return;
        }
        if (status === "full") {
          this.#settle(waiting, new PendingLimitError(this.#options.maxPendingDeliveries, context));
          return;
        }
        waiting.created = true;
        if (waiting.cancelled) {
          // The caller stopped iterating while the record was being written: end it there too.
          void this.#endShared(waiting, "cancelled", "the caller stopped waiting");
          return;
        }
        if (waiting.queue.closed) return;
        waiting.timer = sharedTimerWheel().schedule(deadlineMs, () => this.#expire(waiting));
        if (signal !== undefined) {
          const onAbort = () => this.#endShared(waiting, "aborted", "aborted by the caller");
          signal.addEventListener("abort", onAbort, { once: true });
          waiting.detachSignal = () => signal.removeEventListener("abort", onAbort);
        }
        // Through the holding node's inbox, not only its doorbell: with its subscriber gone, its
        // reconcile pass still finds the ring within one interval.
        if (node !== undefined && node !== "") this.#ring(node, deviceId);
      },
      (error: unknown) => this.#settle(waiting, unavailable(`delivery ${key} to ${deviceId}`, error)),
    );
  }

  /** The deadline passed on this node's clock: expire it in Redis (where Redis's clock decides). */
  #expire(waiting: Waiting): void {
    void this.#endShared(waiting, "timedOut", "deadline passed");
  }

  /** Iteration stopped early. */
  #cancel(waiting: Waiting): void {
    if (!waiting.created) {
      waiting.cancelled = true;
      return;
    }
    void this.#endShared(waiting, "cancelled", "the caller stopped waiting");
  }

  /**
   * Ends `waiting`'s delivery in Redis with `state` unless it ended already (then it ends here as
   * recorded). Only one node's attempt succeeds cluster-wide.
   */
  async #endShared(waiting: Waiting, state: Exclude<EndState, "completed">, reason: string): Promise<void> {
    const { deviceId, key } = waiting;
    let result: string[];
    try {
      result = await this.#steps.finish(deviceId, key, state, reason);
    } catch (error) {
      if (state === "timedOut") {
        // Redis away at the deadline: the next pass of any node expires it.
        waiting.timer = sharedTimerWheel().schedule(this.#options.reconcileMs, () => this.#expire(waiting));
      } else {
        this.#logger?.warn(
          { deviceId, key, error: String(error) },
          `delivery ${state} here; its record stays pending`,
        );
        this.#settle(waiting, state === "cancelled" ? "cancelled" : endError(state, reason, waiting));
      }
      return;
    }
    if (result[0] === "early") {
      waiting.timer = sharedTimerWheel().schedule(Number(result[1]) + 10, () => this.#expire(waiting));
      return;
    }
    if (result[0] === "ok") {
      this.#outcomes[state]++;
      this.#settle(waiting, state === "cancelled" ? "cancelled" : endError(state, reason, waiting));
      return;
    }
    await this.#settleFromRecord(waiting);
  }

  /** Ends `waiting` as its record says (a message about its end was missed). */
  async #settleFromRecord(waiting: Waiting): Promise<void> {
    let record: Awaited<ReturnType<typeof readRecord>>;
    try {
      record = await readRecord(this.#redis, this.#keys, waiting.deviceId, waiting.key);
    } catch {
      return; // Checked again at a later pass.
    }
    if (record === undefined) {
      this.#settle(
        waiting,
        unavailable(`delivery ${waiting.key} to ${waiting.deviceId}`, new Error("its record is gone")),
      );
      return;
    }
    if (record.state === "pending") return;
    if (record.state === "completed") {
      if (waiting.yielded < record.replies && record.lastReply !== undefined) {
        this.#yield(waiting, record.lastReply);
      }
      this.#settle(waiting, "completed");
      return;
    }
    this.#settle(
      waiting,
      record.state === "cancelled" ? "cancelled" : endError(record.state, record.reason, waiting),
    );
  }

  #yield(waiting: Waiting, payload: Uint8Array): void {
    let reply: unknown;
    try {
      reply = waiting.spec.reply.codec.decode(payload);
    } catch (error) {
      this.#logger?.error(
        { deviceId: waiting.deviceId, key: waiting.key, error: String(error) },
        "recorded reply does not decode",
      );
      return;
    }
    waiting.yielded++;
    try {
      waiting.onReply?.(reply);
    } catch (error) {
      this.#logger?.error(
        { deviceId: waiting.deviceId, key: waiting.key, error: String(error) },
        "onReply threw",
      );
    }
    waiting.queue.push(reply);
  }

  /** Ends the local iterator of `waiting` (the shared record is not touched). */
  #settle(waiting: Waiting, outcome: "completed" | "cancelled" | Error): void {
    const id = idOf(waiting.deviceId, waiting.key);
    if (this.#waiting.get(id) === waiting) this.#waiting.delete(id);
    else if (!waiting.cancelled) return;
    waiting.timer?.cancel();
    waiting.detachSignal?.();
    if (outcome === "completed") waiting.queue.end();
    else if (outcome !== "cancelled") waiting.queue.fail(outcome);
  }

  /** A recorded reply of a delivery this node called `deliver()` for (from the inbox or this node). */
  replied(deviceId: string, key: string, payload: Uint8Array, final: boolean): void {
    const waiting = this.#waiting.get(idOf(deviceId, key));
    if (waiting === undefined) return;
    this.#yield(waiting, payload);
    if (final) this.#settle(waiting, "completed");
  }

  /** A delivery this node called `deliver()` for ended otherwise than by a reply, on another node. */
  ended(deviceId: string, key: string, outcome: string, reason: string): void {
    const waiting = this.#waiting.get(idOf(deviceId, key));
    if (waiting === undefined) return;
    this.#settle(
      waiting,
      outcome === "cancelled" ? "cancelled" : endError(outcome as EndState, reason, waiting),
    );
  }

  /** The server stops: local iterators end with `error`; records stay for the other nodes. */
  failAll(error: PaynetError): void {
    for (const waiting of [...this.#waiting.values()]) this.#settle(waiting, error);
  }

  /**
   * Checks the deliveries this node waits for against their records, each every few passes: one
   * that ended (its end message was lost) ends here as recorded; one not sent in the device's
   * current epoch (its doorbell was lost) is rung again.
   */
  async check(): Promise<void> {
    const due = [...this.#waiting.values()].filter((w) => w.created && --w.checkIn <= 0);
    if (due.length === 0) return;
    const pipeline = this.#redis.pipeline();
    for (const waiting of due) {
      waiting.checkIn = CHECK_EVERY_PASSES;
      pipeline.hmget(this.#keys.delivery(waiting.deviceId, waiting.key), "state", "sent");
      pipeline.hmget(this.#keys.presence(waiting.deviceId), "node", "epoch");
    }
    const results = (await pipeline.exec()) ?? [];
    for (const [i, waiting] of due.entries()) {
      const [state, sent] = (results[2 * i]?.[1] ?? []) as Array<string | null>;
      const [node, epoch] = (results[2 * i + 1]?.[1] ?? []) as Array<string | null>;
      if (state !== "pending") await this.#settleFromRecord(waiting);
      else if (node && epoch !== null && Number(sent) < Number(epoch)) this.#ring(node, waiting.deviceId);
    }
  }
}
