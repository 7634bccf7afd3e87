/**
 * The outbound side of a framed connection: frames sent in the same event-loop turn are written,
 * header and payload, into one batch buffer that goes to the socket in one `socket.write` (messages
 * with a codec `write` method are encoded straight into it: no buffer per message). Once the socket
 * reports backpressure, further frames wait in the batch, bounded, until `'drain'`; a frame that
 * would exceed the bound is refused with `QueueFullError` (never silent growth or drop).
 *
 * Batch buffers are pooled per process when the socket is a TLS socket: Node's TLS stream encrypts
 * a write handed straight to it before `write()` returns (or copies what it has to keep), so a
 * buffer written while nothing else was queued is free again at once. A steady stream then
 * allocates no buffer per write, and the pool is a few buffers per process, not one per connection.
 */
import type { Duplex } from "node:stream";
import type { MessageDef } from "../codec.js";
import { encodeFailure, FrameTooLargeError, QueueFullError } from "../errors.js";
import { Writer } from "../protobuf/writer.js";
import type { TrafficStats } from "../stats.js";
import { FRAME_HEADER_SIZE, frameSize, lengthFieldFor, writeFrameHeader } from "./encoder.js";
import type { LengthMode } from "./options.js";

/** Smallest and largest first allocation of a batch (sized after the previous batch). */
const MIN_BATCH_BYTES = 256;
const MAX_BATCH_HINT_BYTES = 64 * 1024;

/** Batch writers kept for reuse (process-wide; a batch is open only until the end of its turn). */
const POOL_SIZE = 8;
/** A writer whose buffer grew beyond this is left to the GC rather than pooled. */
const MAX_POOLED_BYTES = 64 * 1024;
const writerPool: Writer[] = [];

/**
 * Whether bytes handed to `socket.write` now are consumed before it returns: a TLS socket (its
 * TLS stream encrypts them at once, or copies them) with nothing queued in its writable buffer
 * (so the chunk goes straight to the TLS stream and is not held by the stream machinery).
 */
function consumesWriteAtOnce(socket: Duplex): boolean {
  const s = socket as Duplex & { encrypted?: boolean; connecting?: boolean };
  return s.encrypted === true && s.writableLength === 0 && s.writableCorked === 0 && s.connecting !== true;
}

/** Bounds of an {@link OutboundBatch}, validated by its connection. */
export interface OutboundLimits {
  readonly lengthMode: LengthMode;
  readonly maxFrame: number;
  /** Frames, and wire bytes, that may wait while the socket is backpressured. */
  readonly maxQueuedFrames: number;
  readonly maxQueuedBytes: number;
}

export class OutboundBatch {
  readonly #socket: Duplex;
  readonly #limits: OutboundLimits;
  readonly #stats: TrafficStats | undefined;
  /** Called after a `'drain'` has been handled (the connection may end once everything is out). */
  readonly #onDrained: () => void;

  /** Wire bytes of the frames accepted and not yet handed to the socket; made on demand. */
  #batch: Writer | undefined;
  #frames = 0;
  /** First allocation of the next batch, from the size of the last one: a steady stream rarely regrows. */
  #hint = MIN_BATCH_BYTES;
  #flushScheduled = false;
  /** `socket.write` returned false and `'drain'` has not come yet. */
  #blocked = false;
  /** Callers of {@link whenWritable} waiting for the drain (made on first use: rare). */
  #writableWaiters: Array<() => void> | undefined;
  /** The connection ended: nothing more is written. */
  #discarded = false;

  /**
   * Set by the connection while it decodes a chunk: frames sent meanwhile are written when the
   * chunk is done (one write for all the replies to it), not a turn later.
   */
  holding = false;

  constructor(
    socket: Duplex,
    limits: OutboundLimits,
    stats: TrafficStats | undefined,
    onDrained: () => void,
  ) {
    this.#socket = socket;
    this.#limits = limits;
    this.#stats = stats;
    this.#onDrained = onDrained;
  }

  /** Frames accepted and not yet written to the socket. */
  get frames(): number {
    return this.#frames;
  }

  /** Wire bytes of {@link frames}. */
  get bytes(): number {
    return this.#frames === 0 ? 0 : this.#batch!.len;
  }

  /** True while the socket reports backpressure (waiting for `'drain'`). */
  get backpressured(): boolean {
    return this.#blocked;
  }

