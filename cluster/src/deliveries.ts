/**
 * Durable at-least-once deliveries shared by every node.
 *
 * `deliver()` writes the delivery record to Redis (one Lua step that also reads where the device is)
 * and rings the node holding the device, which claims the send for its session epoch (at most once
 * per epoch, in Lua) and sends it. That node matches the device's replies by key, records each one
 * (fenced by its epoch) and, on the final one, ends the record as completed and appends the outcome
 * to the stream; then it forwards the reply to the node that called `deliver()`, whose iterator
 * yields it. Every node's reconcile pass expires deliveries past their deadline (exactly one wins,
 * in Lua), so outcomes are recorded even when the caller died. A device logging in on any node gets
 * its pending deliveries re-sent there.
 */
import {
  AbortedError,
  CorrelationMissingError,
  type DeliveryOptions,
  type DeliveryOutcomes,
  type DeliveryStats,
  InvalidOptionsError,
  type MessageDef,
  type PaynetError,
  PendingLimitError,
  type RequestSpec,
  type Session,
} from "@paynet/runtime";
import {
  type ClusterHost,
  type DeliveryEngine,
  ReplyQueue,
  sharedTimerWheel,
  type WheelTimer,
} from "@paynet/runtime/cluster";
import { type ClusterRedis, isReady, unavailable } from "./connection.js";
import { encodeMessage } from "./encode.js";
import { type ClusterKeys, dueMember } from "./keys.js";
import type { ClusterNode } from "./node.js";
import type { ClusterSpec, ResolvedClusterOptions } from "./options.js";
import type { Presence } from "./presence.js";
import { type EndState, endError, readRecord } from "./records.js";
import { isFinalReply, type SpecTable } from "./specs.js";

/** Default deadline of a delivery: 5 minutes (as without a cluster). */
const DEFAULT_DEADLINE_MS = 300_000;
/** Ended deliveries remembered per node so late duplicate replies are absorbed. */
const RECENTLY_ENDED = 4_096;
/** Due deliveries expired per reconcile pass and node. */
const SWEEP_BATCH = 200;
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

/** Deliveries sent on one session of this node, by key → reply Type. */
interface SentOnSession {
  readonly session: Session;
  readonly keys: Map<string, number>;
}

const idOf = (deviceId: string, key: string) => `${deviceId}\u0000${key}`;

/** A device's reply to a delivery, recorded by the node holding the device (see `RedisCluster` "reply"). */
export interface DeliveryReplyEvent {
  readonly deviceId: string;
  readonly key: string;
  /** The decoded reply. */
  readonly reply: unknown;
  /** It ended the delivery (completed). */
  readonly final: boolean;
  /** Node that called `deliver()` (it may be gone). */
  readonly origin: string;
}

/** The cluster's {@link DeliveryEngine}; see the module comment. */
export class ClusterDeliveries implements DeliveryEngine {
  readonly #redis: ClusterRedis;
  readonly #keys: ClusterKeys;
  readonly #node: ClusterNode;
  readonly #presence: Presence;
  readonly #specs: SpecTable;
  readonly #options: ResolvedClusterOptions;
  readonly #waiting = new Map<string, Waiting>();
  readonly #sent = new Map<string, SentOnSession>();
  readonly #ended = new Map<string, number>();
  readonly #passes = new Map<string, { again: boolean }>();
  readonly #outcomes: DeliveryOutcomes = { completed: 0, timedOut: 0, aborted: 0, cancelled: 0, failed: 0 };
  #redelivered = 0;
  #pendingCount = 0;
  #host: ClusterHost | undefined;
  #started = false;
  /** Told of every reply this node recorded, once Redis has it (see `RedisCluster` "reply"). */
  onRecorded: (event: DeliveryReplyEvent) => void = () => {};

