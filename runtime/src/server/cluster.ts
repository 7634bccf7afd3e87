/**
 * The seam through which several server processes act as one server (`ServerOptions.cluster`).
 * `@paynet/cluster` fills it with Redis; without it the server keeps everything in its process.
 *
 * A cluster takes over three things from the server: the session directory (presence: which node
 * holds which device, with login epochs), the delivery engine (at-least-once deliveries shared by
 * every node) and the pushes (`send`/`request`/`stream`) to devices connected to other nodes. The
 * server keeps its sessions, sockets and dispatch; the cluster reaches them through {@link ClusterHost}.
 */
import type { DeliveryOptions, MessageDef, RequestOptions, RequestSpec } from "../codec.js";
import type { DeliveryStats } from "../delivery/types.js";
import type { PaynetError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { SessionDirectory } from "./directory.js";
import type { Session } from "./types.js";

/**
 * The at-least-once delivery engine of a server: the in-process `DeliveryManager` by default, a
 * cluster's shared one with `ServerOptions.cluster`.
 */
export interface DeliveryEngine {
  /** See `PaynetServer.deliver`. */
  deliver<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: DeliveryOptions<Rep>,
  ): AsyncIterable<Rep>;
  /**
   * A decoded inbound message of `session`, logged in as `deviceId`: true when it answered a
   * delivery (or duplicates the final reply of one that ended) and must not reach a handler.
   */
  offer(deviceId: string, type: number, message: unknown, session: Session): boolean;
  /** The reply definition of a Type deliveries are answered with, to decode unregistered reply Types. */
  replyDef(type: number): MessageDef<unknown> | undefined;
  /** `session` logged in as `deviceId`: the re-send of its pending deliveries, run once its login is answered. */
  resendAfterLogin(deviceId: string, session: Session): () => Promise<void>;
  /**
   * The server stops or drains: every local waiter ends with `error`; the records stay in the store
   * (another node, or the next run of a persistent store, delivers them).
   */
  failAll(error: PaynetError): void;
  stats(): DeliveryStats;
}

/** What a cluster may do with the server it serves. */
export interface ClusterHost {
  readonly logger: Logger;
  /** The online (logged-in, not closed) session of `deviceId` on this server, if any. */
  localSession(deviceId: string): Session | undefined;
  /**
   * Queues one encoded frame to a session of this server. Throws `NotConnectedError` when it is
   * closed and `QueueFullError` when its peer does not read (the session is then closed).
   */
  sendFrame(session: Session, type: number, payload: Uint8Array): void;
  /**
   * Closes a session of this server with a typed offline reason: the peer is told it first (the
   * protocol's error message, when the server has one), then its queued frames are flushed.
   */
  closeSession(session: Session, reason: PaynetError): void;
  /** Reports an error as the server's `error` event. */
  report(error: PaynetError, session: Session | undefined): void;
}

/**
 * A cluster plug-in. Its `directory.bind` claims the device cluster-wide (closing the session that
 * held it on any node with `SESSION_REPLACED`); when the claim fails (e.g. `ClusterUnavailableError`)
 * the session is closed with that error, so the device retries its login later.
 */
export interface ServerCluster {
  /** Joins the cluster; `start()` calls it before listening and fails when it rejects. */
  start(host: ClusterHost): Promise<void>;
  /**
   * Leaves the cluster; `stop()`/`drain()` call it once the sessions are closed. Pending deliveries
   * stay in the shared store for the node the device connects to next.
   */
  stop(): Promise<void>;
  /** Presence: device id → session, claimed cluster-wide. `lookup` answers for this server's sessions. */
  readonly directory: SessionDirectory;
  readonly deliveries: DeliveryEngine;
  /** Sends to a device that is not online on this server (it may be on another node). */
  send<T>(deviceId: string, def: MessageDef<T>, message: T): Promise<void>;
  /** Request → first final reply, to a device that is not online on this server. */
  request<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: RequestOptions<Rep>,
  ): Promise<Rep>;
  /** Request → every reply until a final one, to a device that is not online on this server. */
  stream<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: RequestOptions<Rep>,
  ): AsyncIterable<Rep>;
  /**
   * Optional cluster-wide idempotency of correlated uplink requests (registrations with an
   * `idempotencyKey`): `claim` answers whether this node runs the handler, `finish` records its reply.
   */
  readonly uplink?: UplinkIdempotency;
}

/** What the server does with a correlated uplink request (see {@link UplinkIdempotency.claim}). */
export type UplinkDecision =
  /** First sighting cluster-wide: run the handler, then `finish`. */
  | { readonly kind: "execute" }
  /** Seen before: do not run; answer with the recorded reply (if any). */
  | { readonly kind: "duplicate"; readonly reply: { type: number; payload: Uint8Array } | undefined }
  /** Another node (or an earlier request on this one) is still running it: drop this copy. */
  | { readonly kind: "running" };

/** Server-side idempotency of uplink requests across the cluster. Keys are namespaced by the caller. */
export interface UplinkIdempotency {
  claim(key: string): Promise<UplinkDecision>;
  /** Records the handler's reply (`undefined`: none) so that duplicates get it; `failed`: it threw. */
  finish(
    key: string,
    reply: { type: number; payload: Uint8Array } | undefined,
    failed?: string,
  ): Promise<void>;
}