  /** See `FrameConnection.whenWritable`. */
  whenWritable(callback: () => void): void {
    if (!this.#blocked) {
      queueMicrotask(callback);
      return;
    }
    if (this.#writableWaiters === undefined) this.#writableWaiters = [callback];
    else this.#writableWaiters.push(callback);
  }

  /** Adds one frame; throws `FrameTooLargeError` or (while backpressured) `QueueFullError`. */
  add(type: number, payload: Uint8Array, peer: string): void {
    const len = lengthFieldFor(payload.length, this.#limits.lengthMode);
    if (len > this.#limits.maxFrame) {
      throw new FrameTooLargeError(len, this.#limits.maxFrame, { peer, frameType: type });
    }
    const size = frameSize(payload.length);
    this.#checkBound(type, this.bytes, size, peer);
    const batch = this.#open(size);
    const offset = batch.reserve(FRAME_HEADER_SIZE);
    writeFrameHeader(batch.buf, offset, len, type);
    batch.raw(payload);
    this.#accepted(type, size);
  }

  /**
   * Encodes `message` with the `write` method of `def`'s codec (which must have one) straight into
   * the batch. Throws what {@link add} throws, and `EncodeError` when the codec throws; nothing stays
   * in the batch then.
   */
  addWritten<T>(def: MessageDef<T>, message: T, peer: string): void {
    const codec = def.codec;
    const type = def.type;
    this.#checkBound(type, this.bytes, FRAME_HEADER_SIZE, peer);
    const batch = this.#open(FRAME_HEADER_SIZE);
    const start = batch.reserve(FRAME_HEADER_SIZE);
    try {
      codec.write!(message, batch);
    } catch (cause) {
      batch.truncate(start);
      throw encodeFailure(def.name, cause, { peer, frameType: type });
    }
    const size = batch.len - start;
    const len = lengthFieldFor(size - FRAME_HEADER_SIZE, this.#limits.lengthMode);
    try {
      if (len > this.#limits.maxFrame) {
        throw new FrameTooLargeError(len, this.#limits.maxFrame, { peer, frameType: type });
      }
      this.#checkBound(type, start, size, peer);
    } catch (error) {
      batch.truncate(start);
      throw error;
    }
    writeFrameHeader(batch.buf, start, len, type);
    this.#accepted(type, size);
  }

  /** Hands the batch to the socket now (unless backpressured or discarded). */
  flush(): void {
    if (this.#blocked || this.#frames === 0 || this.#discarded) return;
    const batch = this.#batch!;
    // The socket keeps the bytes until written: the next frame starts a new batch.
    this.#batch = undefined;
    this.#frames = 0;
    // A quarter more than the last batch: the next one rarely has to grow (and copy) on its last frame.
    this.#hint = Math.min(Math.max(batch.len + (batch.len >>> 2), MIN_BATCH_BYTES), MAX_BATCH_HINT_BYTES);
    const socket = this.#socket;
    const reusable = consumesWriteAtOnce(socket);
    const written = socket.write(batch.buf.subarray(0, batch.len));
    if (reusable && writerPool.length < POOL_SIZE && batch.buf.length <= MAX_POOLED_BYTES) {
      batch.reset();
      writerPool.push(batch);
    }
    if (!written) {
      this.#blocked = true;
      // Listened for only while backpressured, instead of one idle listener per connection.
      socket.once("drain", () => this.#onDrain());
    }
  }

  /** The connection ended: queued frames are dropped and writable waiters forgotten. */
  discard(): void {
    this.#discarded = true;
    this.#batch = undefined;
    this.#frames = 0;
    this.#writableWaiters = undefined;
  }

  /** While backpressured, refuses a frame of `size` wire bytes that would exceed the queue bound. */
  #checkBound(type: number, queuedBytes: number, size: number, peer: string): void {
    if (!this.#blocked) return;
    const { maxQueuedFrames, maxQueuedBytes } = this.#limits;
    if (this.#frames + 1 > maxQueuedFrames) {
      throw new QueueFullError("outbound", `${maxQueuedFrames} frames`, { peer, frameType: type });
    }
    if (queuedBytes + size > maxQueuedBytes) {
      throw new QueueFullError("outbound", `${maxQueuedBytes} bytes`, { peer, frameType: type });
    }
  }

  #open(size: number): Writer {
    if (this.#batch !== undefined) return this.#batch;
    const capacity = Math.max(this.#hint, size);
    const pooled = writerPool.pop();
    // A pooled buffer too small for the expected batch is dropped rather than grown frame by frame.
    const batch = pooled !== undefined && pooled.buf.length >= capacity ? pooled : new Writer(capacity);
    this.#batch = batch;
    return batch;
  }

  /** One frame of `size` wire bytes is in the batch: count it and see that it gets written. */
  #accepted(type: number, size: number): void {
    this.#frames++;
    this.#stats?.frameOut(type, size);
    if (this.#blocked) return;
    // A large burst is written right away rather than held: the bound is for backpressure only.
    if (this.#frames >= this.#limits.maxQueuedFrames || this.#batch!.len >= this.#limits.maxQueuedBytes) {
      this.flush();
    } else if (!this.#flushScheduled && !this.holding) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        this.flush();
      });
    }
  }

  #onDrain(): void {
    this.#blocked = false;
    this.flush();
    this.#onDrained();
    const waiters = this.#writableWaiters;
    if (waiters === undefined || this.#blocked) return;
    this.#writableWaiters = undefined;
    for (const waiter of waiters) waiter();
  }
}
