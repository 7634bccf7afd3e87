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
  FrameTooLargeError,
  HandlerError,
  InvalidOptionsError,
  PaynetError,
  QueueFullError,
  ReadTimeoutError,
} from "./errors.js";
import { FrameDecoder } from "./frame/decoder.js";
import { FRAME_HEADER_SIZE, frameSize, lengthFieldFor, writeFrameHeader } from "./frame/encoder.js";
import {
  DEFAULT_MAX_FRAME,
  DEFAULT_OUTBOUND_MAX_BYTES,
  DEFAULT_OUTBOUND_MAX_FRAMES,
  type FrameOptions,
  type LengthMode,
} from "./frame/options.js";
import { Writer } from "./protobuf/writer.js";
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

/** Smallest and largest first allocation of an outbound batch (sized after the previous batch). */
const MIN_BATCH_BYTES = 256;
const MAX_BATCH_HINT_BYTES = 64 * 1024;

/**
 * A `Len | Type | payload` framed connection over one socket (a `tls.TLSSocket` in practice).
 *
 * Writes: frames sent in the same event-loop turn are written, header and payload, into one batch
 * buffer that goes to the socket in one `socket.write` (messages sent with {@link sendMessage} are
 * encoded straight into it: no buffer per message). Once the socket reports backpressure, further
 * frames wait in the batch, bounded, until `'drain'`; a frame that would exceed the bound is refused
 * with `QueueFullError` at `send()` (never silent growth or drop).
 *
 * Reads: protocol violations (oversize Len, Len 0), the read timeout, the peer closing and socket
 * errors end the connection; `onClose` receives the typed reason.
 */
export class FrameConnection {
  readonly #socket: Duplex;
  readonly #handlers: FrameConnectionHandlers;
  readonly #decoder: FrameDecoder;
  readonly #lengthMode: LengthMode;
  readonly #maxFrame: number;
  readonly #maxQueuedFrames: number;
  readonly #maxQueuedBytes: number;
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

  /** Wire bytes of the frames accepted by `send()` and not yet handed to the socket; made on demand. */
  #batch: Writer | undefined;
  #batchFrames = 0;
  /** First allocation of the next batch, from the size of the last one: a steady stream rarely regrows. */
  #batchHint = MIN_BATCH_BYTES;
  #flushScheduled = false;
  /** Inside `#onData`: frames sent meanwhile are written when the chunk is done, not a turn later. */
  #inChunk = false;
  /** `socket.write` returned false and `'drain'` has not come yet. */
  #blocked = false;
  /** Callers of {@link whenWritable} waiting for the drain (made on first use: rare). */
  #writableWaiters: Array<() => void> | undefined;

  /** `close()` was called: no more sends, flush then end. */
  #closing: PaynetError | undefined;
  /** `onClose` has been called. */
  #finished = false;

