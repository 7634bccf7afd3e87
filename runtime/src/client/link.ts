import type { TLSSocket } from "node:tls";
import type { RequestOptions, RequestSpec } from "../codec.js";
import { FrameConnection } from "../connection.js";
import { ReplyRouter, type ReplyWaiter } from "../delivery/replies.js";
import { encodeFailure, HandshakeFailedError, PaynetError } from "../errors.js";
import type { FrameOptions } from "../frame/options.js";
import type { TrafficStats } from "../stats.js";
import type { TimerWheel } from "../timers.js";

/** How long `stop()` lets queued frames flush before the socket is destroyed. */
const CLIENT_CLOSE_TIMEOUT_MS = 2_000;

/** Settings shared by every link of one client. */
export interface LinkSettings extends FrameOptions {
  readonly peer: string;
  readonly wheel: TimerWheel;
  readonly stats: TrafficStats;
}

/**
 * One TLS connection of the client and what lives exactly as long as it: the framed connection and
 * the router of replies to requests sent on it. When it ends, those requests fail with the reason.
 */
export class ClientLink {
  readonly connection: FrameConnection;
  readonly router: ReplyRouter;
  readonly resumed: boolean;
  readonly peer: string;
  /** Resolves with the reason once the connection has ended. */
  readonly closed: Promise<PaynetError>;
  #ended = false;
  /** Why the server said it closes this connection (a close notice), reported as the close reason. */
  #notice: PaynetError | undefined;
  #framesIn = false;

  constructor(
    socket: TLSSocket,
    resumed: boolean,
    settings: LinkSettings,
    onFrame: (link: ClientLink, type: number, payload: Buffer) => void,
  ) {
    this.peer = settings.peer;
    this.resumed = resumed;
    this.router = new ReplyRouter({ wheel: settings.wheel, peer: () => this.peer });
    let resolveClosed!: (reason: PaynetError) => void;
    this.closed = new Promise((resolve) => {
      resolveClosed = resolve;
    });
    const options = {
      peer: settings.peer,
      wheel: settings.wheel,
      stats: settings.stats,
      closeTimeoutMs: CLIENT_CLOSE_TIMEOUT_MS,
      ...(settings.maxFrame === undefined ? {} : { maxFrame: settings.maxFrame }),
      ...(settings.lengthMode === undefined ? {} : { lengthMode: settings.lengthMode }),
      ...(settings.outboundQueue === undefined ? {} : { outboundQueue: settings.outboundQueue }),
    };
    this.connection = new FrameConnection(socket, options, {
      onFrame: (type, payload) => {
        this.#framesIn = true;
        onFrame(this, type, payload);
      },
      onClose: (reason) => {
        this.#ended = true;
        const typed = this.#notice ?? tlsAlertAsHandshakeFailure(reason);
        this.router.failAll(typed);
        resolveClosed(typed);
      },
    });
  }

  /**
   * The server announced why it closes this connection (e.g. `SERVER_DRAINING`): the end of the
   * connection, however the socket goes down, is reported with this reason.
   */
  noteCloseNotice(reason: PaynetError): void {
    this.#notice ??= reason;
  }

  /**
   * Whether the server sent any frame on this connection. A resumed connection the server ends
   * before its first frame was most likely refused after the handshake (its certificate no longer
   * passes the server's current trust), so its TLS ticket is not worth offering again.
   */
  get receivedFrame(): boolean {
    return this.#framesIn;
  }

  /** True once the connection ended or is closing. */
  get isClosed(): boolean {
    return this.#ended || this.connection.closed;
  }

  /** Queues one frame; throws `QueueFullError` / `ConnectionClosedError` / `FrameTooLargeError`. */
  write(type: number, payload: Uint8Array): void {
    this.connection.send(type, payload);
  }

  /** Sends a request on this connection and returns the waiter of its reply. */
  request<Req, Rep>(
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options: RequestOptions<Rep> = {},
  ): ReplyWaiter<Rep> {
    let key: string | undefined;
    let payload: Uint8Array;
    try {
      key = spec.requestKey?.(message);
      payload = spec.request.codec.encode(message);
    } catch (error) {
      const waiter = this.router.expect(spec as RequestSpec<unknown, Rep>, undefined, {
        ...options,
        timeoutMs: Number.POSITIVE_INFINITY,
      });
      waiter.cancel(encodeFailure(spec.request.name, error, { peer: this.peer }));
      return waiter;
    }
    const waiter = this.router.expect(spec as RequestSpec<unknown, Rep>, key, options);
    try {
      this.write(spec.request.type, payload);
    } catch (error) {
      waiter.cancel(
        error instanceof PaynetError ? error : encodeFailure(spec.request.name, error, { peer: this.peer }),
      );
    }
    return waiter;
  }

  /** Graceful close: queued frames are flushed first. */
  close(reason: PaynetError): void {
    this.connection.close(reason);
  }

  /** Immediate close. */
  destroy(reason: PaynetError): void {
    this.connection.destroy(reason);
  }
}

/**
 * In TLS 1.3 the client finishes its handshake before the server has checked the client
 * certificate, so a refused certificate shows up as an alert on the open connection. Reporting it as
 * a handshake failure tells the operator what actually went wrong.
 */
function tlsAlertAsHandshakeFailure(reason: PaynetError): PaynetError {
  const cause = (reason as { cause?: unknown }).cause as NodeJS.ErrnoException | undefined;
  if (cause?.code?.startsWith("ERR_SSL_")) {
    return new HandshakeFailedError(cause.message, { ...(reason.peer ? { peer: reason.peer } : {}), cause });
  }
  return reason;
}
