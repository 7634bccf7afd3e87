/** Reading delivery records and turning a recorded end into the error a waiter ends with. */
import {
  AbortedError,
  ClusterUnavailableError,
  type PaynetError,
  RequestTimeoutError,
} from "@paynet/runtime";
import type { ClusterRedis } from "./connection.js";
import type { ClusterKeys } from "./keys.js";

/** How a delivery ended. */
export type EndState = "completed" | "timedOut" | "aborted" | "cancelled" | "failed";

/** A delivery record as stored (see `CREATE`/`REPLY`/`FINISH` in scripts.ts). */
export interface DeliveryRecord {
  readonly deviceId: string;
  readonly key: string;
  /** `pending` until it ended. */
  readonly state: "pending" | EndState;
  /** Request Type and its encoded payload. */
  readonly type: number;
  readonly payload: Uint8Array;
  readonly replyType: number;
  /** Redis clock, epoch ms. */
  readonly createdAt: number;
  readonly deadline: number;
  /** Node that called `deliver()`. */
  readonly origin: string;
  /** Sends so far (one per session epoch at most). */
  readonly attempts: number;
  /** Replies recorded. */
  readonly replies: number;
  /** The last reply recorded (the final one, once completed). */
  readonly lastReply: Uint8Array | undefined;
  /** When and by which node it ended, and why (for ends other than completion). */
  readonly endedAt: number | undefined;
  readonly endedBy: string | undefined;
  readonly reason: string | undefined;
  /** Replies that arrived after it ended (kept, not applied). */
  readonly lateReplies: number;
}

const FIELDS = [
  "state",
  "type",
  "payload",
  "rtype",
  "created",
  "deadline",
  "origin",
  "attempts",
  "replies",
  "last",
  "ended",
  "by",
  "reason",
  "late",
] as const;

/** The record of one delivery, or `undefined` when there is none (never created, or past retention). */
export async function readRecord(
  redis: ClusterRedis,
  keys: ClusterKeys,
  deviceId: string,
  key: string,
): Promise<DeliveryRecord | undefined> {
  const values = await redis.hmgetBuffer(keys.delivery(deviceId, key), ...FIELDS);
  const text = (i: number) => values[i]?.toString();
  const state = text(0);
  if (state === undefined) return undefined;
  const optional = (i: number) => {
    const value = text(i);
    return value === undefined || value === "" ? undefined : value;
  };
  return {
    deviceId,
    key,
    state: state as DeliveryRecord["state"],
    type: Number(text(1)),
    payload: values[2] ?? new Uint8Array(0),
    replyType: Number(text(3)),
    createdAt: Number(text(4)),
    deadline: Number(text(5)),
    origin: text(6) ?? "",
    attempts: Number(text(7) ?? 0),
    replies: Number(text(8) ?? 0),
    lastReply:
      values[9] === null || values[9] === undefined || values[9].length === 0 ? undefined : values[9],
    endedAt: optional(10) === undefined ? undefined : Number(text(10)),
    endedBy: optional(11),
    reason: optional(12),
    lateReplies: Number(text(13) ?? 0),
  };
}

/** The error a waiter of a delivery that ended with `state` fails with. */
export function endError(
  state: EndState,
  reason: string | undefined,
  waiting: {
    readonly deviceId: string;
    readonly deadlineMs: number;
    readonly spec: { readonly request: { readonly name: string } };
  },
): PaynetError {
  const context = { peer: `device ${waiting.deviceId}`, messageName: waiting.spec.request.name };
  if (state === "timedOut") return new RequestTimeoutError(waiting.deadlineMs, context);
  if (state === "aborted") return new AbortedError(context);
  return new ClusterUnavailableError(`delivery ended: ${state}${reason ? ` (${reason})` : ""}`, context);
}
