/**
 * The side of cluster deliveries on the node holding the device: it claims the sends of the
 * device's pending deliveries for its session epoch (at most once per epoch, in Lua) and sends them;
 * it matches the device's replies by key and records each one, fenced by the epoch (a final one ends
 * the record as completed and appends the outcome), then forwards it to the node that called
 * `deliver()`. A claim or a record that Redis did not answer (Redis away, a connection lost) is
 * retried by the reconcile pass while the session lasts: a reply the device gave is not dropped,
 * and a command claimed but never answered is sent once Redis is back.
 */
import type { DeliveryOutcomes, MessageDef, Session } from "@paynet/runtime";
import type { ClusterHost } from "@paynet/runtime/cluster";
import type { DeliverySteps } from "./delivery-steps.js";
import { idOf } from "./delivery-waiters.js";
import type { ClusterNode } from "./node.js";
import type { ClusterSpec } from "./options.js";
import type { Presence } from "./presence.js";
import { isFinalReply, type SpecTable } from "./specs.js";

/** Ended deliveries remembered per node so late duplicate replies are absorbed. */
const RECENTLY_ENDED = 4_096;
/** Bound of the claims and replies waiting to be retried (Redis away for long). */
const MAX_RETRIES = 100_000;

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

/** Deliveries sent on one session of this node, by key → reply Type. */
interface SentOnSession {
  readonly session: Session;
  readonly keys: Map<string, number>;
}

/** A reply Redis did not take, to record again. */
interface UnrecordedReply {
  readonly deviceId: string;
  readonly key: string;
  readonly session: Session;
  readonly spec: ClusterSpec;
  readonly message: unknown;
  readonly final: boolean;
}

export class DeliverySends {
  readonly #steps: DeliverySteps;
  readonly #node: ClusterNode;
  readonly #presence: Presence;
  readonly #specs: SpecTable;
  readonly #outcomes: DeliveryOutcomes;
  /** A recorded reply of a delivery this node called `deliver()` for. */
  readonly #replied: (deviceId: string, key: string, payload: Uint8Array, final: boolean) => void;
  readonly #sent = new Map<string, SentOnSession>();
  readonly #ended = new Map<string, number>();
  readonly #passes = new Map<string, { again: boolean }>();
  /** Devices whose last claim got no answer: their next pass claims again what it marked sent. */
  readonly #unansweredClaims = new Set<string>();
  readonly #unrecorded = new Map<string, UnrecordedReply>();
  #host: ClusterHost | undefined;
  #redelivered = 0;
  /** Told of every reply this node recorded, once Redis has it (see `RedisCluster` "reply"). */
  onRecorded: (event: DeliveryReplyEvent) => void = () => {};

  constructor(deps: {
    steps: DeliverySteps;
    node: ClusterNode;
    presence: Presence;
    specs: SpecTable;
    outcomes: DeliveryOutcomes;
    replied: (deviceId: string, key: string, payload: Uint8Array, final: boolean) => void;
  }) {
    this.#steps = deps.steps;
    this.#node = deps.node;
    this.#presence = deps.presence;
    this.#specs = deps.specs;
    this.#outcomes = deps.outcomes;
    this.#replied = deps.replied;
    this.#presence.onRelease = (deviceId, session) => {
      if (this.#sent.get(deviceId)?.session === session) this.#sent.delete(deviceId);
    };
  }

  attach(host: ClusterHost): void {
    this.#host = host;
  }

  /** Deliveries re-sent in a later session epoch than their first send. */
  get redelivered(): number {
    return this.#redelivered;
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
    const again = this.#unansweredClaims.has(deviceId);
    if (!this.#steps.ready) {
      // Redis away or hung: not sent now; the reconcile pass claims once it is back.
      if (this.#unansweredClaims.size < MAX_RETRIES) this.#unansweredClaims.add(deviceId);
      return;
    }
    let claimed: Buffer[];
    try {
      claimed = await this.#steps.claimSends(deviceId, epoch, again);
    } catch (error) {
      // Maybe run, maybe not: the retry (reconcile pass) also takes what this claim marked sent.
      if (this.#unansweredClaims.size < MAX_RETRIES) this.#unansweredClaims.add(deviceId);
      host.logger.warn({ deviceId, error: String(error) }, "pending deliveries not claimed; retried later");
      return;
    }
    this.#unansweredClaims.delete(deviceId);
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
      // A claim again after an unanswered one: what this session did send is not sent twice.
      if (again && (sent.keys.has(key) || this.#ended.has(idOf(deviceId, key)))) continue;
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
        this.#record({ deviceId, key, session, spec, message, final });
        return true;
      }
      if (this.#ended.get(idOf(deviceId, key)) === type) return true;
    }
    return false;
  }

  replyDef(type: number): MessageDef<unknown> | undefined {
    return this.#specs.replyDef(type);
  }

  /** The reconcile pass: claims and records that got no answer from Redis, again. */
  retry(): void {
    for (const deviceId of [...this.#unansweredClaims].slice(0, 1_000)) void this.sendPending(deviceId);
    for (const [id, reply] of [...this.#unrecorded].slice(0, 1_000)) {
      this.#unrecorded.delete(id);
      // Only while its session lasts: a new session's epoch refuses it, and resends the command.
      if (reply.session.online) this.#record(reply);
    }
  }

  /** Records one reply in Redis (fenced by the session's epoch) and forwards it to the caller's node. */
  #record(reply: UnrecordedReply): void {
    const { deviceId, key, session, spec, message, final } = reply;
    if (!this.#steps.ready) {
      this.#recordLater(reply);
      return;
    }
    const epoch = this.#presence.epochOf(session);
    const payload = Buffer.from(spec.reply.codec.encode(message));
    this.#steps.reply(deviceId, key, epoch ?? -1, spec.reply.type, payload, final).then(
      ([status, origin, state]) => {
        // Answered: an earlier copy waiting for a retry is moot once the final one is in.
        if (final) this.#unrecorded.delete(idOf(deviceId, key));
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
          this.#host?.logger.error({ deviceId, key, error: String(error) }, "delivery reply listener threw");
        }
        if (origin === this.#node.id) this.#replied(deviceId, key, payload, final);
        else {
          this.#node.send(origin, { k: "drep", d: deviceId, key, fin: final }, payload).catch(() => {
            // The caller's reconcile pass reads the outcome from the record.
          });
        }
      },
      (error: unknown) => {
        this.#recordLater(reply);
        this.#host?.logger.warn(
          { deviceId, key, error: String(error) },
          "delivery reply not recorded; retried",
        );
      },
    );
  }

  /**
   * A reply not taken (or not answered) is recorded again by the reconcile pass; a later reply of
   * the same delivery replaces an earlier one, never a final one.
   */
  #recordLater(reply: UnrecordedReply): void {
    const id = idOf(reply.deviceId, reply.key);
    const waiting = this.#unrecorded.get(id);
    if (waiting?.final !== true && (waiting !== undefined || this.#unrecorded.size < MAX_RETRIES)) {
      this.#unrecorded.set(id, reply);
    }
  }

  #rememberEnded(id: string, type: number): void {
    this.#ended.delete(id);
    this.#ended.set(id, type);
    if (this.#ended.size > RECENTLY_ENDED) this.#ended.delete(this.#ended.keys().next().value as string);
  }
}
