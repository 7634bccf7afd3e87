/**
 * Cross-node `send` / `request` / `stream`: the caller finds the node holding the device (presence
 * plus lease), appends the push to that node's inbox and waits for its answer in its own inbox: an
 * `ack` for a send (queued on the session, or why not), `rep`s and an `err` for a request. Nothing
 * here is durable: a push to a node that dies is answered by the caller's timeout. Durable pushes
 * are deliveries.
 */
import {
  AbortedError,
  ClusterUnavailableError,
  type MessageDef,
  NotConnectedError,
  PaynetError,
  type PaynetErrorCode,
  type RequestOptions,
  type RequestSpec,
  RequestTimeoutError,
} from "@paynet/runtime";
import { type ClusterHost, ReplyQueue, sharedTimerWheel, type WheelTimer } from "@paynet/runtime/cluster";
import { unavailable } from "./connection.js";
import { encodeMessage } from "./encode.js";
import type { ClusterNode, InboxMessage } from "./node.js";
import type { ClusterSpec, ResolvedClusterOptions } from "./options.js";
import type { Presence } from "./presence.js";
import { isFinalReply, type SpecTable } from "./specs.js";

/** Default timeout of a request (as without a cluster). */
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

interface PendingAck {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: WheelTimer;
  readonly deviceId: string;
}

interface RemoteRequest {
  readonly deviceId: string;
  readonly node: string;
  readonly spec: ClusterSpec;
  readonly queue: ReplyQueue<unknown>;
  readonly isFinal: ((reply: unknown) => boolean) | undefined;
  timer: WheelTimer | undefined;
  detachSignal: (() => void) | undefined;
}

/** Pushes to devices on other nodes, and this node's side of the pushes other nodes make. */
export class RemotePush {
  readonly #node: ClusterNode;
  readonly #presence: Presence;
  readonly #specs: SpecTable;
  readonly #options: ResolvedClusterOptions;
  readonly #acks = new Map<string, PendingAck>();
  readonly #requests = new Map<string, RemoteRequest>();
  /** Requests this node runs for other nodes, by id: aborting one stops waiting for its replies. */
  readonly #serving = new Map<string, AbortController>();
  #host: ClusterHost | undefined;
  #seq = 0;

  constructor(deps: {
    node: ClusterNode;
    presence: Presence;
    specs: SpecTable;
    options: ResolvedClusterOptions;
  }) {
    this.#node = deps.node;
    this.#presence = deps.presence;
    this.#specs = deps.specs;
    this.#options = deps.options;
  }

  attach(host: ClusterHost): void {
    this.#host = host;
  }

  /** Ends every waiter (the node leaves the cluster). */
  detach(error: PaynetError): void {
    for (const [id, ack] of [...this.#acks]) {
      this.#acks.delete(id);
      ack.timer.cancel();
      ack.reject(error);
    }
    for (const request of [...this.#requests.values()]) this.#end(request, error);
    for (const controller of this.#serving.values()) controller.abort();
  }

  #nextId(): string {
    return `${this.#node.id}/${++this.#seq}`;
  }

  /** Where `deviceId` is online, on another node; rejects with `NotConnectedError` when nowhere. */
  async #locate(deviceId: string): Promise<string> {
    const location = await this.#presence.locate(deviceId);
    if (location === undefined || location.node === this.#node.id) {
      throw new NotConnectedError(`device ${deviceId} is not online on any node`, {
        peer: `device ${deviceId}`,
      });
    }
    return location.node;
  }

  // ---- the caller's side ------------------------------------------------------------------

  async send<T>(deviceId: string, def: MessageDef<T>, message: T): Promise<void> {
    const peer = `device ${deviceId}`;
    const payload = encodeMessage(def, message, peer);
    const node = await this.#locate(deviceId);
    const id = this.#nextId();
    const acked = new Promise<void>((resolve, reject) => {
      const timer = sharedTimerWheel().schedule(this.#options.pushTimeoutMs, () => {
        this.#acks.delete(id);
        reject(
          new ClusterUnavailableError(
            `node ${node} did not confirm the push within ${this.#options.pushTimeoutMs} ms`,
            { peer, messageName: def.name },
          ),
        );
      });
      this.#acks.set(id, { resolve, reject, timer, deviceId });
    });
    try {
      await this.#node.send(node, { k: "push", d: deviceId, id, from: this.#node.id, t: def.type }, payload);
    } catch (error) {
      const ack = this.#acks.get(id);
      this.#acks.delete(id);
      ack?.timer.cancel();
      throw unavailable(`push to ${deviceId}`, error);
    }
    return acked;
  }

  async request<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: RequestOptions<Rep>,
  ): Promise<Rep> {
    let last: Rep | undefined;
    let any = false;
    for await (const reply of this.stream(deviceId, spec, message, options)) {
      last = reply;
      any = true;
    }
    if (!any)
      throw new ClusterUnavailableError(`request to ${deviceId} ended without a reply`, {
        peer: `device ${deviceId}`,
      });
    return last as Rep;
  }