  constructor(socket: Duplex, options: FrameConnectionOptions, handlers: FrameConnectionHandlers) {
    this.#socket = socket;
    this.#handlers = handlers;
    this.#peer = options.peer;
    this.#lengthMode = options.lengthMode ?? "type+payload";
    this.#maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
    this.#maxQueuedFrames = positiveInteger(
      "outboundQueue.maxFrames",
      options.outboundQueue?.maxFrames,
      DEFAULT_OUTBOUND_MAX_FRAMES,
    );
    this.#maxQueuedBytes = positiveInteger(
      "outboundQueue.maxBytes",
      options.outboundQueue?.maxBytes,
      DEFAULT_OUTBOUND_MAX_BYTES,
    );
    this.#readTimeoutMs = nonNegative("readTimeoutMs", options.readTimeoutMs, 0);
    this.#closeTimeoutMs = nonNegative("closeTimeoutMs", options.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS);
    this.#wheel = options.wheel ?? sharedTimerWheel();
    this.#stats = options.stats;
    const decoderOptions = { maxFrame: this.#maxFrame, lengthMode: this.#lengthMode, peer: this.#peer };
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
    return this.#batchFrames;
  }

  /** Wire bytes of {@link queuedFrames}. */
  get queuedBytes(): number {
    return this.#batchFrames === 0 ? 0 : this.#batch!.len;
  }

  /** True while the socket reports backpressure (waiting for `'drain'`). */
  get backpressured(): boolean {
    return this.#blocked;
  }

  /**
   * Calls `callback` once `send()` accepts frames without a bound again: in a microtask when the
   * socket is not backed up, else at its `'drain'`. Not called when the connection ends first.
   */
  whenWritable(callback: () => void): void {
    if (!this.#blocked) {
      queueMicrotask(callback);
      return;
    }
    if (this.#writableWaiters === undefined) this.#writableWaiters = [callback];
    else this.#writableWaiters.push(callback);
  }

  /**
   * Queues one frame for sending; it is written with the other frames of this event-loop turn.
   * Throws synchronously: `ConnectionClosedError` after close, `FrameTooLargeError` when the frame
   * exceeds `maxFrame`, `QueueFullError` when the socket is backed up and the outbound queue is at
   * its bound. `payload` must not be modified until the frame is written.
   */
  send(type: number, payload: Uint8Array): void {
    this.#checkOpen(type);
    const len = lengthFieldFor(payload.length, this.#lengthMode);
    if (len > this.#maxFrame) {
      throw new FrameTooLargeError(len, this.#maxFrame, { peer: this.#peer, frameType: type });
    }
    const size = frameSize(payload.length);
    this.#checkBound(type, this.queuedBytes, size);
    const batch = this.#openBatch(size);
    const offset = batch.reserve(FRAME_HEADER_SIZE);
    writeFrameHeader(batch.buf, offset, len, type);
    batch.raw(payload);
    this.#accepted(type, size);
  }

  /**
   * Encodes `message` with `def`'s codec and queues it, like {@link send}. A codec with a `write`
   * method (generated codecs have one) encodes straight into the outbound batch. Throws what `send`
   * throws, and `EncodeError` when the codec throws (nothing is queued then).
   */
  sendMessage<T>(def: MessageDef<T>, message: T): void {
    const codec = def.codec;
    const type = def.type;
    if (codec.write === undefined) {
      let payload: Uint8Array;
      try {
        payload = codec.encode(message);
      } catch (cause) {
        throw encodeFailure(def.name, cause, { peer: this.#peer, frameType: type });
      }
      this.send(type, payload);
      return;
    }
    this.#checkOpen(type);
    this.#checkBound(type, this.queuedBytes, FRAME_HEADER_SIZE);
    const batch = this.#openBatch(FRAME_HEADER_SIZE);
    const start = batch.reserve(FRAME_HEADER_SIZE);
    try {
      codec.write(message, batch);
    } catch (cause) {
      batch.truncate(start);
      throw encodeFailure(def.name, cause, { peer: this.#peer, frameType: type });
    }
    const size = batch.len - start;
    const len = lengthFieldFor(size - FRAME_HEADER_SIZE, this.#lengthMode);
    try {
      if (len > this.#maxFrame) {
        throw new FrameTooLargeError(len, this.#maxFrame, { peer: this.#peer, frameType: type });
      }
      this.#checkBound(type, start, size);
    } catch (error) {
      batch.truncate(start);
      throw error;
    }
    writeFrameHeader(batch.buf, start, len, type);
    this.#accepted(type, size);
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

  /** While backpressured, refuses a frame of `size` wire bytes that would exceed the queue bound. */
  #checkBound(type: number, queuedBytes: number, size: number): void {
    if (!this.#blocked) return;
    if (this.#batchFrames + 1 > this.#maxQueuedFrames) {
      throw new QueueFullError("outbound", `${this.#maxQueuedFrames} frames`, {
        peer: this.#peer,
        frameType: type,
      });
    }
    if (queuedBytes + size > this.#maxQueuedBytes) {
      throw new QueueFullError("outbound", `${this.#maxQueuedBytes} bytes`, {
        peer: this.#peer,
        frameType: type,
      });
    }
  }

  #openBatch(size: number): Writer {
    if (this.#batch === undefined) this.#batch = new Writer(Math.max(this.#batchHint, size));
    return this.#batch;
  }

  /** One frame of `size` wire bytes is in the batch: count it and see that it gets written. */
  #accepted(type: number, size: number): void {
    this.#batchFrames++;
    this.#stats?.frameOut(type, size);
    if (this.#blocked) return;
    // A large burst is written right away rather than held: the bound is for backpressure only.
    if (this.#batchFrames >= this.#maxQueuedFrames || this.#batch!.len >= this.#maxQueuedBytes) {
      this.#flush();
    } else if (!this.#flushScheduled && !this.#inChunk) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        this.#flush();
      });
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
    this.#flush();
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
    this.#inChunk = true;
    try {
      this.#decoder.push(chunk);
    } catch (error) {
      this.#inChunk = false;
      this.#finish(
        error instanceof PaynetError ? error : new HandlerError({ peer: this.#peer, cause: error }),
      );
      return;
    }
    this.#inChunk = false;
    if (this.#batchFrames > 0) this.#flush();
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

  #flush(): void {
    if (this.#blocked || this.#batchFrames === 0 || this.#finished) return;
    const batch = this.#batch!;
    // The socket keeps the bytes until written: the next frame starts a new batch.
    this.#batch = undefined;
    this.#batchFrames = 0;
    // A quarter more than the last batch: the next one rarely has to grow (and copy) on its last frame.
    this.#batchHint = Math.min(
      Math.max(batch.len + (batch.len >>> 2), MIN_BATCH_BYTES),
      MAX_BATCH_HINT_BYTES,
    );
    if (!this.#socket.write(batch.buf.subarray(0, batch.len))) {
      this.#blocked = true;
      // Listened for only while backpressured, instead of one idle listener per connection.
      this.#socket.once("drain", () => this.#onDrain());
    }
  }

  #onDrain(): void {
    this.#blocked = false;
    this.#flush();
    this.#endIfFlushed();
    const waiters = this.#writableWaiters;
    if (waiters === undefined || this.#blocked) return;
    this.#writableWaiters = undefined;
    for (const waiter of waiters) waiter();
  }

  #endIfFlushed(): void {
    if (this.#closing === undefined || this.#finished || this.#blocked || this.#batchFrames > 0) return;
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
    this.#batch = undefined;
    this.#batchFrames = 0;
    this.#writableWaiters = undefined;
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