  constructor(deps: {
    redis: ClusterRedis;
    keys: ClusterKeys;
    node: ClusterNode;
    presence: Presence;
    specs: SpecTable;
    options: ResolvedClusterOptions;
  }) {
    this.#redis = deps.redis;
    this.#keys = deps.keys;
    this.#node = deps.node;
    this.#presence = deps.presence;
    this.#specs = deps.specs;
    this.#options = deps.options;
    this.#presence.onRelease = (deviceId, session) => {
      if (this.#sent.get(deviceId)?.session === session) this.#sent.delete(deviceId);
    };
  }

  attach(host: ClusterHost): void {
    this.#host = host;
    this.#started = true;
  }

  detach(): void {
    this.#started = false;
  }

  // ---- the caller's side ------------------------------------------------------------------

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
    const k = this.#keys;
    const created = this.#redis.paynetCreate(
      k.delivery(deviceId, key),
      k.pending(deviceId),
      k.due(deviceId),
      k.presence(deviceId),
      key,
      type,
      Buffer.from(payload),
      waiting.spec.reply.type,
      deadlineMs,
      this.#node.id,
      dueMember(deviceId, key),
      Math.ceil(this.#options.maxPendingDeliveries / k.shards),
      // The script rings the node holding the device itself (no second round trip).
      k.bell(""),
      `\n${JSON.stringify({ k: "ring", d: deviceId })}\n`,
    );
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
        if (node === this.#node.id) this.ring(node, deviceId);
      },
      (error: unknown) => this.#settle(waiting, unavailable(`delivery ${key} to ${deviceId}`, error)),
    );
  }

  /** Tells node `nodeId` (this one included) that `deviceId` has pending deliveries. */
  ring(nodeId: string, deviceId: string): void {
    if (nodeId === this.#node.id) {
      void this.sendPending(deviceId);
      return;
    }
    this.#node.send(nodeId, { k: "ring", d: deviceId }).catch((error: unknown) =>
      // The reconcile pass rings again, and the device's next login sends it anyway.
      this.#host?.logger.warn({ deviceId, node: nodeId, error: String(error) }, "delivery doorbell not rung"),
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
      result = await this.finishRecord(deviceId, key, state, reason);
    } catch (error) {
      if (state === "timedOut") {
        // Redis away at the deadline: the next pass of any node expires it.
        waiting.timer = sharedTimerWheel().schedule(this.#options.reconcileMs, () => this.#expire(waiting));
      } else {
        this.#host?.logger.warn(
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

  /** Runs the FINISH script for one delivery. */
  finishRecord(deviceId: string, key: string, state: string, reason: string): Promise<string[]> {
    const k = this.#keys;
    return this.#redis.paynetFinish(
      k.presence(deviceId),
      k.delivery(deviceId, key),
      k.pending(deviceId),
      k.due(deviceId),
      k.outcomes(deviceId),
      "",
      key,
      state,
      reason,
      this.#node.id,
      state === "timedOut" ? 1 : 0,
      dueMember(deviceId, key),
      this.#options.outcomeRetentionMs,
      this.#options.maxOutcomes,
      deviceId,
    );
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
      this.#host?.logger.error(
        { deviceId: waiting.deviceId, key: waiting.key, error: String(error) },
        "recorded reply does not decode",
      );
      return;
    }
    waiting.yielded++;
    try {
      waiting.onReply?.(reply);
    } catch (error) {
      this.#host?.logger.error(
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

  // ---- the side of the node holding the device ---------------------------------------------

  resendAfterLogin(deviceId: string): () => Promise<void> {
    return () => this.sendPending(deviceId);
  }

  /**
   * Claims and sends the pending deliveries of `deviceId` on its session here, each at most once per
   * session epoch. Coalesced per device: a call during a pass runs one more pass after it.
   */
  async sendPending(deviceId: string): Promise<void> {
    const running = this.#passes.get(deviceId);
    if (running !== undefined) {
      running.again = true;
      return;
    }
    const pass = { again: false };
    this.#passes.set(deviceId, pass);
    try {
      do {
        pass.again = false;
        await this.#sendPass(deviceId);
      } while (pass.again);
    } finally {
      this.#passes.delete(deviceId);
    }
  }

  async #sendPass(deviceId: string): Promise<void> {
    const host = this.#host;
    const session = host?.localSession(deviceId);
    if (host === undefined || session === undefined) return;
    const epoch = this.#presence.epochOf(session);
    if (epoch === undefined) return;
    let claimed: Buffer[];
    try {
      claimed = await this.#redis.paynetClaimSendsBuffer(
        this.#keys.presence(deviceId),
        this.#keys.pending(deviceId),
        epoch,
        this.#keys.deliveryPrefix(deviceId),
      );
    } catch (error) {
      host.logger.warn({ deviceId, error: String(error) }, "pending deliveries not claimed; retried later");
      return;
    }
    if (claimed[0]?.toString() === "stale") {
      this.#presence.fenced(deviceId, session);
      return;
    }
    let sent = this.#sent.get(deviceId);
    if (sent?.session !== session) {
      sent = { session, keys: new Map() };
      this.#sent.set(deviceId, sent);
    }
    for (let i = 1; i + 4 < claimed.length; i += 5) {
      const key = claimed[i]!.toString();
      const type = Number(claimed[i + 1]!.toString());
      const payload = claimed[i + 2]!;
      sent.keys.set(key, Number(claimed[i + 3]!.toString()));
      if (Number(claimed[i + 4]!.toString()) > 0) this.#redelivered++;
      try {
        host.sendFrame(session, type, payload);
      } catch (error) {
        host.logger.warn(
          { deviceId, key, error: String(error) },
          "delivery not sent; kept pending for the next login",
        );
      }
    }
  }

  offer(deviceId: string, type: number, message: unknown, session: Session): boolean {
    const specs = this.#specs.byReply(type);
    if (specs === undefined) return false;
    const sent = this.#sent.get(deviceId);
    for (const spec of specs) {
      let key: string;
      try {
        key = spec.replyKey!(message);
      } catch (error) {
        this.#host?.logger.error({ deviceId, error: String(error) }, `replyKey of ${spec.reply.name} threw`);
        continue;
      }
      if (sent?.session === session && sent.keys.get(key) === type) {
        let final: boolean;
        try {
          final = isFinalReply(spec, message);
        } catch (error) {
          this.#host?.logger.error(
            { deviceId, key, error: String(error) },
            `isFinal of ${spec.reply.name} threw; taken as final`,
          );
          final = true;
        }
        if (final) {
          sent.keys.delete(key);
          this.#rememberEnded(idOf(deviceId, key), type);
        }
        this.#record(deviceId, key, session, spec, message, final);
        return true;
      }
      if (this.#ended.get(idOf(deviceId, key)) === type) return true;
    }
    return false;
  }

  /** Records one reply in Redis (fenced by the session's epoch) and forwards it to the caller's node. */
  #record(
    deviceId: string,
    key: string,
    session: Session,
    spec: ClusterSpec,
    message: unknown,
    final: boolean,
  ): void {
    const epoch = this.#presence.epochOf(session);
    const payload = Buffer.from(spec.reply.codec.encode(message));
    const k = this.#keys;
    this.#redis
      .paynetReply(
        k.presence(deviceId),
        k.delivery(deviceId, key),
        k.pending(deviceId),
        k.due(deviceId),
        k.outcomes(deviceId),
        epoch ?? -1,
        key,
        spec.reply.type,
        payload,
        final ? 1 : 0,
        this.#node.id,
        dueMember(deviceId, key),
        this.#options.outcomeRetentionMs,
        this.#options.maxOutcomes,
        deviceId,
      )
      .then(
        ([status, origin, state]) => {
          if (status === "stale") {
            this.#presence.fenced(deviceId, session);
            return;
          }
          if (status === "ended") {
            this.#host?.logger.warn(
              { deviceId, key, state: origin === undefined ? "" : state },
              "reply after the delivery ended; kept on its record",
            );
            return;
          }
          if (status !== "ok" || origin === undefined || origin === "") return;
          if (final) this.#outcomes.completed++;
          try {
            this.onRecorded({ deviceId, key, reply: message, final, origin });
          } catch (error) {
            this.#host?.logger.error(
              { deviceId, key, error: String(error) },
              "delivery reply listener threw",
            );
          }
          if (origin === this.#node.id) this.replied(deviceId, key, payload, final);
          else {
            this.#node.send(origin, { k: "drep", d: deviceId, key, fin: final }, payload).catch(() => {
              // The caller's reconcile pass reads the outcome from the record.
            });
          }
        },
        (error: unknown) =>
          // Not recorded: the delivery stays pending and is redelivered; the device answers from its record.
          this.#host?.logger.warn({ deviceId, key, error: String(error) }, "delivery reply not recorded"),
      );
  }

  #rememberEnded(id: string, type: number): void {
    this.#ended.delete(id);
    this.#ended.set(id, type);
    if (this.#ended.size > RECENTLY_ENDED) this.#ended.delete(this.#ended.keys().next().value as string);
  }

  replyDef(type: number): MessageDef<unknown> | undefined {
    return this.#specs.replyDef(type);
  }

  // ---- both sides ---------------------------------------------------------------------------

  /** The server stops: local iterators end with `error`; records stay for the other nodes. */
  failAll(error: PaynetError): void {
    for (const waiting of [...this.#waiting.values()]) this.#settle(waiting, error);
  }

  /**
   * The reconcile pass: expires due deliveries (any node's), and checks the deliveries this node
   * waits for against their records (an end whose message was lost; a send whose doorbell was lost).
   */
  async reconcile(): Promise<void> {
    if (!isReady(this.#redis)) return;
    await this.#sweep().catch(() => {});
    await this.#checkWaiting().catch(() => {});
    this.#pendingCount = await Promise.all(this.#keys.dueKeys().map((due) => this.#redis.zcard(due))).then(
      (counts) => counts.reduce((sum, n) => sum + n, 0),
      () => this.#pendingCount,
    );
  }

  async #sweep(): Promise<void> {
    for (const dueKey of this.#keys.dueKeys()) await this.#sweepShard(dueKey);
  }

  async #sweepShard(dueKey: string): Promise<void> {
    const due = await this.#redis.zrangebyscore(dueKey, "-inf", Date.now(), "LIMIT", 0, SWEEP_BATCH);
    for (const member of due) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(member);
      } catch {
        parsed = undefined;
      }
      if (!Array.isArray(parsed) || typeof parsed[0] !== "string" || typeof parsed[1] !== "string") {
        await this.#redis.zrem(dueKey, member);
        continue;
      }
      const [deviceId, key] = parsed as [string, string];
      const result = await this.finishRecord(deviceId, key, "timedOut", "deadline passed");
      if (result[0] !== "ok") continue;
      this.#outcomes.timedOut++;
      const origin = result[1] ?? "";
      if (origin === this.#node.id) this.ended(deviceId, key, "timedOut", "deadline passed");
      else if (origin !== "") {
        this.#node
          .send(origin, { k: "dend", d: deviceId, key, outcome: "timedOut", reason: "deadline passed" })
          .catch(() => {});
      }
    }
  }

  async #checkWaiting(): Promise<void> {
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
      else if (node && epoch !== null && Number(sent) < Number(epoch)) this.ring(node, waiting.deviceId);
    }
  }

  stats(): DeliveryStats {
    return {
      pending: this.#pendingCount,
      oldestAgeMs: 0,
      redelivered: this.#redelivered,
      completed: this.#outcomes.completed,
      timedOut: this.#outcomes.timedOut,
      outcomes: { ...this.#outcomes },
    };
  }
}