  stream<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options: RequestOptions<Rep> = {},
  ): AsyncIterable<Rep> {
    const listed = this.#specs.require(spec, "request()/stream()");
    const peer = `device ${deviceId}`;
    const id = this.#nextId();
    let request: RemoteRequest | undefined;
    const queue = new ReplyQueue<unknown>(() => {
      if (request !== undefined) this.#end(request, undefined, id);
    });
    let payload: Uint8Array;
    try {
      payload = encodeMessage(spec.request, message, peer);
    } catch (error) {
      queue.fail(error as Error);
      return queue as AsyncIterable<Rep>;
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const isFinal = options.isFinal as ((reply: unknown) => boolean) | undefined;
    const context = { peer, messageName: spec.reply.name };
    this.#locate(deviceId).then(
      (node) => {
        if (queue.closed) return;
        request = { deviceId, node, spec: listed, queue, isFinal, timer: undefined, detachSignal: undefined };
        this.#requests.set(id, request);
        const started = request;
        started.timer = sharedTimerWheel().schedule(timeoutMs, () =>
          this.#end(started, new RequestTimeoutError(timeoutMs, context), id),
        );
        const signal = options.signal;
        if (signal !== undefined) {
          if (signal.aborted) {
            this.#end(started, new AbortedError(context), id);
            return;
          }
          const onAbort = () => this.#end(started, new AbortedError(context), id);
          signal.addEventListener("abort", onAbort, { once: true });
          started.detachSignal = () => signal.removeEventListener("abort", onAbort);
        }
        const ask: InboxMessage = {
          k: "req",
          d: deviceId,
          id,
          from: this.#node.id,
          t: spec.request.type,
          ms: timeoutMs,
          fin: isFinal === undefined ? "spec" : "caller",
        };
        this.#node
          .send(node, ask, payload)
          .catch((error: unknown) => this.#end(started, unavailable(`request to ${deviceId}`, error)));
      },
      (error: unknown) => queue.fail(unavailable(`request to ${deviceId}`, error)),
    );
    return queue as AsyncIterable<Rep>;
  }

  /** Ends a request of this node: with `error`, normally (undefined), and tells its node when `cancelId`. */
  #end(request: RemoteRequest, error: Error | undefined, cancelId?: string): void {
    for (const [id, known] of this.#requests) {
      if (known !== request) continue;
      this.#requests.delete(id);
      request.timer?.cancel();
      request.detachSignal?.();
      if (error === undefined) request.queue.end();
      else request.queue.fail(error);
      if (cancelId !== undefined)
        this.#node.send(request.node, { k: "cancel", id: cancelId }).catch(() => {});
      return;
    }
  }

  // ---- inbox messages ---------------------------------------------------------------------

  /** Handles the inbox messages of pushes; false for other kinds. */
  handle(message: InboxMessage, payload: Buffer): boolean {
    switch (message.k) {
      case "push":
        this.#push(message, payload);
        return true;
      case "ack":
        this.#acked(message);
        return true;
      case "req":
        this.#serve(message, payload);
        return true;
      case "cancel":
        this.#serving.get(message.id)?.abort();
        return true;
      case "rep":
        this.#reply(message, payload);
        return true;
      case "err": {
        const request = this.#requests.get(message.id);
        if (request !== undefined)
          this.#end(request, remoteError(message.code, message.msg, request.deviceId));
        return true;
      }
      default:
        return false;
    }
  }

  #push(message: Extract<InboxMessage, { k: "push" }>, payload: Buffer): void {
    const session = this.#host?.localSession(message.d);
    let answer: InboxMessage = { k: "ack", id: message.id };
    if (session === undefined || this.#presence.epochOf(session) === undefined) {
      answer = {
        k: "ack",
        id: message.id,
        code: "NOT_CONNECTED",
        msg: `device ${message.d} is not online on node ${this.#node.id}`,
      };
    } else {
      try {
        this.#host!.sendFrame(session, message.t, payload);
      } catch (error) {
        const code = error instanceof PaynetError ? error.code : "NOT_CONNECTED";
        answer = {
          k: "ack",
          id: message.id,
          code,
          msg: error instanceof Error ? error.message : String(error),
        };
      }
    }
    this.#node.send(message.from, answer).catch(() => {});
  }

  #acked(message: Extract<InboxMessage, { k: "ack" }>): void {
    const ack = this.#acks.get(message.id);
    if (ack === undefined) return;
    this.#acks.delete(message.id);
    ack.timer.cancel();
    if (message.code === undefined) ack.resolve();
    else ack.reject(remoteError(message.code, message.msg ?? "", ack.deviceId));
  }

  /** A request of another node to a device of this node: run it and forward every reply. */
  #serve(message: Extract<InboxMessage, { k: "req" }>, payload: Buffer): void {
    const fail = (code: string, msg: string) =>
      void this.#node.send(message.from, { k: "err", id: message.id, code, msg }).catch(() => {});
    const spec = this.#specs.byRequest(message.t);
    const session = this.#host?.localSession(message.d);
    if (spec === undefined) {
      fail(
        "INVALID_OPTIONS",
        `request Type ${message.t} is not among the cluster's specs on node ${this.#node.id}`,
      );
      return;
    }
    if (session === undefined) {
      fail("NOT_CONNECTED", `device ${message.d} is not online on node ${this.#node.id}`);
      return;
    }
    let request: unknown;
    try {
      request = spec.request.codec.decode(payload);
    } catch (error) {
      fail("DECODE_ERROR", `cannot decode ${spec.request.name}: ${String(error)}`);
      return;
    }
    const controller = new AbortController();
    this.#serving.set(message.id, controller);
    const byCaller = message.fin === "caller";
    const replies = session.stream(spec, request, {
      timeoutMs: message.ms,
      signal: controller.signal,
      isFinal: byCaller ? () => false : (reply: unknown) => isFinalReply(spec, reply),
    });
    void (async () => {
      try {
        for await (const reply of replies) {
          const fin = !byCaller && isFinalReply(spec, reply);
          await this.#node.send(
            message.from,
            { k: "rep", id: message.id, fin },
            spec.reply.codec.encode(reply),
          );
        }
      } catch (error) {
        if (!controller.signal.aborted) {
          fail(
            error instanceof PaynetError ? error.code : "HANDLER_ERROR",
            error instanceof Error ? error.message : String(error),
          );
        }
      } finally {
        this.#serving.delete(message.id);
      }
    })();
  }

  #reply(message: Extract<InboxMessage, { k: "rep" }>, payload: Buffer): void {
    const request = this.#requests.get(message.id);
    if (request === undefined) return;
    let reply: unknown;
    try {
      reply = request.spec.reply.codec.decode(payload);
    } catch (error) {
      this.#end(request, remoteError("DECODE_ERROR", String(error), request.deviceId), message.id);
      return;
    }
    request.queue.push(reply);
    if (request.isFinal === undefined) {
      if (message.fin) this.#end(request, undefined);
      return;
    }
    let final: boolean;
    try {
      final = request.isFinal(reply);
    } catch {
      final = true;
    }
    if (final) this.#end(request, undefined, message.id);
  }
}

/** The typed error of a failure reported by another node, with its code kept. */
function remoteError(code: string, message: string, deviceId: string): PaynetError {
  const peer = `device ${deviceId}`;
  if (code === "NOT_CONNECTED") return new NotConnectedError(message, { peer });
  return new PaynetError(code as PaynetErrorCode, message, { peer });
}
