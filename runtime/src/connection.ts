/**
 * One framed connection over a socket: decodes inbound frames, enforces the read timeout, coalesces
 * and backpressures outbound frames, and reports the end of the connection exactly once with a
 * typed reason. Server sessions and the device client both sit on top of it.
 */
import { performance } from "node:perf_hooks";
import type { Duplex } from "node:stream";
import type { MessageDef } from "./codec.js";
import {
  ConnectionClosedError,
  encodeFailure,
  HandlerError,
  InvalidOptionsError,
  PaynetError,
  ReadTimeoutError,
} from "./errors.js";
import { FrameDecoder } from "./frame/decoder.js";
import { FRAME_HEADER_SIZE } from "./frame/encoder.js";
import {
  DEFAULT_MAX_FRAME,
  DEFAULT_OUTBOUND_MAX_BYTES,
  DEFAULT_OUTBOUND_MAX_FRAMES,
  type FrameOptions,
} from "./frame/options.js";
import { OutboundBatch } from "./frame/outbound-batch.js";
import type { TrafficStats } from "./stats.js";
import { sharedTimerWheel, type TimerWheel, type WheelTimer } from "./timers.js";

/** Options of a {@link FrameConnection}. */
export interface FrameConnectionOptions extends FrameOptions {
  /** Names the remote side in errors (`host:port`, later with the device id). */
  peer: string;
  /** Destroy the connection with `ReadTimeoutError` when no complete frame arrives for this long. 0/undefined: off. */
  readTimeoutMs?: number;
  /** After `close()`, destroy the socket if the queued frames are not flushed within this long. Default 10 000 ms. */
  closeTimeoutMs?: number;
  /** Wheel for the read and close timeouts. Default {@link sharedTimerWheel}. */
  wheel?: TimerWheel;
  /** Where frames and bytes in/out are counted (outbound ones when `send()` accepts them). Default: not counted. */
  stats?: TrafficStats;
  /**
   * A lower limit for inbound frames than `maxFrame` from the start (a server's `preLogin.maxFrame`
   * until login), with the option named in `FrameTooLargeError`; see {@link FrameConnection.limitInbound}.
   */
  inboundLimit?: { maxFrame: number; option: string };
}

/** Callbacks of a {@link FrameConnection}: `onClose`, and `onFrame` or `onFrameAt`. */
export interface FrameConnectionHandlers {
  /**
   * One complete inbound frame. `payload` may be a view into the socket's chunk. An exception thrown
   * here destroys the connection with a `HandlerError`; isolate user code before it gets here.
   */
  onFrame?(type: number, payload: Buffer): void;
  /**
   * The allocation-free form of `onFrame` (no view per frame): the payload is `buffer[start, end)`,
   * valid only during the call. When present it is used instead of `onFrame`. Same rules.
   */
  onFrameAt?(type: number, buffer: Buffer, start: number, end: number): void;
  /** The connection ended; called exactly once, with why. */
  onClose(reason: PaynetError): void;
}

/** Default time `close()` waits for queued frames to be flushed. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

/**
 * A `Len | Type | payload` framed connection over one socket (a `tls.TLSSocket` in practice).
 *
 * Writes: frames sent in the same event-loop turn go to the socket in one `socket.write`, bounded
 * while the socket is backpressured (see `frame/outbound-batch.ts`); a frame that would exceed the
 * bound is refused with `QueueFullError` at `send()` (never silent growth or drop).
 *
 * Reads: protocol violations (oversize Len, Len 0), the read timeout, the peer closing and socket
 * errors end the connection; `onClose` receives the typed reason.
 */
export class FrameConnection {
  readonly #socket: Duplex;
  readonly #handlers: FrameConnectionHandlers;
  readonly #decoder: FrameDecoder;
  readonly #outbound: OutboundBatch;
  readonly #readTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  readonly #wheel: TimerWheel;
  readonly #stats: TrafficStats | undefined;

  #peer: string;
  /** Monotonic time of the last byte read, for dead-peer timing (immune to clock changes). */
  #lastByteMono: number;
  /** Monotonic time of the last inbound frame, for the read timeout (immune to clock changes). */
  #lastFrameMono: number;
  #readTimer: WheelTimer | undefined;
  #closeTimer: WheelTimer | undefined;

  /** `close()` was called: no more sends, flush then end. */
  #closing: PaynetError | undefined;
  /** `onClose` has been called. */
  #finished = false;

  constructor(socket: Duplex, options: FrameConnectionOptions, handlers: FrameConnectionHandlers) {
    this.#socket = socket;
    this.#handlers = handlers;
    this.#peer = options.peer;
    const lengthMode = options.lengthMode ?? "type+payload";
    const maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
    const limits = {
      lengthMode,
      maxFrame,
      maxQueuedFrames: positiveInteger(
        "outboundQueue.maxFrames",
        options.outboundQueue?.maxFrames,
        DEFAULT_OUTBOUND_MAX_FRAMES,
      ),
      maxQueuedBytes: positiveInteger(
        "outboundQueue.maxBytes",
        options.outboundQueue?.maxBytes,
        DEFAULT_OUTBOUND_MAX_BYTES,
      ),
    };
    this.#readTimeoutMs = nonNegative("readTimeoutMs", options.readTimeoutMs, 0);
    this.#closeTimeoutMs = nonNegative("closeTimeoutMs", options.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS);
    this.#wheel = options.wheel ?? sharedTimerWheel();
    this.#stats = options.stats;
    this.#outbound = new OutboundBatch(socket, limits, options.stats, () => this.#endIfFlushed());
    const decoderOptions = { maxFrame, lengthMode, peer: this.#peer };
    if (handlers.onFrameAt !== undefined) {
      this.#decoder = new FrameDecoder({
        ...decoderOptions,
        onFrameAt: (type, buffer, start, end) => this.#onFrameAt(type, buffer, start, end),
      });
    } else if (handlers.onFrame !== undefined) {
      this.#decoder = new FrameDecoder({
        ...decoderOptions,
        onFrame: (type, payload) => this.#onFrame(type, payload),
      });
    } else {
      throw new InvalidOptionsError("handlers", "expected onFrame or onFrameAt");
    }
    if (options.inboundLimit !== undefined) {
      this.#decoder.setLimit(options.inboundLimit.maxFrame, options.inboundLimit.option);
    }

    this.#lastFrameMono = performance.now();
    this.#lastByteMono = this.#lastFrameMono;

    // We coalesce frames ourselves; Nagle would only add latency on top.
    (socket as { setNoDelay?: (noDelay: boolean) => void }).setNoDelay?.(true);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    // One closure for both ends (a server holds one connection per device: every closure counts).
    const gone = () => this.#onPeerGone();
    socket.on("end", gone);
    socket.on("close", gone);
    socket.on("error", (error: Error) => this.#onSocketError(error));

    if (this.#readTimeoutMs > 0) {
      this.#readTimer = this.#wheel.schedule(this.#readTimeoutMs, () => this.#checkReadTimeout());
    }
    if (socket.destroyed) {
      // Report asynchronously: the caller does not hold the instance yet.
      queueMicrotask(() =>
        this.#finish(new ConnectionClosedError("socket already closed", { peer: this.#peer })),
      );
    }
  }

  /** The underlying socket (for TLS details such as the peer certificate or `isSessionReused()`). */
  get socket(): Duplex {
    return this.#socket;
  }

  /** Names the remote side in errors; settable (the server appends the device id after login). */
  get peer(): string {
    return this.#peer;
  }

  set peer(peer: string) {
    this.#peer = peer;
    this.#decoder.peer = peer;
  }

  /**
   * Sets the largest inbound Len accepted from the next frame header on; `option` is named in the
   * `FrameTooLargeError` that closes the connection. Outbound frames stay bounded by `maxFrame`.
   */
  limitInbound(maxFrame: number, option = "maxFrame"): void {
    this.#decoder.setLimit(maxFrame, option);
  }

  /**
   * Epoch ms of the last byte read (construction time before the first byte), for display and
   * logs: derived from {@link lastByteMonotonic} (`performance.timeOrigin` + it), so it does not
   * jump when the system clock is set (NTP on 4G attach). Measure idle time with the monotonic one.
   */
  get lastByteAt(): number {
    return performance.timeOrigin + this.#lastByteMono;
  }

  /**
   * `performance.now()` ms of the last byte read (construction time before the first byte). Only
   * meaningful relative to another `performance.now()` reading; immune to wall-clock changes, so
   * dead-peer detection uses it.
   */
  get lastByteMonotonic(): number {
    return this.#lastByteMono;
  }

  /** Epoch ms of the last complete inbound frame (construction time before the first frame), like {@link lastByteAt}. */
  get lastFrameAt(): number {
    return performance.timeOrigin + this.#lastFrameMono;
  }

  /** True once `close()` or `destroy()` was called or the connection ended; `send()` then throws. */
  get closed(): boolean {
    return this.#closing !== undefined || this.#finished;
  }

  /** Frames accepted by `send()` and not yet written to the socket. */
  get queuedFrames(): number {
    return this.#outbound.frames;
  }

  /** Wire bytes of {@link queuedFrames}. */
  get queuedBytes(): number {
    return this.#outbound.bytes;
  }

  /** True while the socket reports backpressure (waiting for `'drain'`). */
  get backpressured(): boolean {
    return this.#outbound.backpressured;
  }

  /**
   * Calls `callback` once `send()` accepts frames without a bound again: in a microtask when the
   * socket is not backed up, else at its `'drain'`. Not called when the connection ends first.
   */
  whenWritable(callback: () => void): void {
    this.#outbound.whenWritable(callback);
  }

  /**
   * Queues one frame for sending; it is written with the other frames of this event-loop turn.
   * Throws synchronously: `ConnectionClosedError` after close, `FrameTooLargeError` when the frame
   * exceeds `maxFrame`, `QueueFullError` when the socket is backed up and the outbound queue is at
   * its bound. `payload` must not be modified until the frame is written.
   */
  send(type: number, payload: Uint8Array): void {
    this.#checkOpen(type);
    this.#outbound.add(type, payload, this.#peer);
  }

  /**
   * Encodes `message` with `def`'s codec and queues it, like {@link send}. A codec with a `write`
   * method (generated codecs have one) encodes straight into the outbound batch. Throws what `send`
   * throws, and `EncodeError` when the codec throws (nothing is queued then).
   */
  sendMessage<T>(def: MessageDef<T>, message: T): void {
    if (def.codec.write === undefined) {
      let payload: Uint8Array;
      try {
        payload = def.codec.encode(message);
      } catch (cause) {
        throw encodeFailure(def.name, cause, { peer: this.#peer, frameType: def.type });
      }
      this.send(def.type, payload);
      return;
    }
    this.#checkOpen(def.type);
    this.#outbound.addWritten(def, message, this.#peer);
  }

  #checkOpen(type: number): void {
    if (this.closed) {
      throw new ConnectionClosedError(this.#closing?.message ?? "connection is closed", {
        peer: this.#peer,
        frameType: type,
      });
    }
    if (!Number.isInteger(type) || type < 0 || type > 255) {
      throw new InvalidOptionsError("type", `expected an integer 0..255, got ${type}`);
    }
  }

  /**
   * Ends the connection gracefully: frames already queued are written, then the socket is ended.
   * `onClose(reason)` fires once the socket has closed (or after `closeTimeoutMs`, when the peer
   * does not read and the socket is destroyed). Inbound frames are no longer delivered.
   */
  close(reason: PaynetError): void {
    if (this.closed) return;
    this.#closing = reason;
    this.#readTimer?.cancel();
    this.#closeTimer = this.#wheel.schedule(this.#closeTimeoutMs, () => this.#finish(reason));
    this.#outbound.flush();
    this.#endIfFlushed();
  }

  /** Ends the connection at once: queued frames are dropped, `onClose(reason)` is called now. */
  destroy(reason: PaynetError): void {
    this.#finish(reason);
  }

  #onData(chunk: Buffer): void {
    if (this.closed) return;
    // One clock reading per chunk: every frame of a chunk arrived at the same time.
    this.#lastByteMono = performance.now();
    // Replies sent synchronously while this chunk is decoded go out in one write right after it,
    // like an echo server's, instead of waiting a `setImmediate` turn (a round trip per batch).
    this.#outbound.holding = true;
    try {
      this.#decoder.push(chunk);
    } catch (error) {
      this.#outbound.holding = false;
      this.#finish(
        error instanceof PaynetError ? error : new HandlerError({ peer: this.#peer, cause: error }),
      );
      return;
    }
    this.#outbound.holding = false;
    if (this.#outbound.frames > 0) this.#outbound.flush();
  }

  #onFrame(type: number, payload: Buffer): void {
    if (this.closed) return;
    this.#lastFrameMono = this.#lastByteMono;
    this.#stats?.frameIn(type, FRAME_HEADER_SIZE + payload.length);
    this.#handlers.onFrame!(type, payload);
  }

  #onFrameAt(type: number, buffer: Buffer, start: number, end: number): void {
    if (this.closed) return;
    this.#lastFrameMono = this.#lastByteMono;
    this.#stats?.frameIn(type, FRAME_HEADER_SIZE + end - start);
    this.#handlers.onFrameAt!(type, buffer, start, end);
  }

  /** Fires at most once per `readTimeoutMs`; re-arms for the remaining time if a frame came in meanwhile. */
  #checkReadTimeout(): void {
    if (this.closed) return;
    const idle = performance.now() - this.#lastFrameMono;
    if (idle >= this.#readTimeoutMs) {
      this.#finish(new ReadTimeoutError(this.#readTimeoutMs, { peer: this.#peer }));
    } else {
      this.#readTimer!.reschedule(this.#readTimeoutMs - idle);
    }
  }

  #endIfFlushed(): void {
    const outbound = this.#outbound;
    if (this.#closing === undefined || this.#finished || outbound.backpressured || outbound.frames > 0)
      return;
    this.#socket.end();
  }

  #onSocketError(error: Error): void {
    const detail = (error as NodeJS.ErrnoException).code ?? error.message;
    this.#finish(new ConnectionClosedError(`socket error: ${detail}`, { peer: this.#peer, cause: error }));
  }

  #onPeerGone(): void {
    // After close(), the peer ending in turn is the graceful end we were waiting for.
    this.#finish(this.#closing ?? new ConnectionClosedError("peer closed", { peer: this.#peer }));
  }

  #finish(reason: PaynetError): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#readTimer?.cancel();
    this.#closeTimer?.cancel();
    this.#outbound.discard();
    this.#socket.destroy();
    this.#handlers.onClose(reason);
  }
}

function positiveInteger(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidOptionsError(option, `expected an integer >= 1, got ${value}`);
  return value;
}

function nonNegative(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0)
    throw new InvalidOptionsError(option, `expected a number >= 0, got ${value}`);
  return value;
}
