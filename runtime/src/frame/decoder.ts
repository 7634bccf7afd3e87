/**
 * Incremental frame decoder: a byte-level state machine that turns an arbitrarily split byte stream
 * into `(type, payload)` frames.
 *
 * Memory rules, because the peer is untrusted:
 * - Len is checked against the current limit (`maxFrame`, settable: a server lowers it until login)
 *   as soon as its 4 bytes are known, before any body byte is buffered.
 * - No buffer is ever sized from a Len alone: a header announcing 64 KiB costs nothing until body
 *   bytes arrive, and then only about what arrived. The body buffer of a frame spread over several
 *   chunks grows by doubling (capped at the frame's size), so collecting it copies each byte at most
 *   about twice, never a concatenation per chunk.
 * - A payload that lies inside one chunk is handed out as a zero-copy range of that chunk.
 */
import { FrameTooLargeError, InvalidOptionsError, ProtocolError } from "../errors.js";
import { FRAME_HEADER_SIZE } from "./encoder.js";
import { DEFAULT_MAX_FRAME, type LengthMode } from "./options.js";

/** Options of a {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest accepted Len value. Default {@link DEFAULT_MAX_FRAME}. */
  maxFrame?: number;
  /** What Len counts. Default `type+payload`. */
  lengthMode?: LengthMode;
  /** Named in the errors the decoder throws. */
  peer?: string;
  /**
   * Called once per complete frame, synchronously from `push`. `payload` may be a view into the
   * pushed chunk; copy it if you keep it beyond the chunk's lifetime and mutate the chunk.
   * Must not throw: an exception propagates out of `push` and poisons the decoder, because the
   * rest of the chunk is lost and the stream cannot be resynchronised.
   */
  onFrame?: (type: number, payload: Buffer) => void;
  /**
   * The allocation-free form of `onFrame`: the payload is `buffer[start, end)`, a range of the pushed
   * chunk (or of the one buffer a frame spread over several chunks was collected in). When given, it
   * is called instead of `onFrame`; one of the two is required. Same rules as `onFrame`.
   */
  onFrameAt?: (type: number, buffer: Buffer, start: number, end: number) => void;
}

const LEN_FIELD_SIZE = 4;
const EMPTY = Buffer.alloc(0);
/** Smallest body buffer allocated for a frame spread over chunks (the first bytes of a large one). */
const MIN_BODY_CAPACITY = 256;
/** `#bodyLength` when no frame body is being collected. */
const NO_BODY = -1;

/**
 * Decodes `Len | Type | payload` frames from a byte stream. After a protocol violation it throws a
 * `FrameTooLargeError` or `ProtocolError` and is poisoned: every later `push` throws the same error.
 */
export class FrameDecoder {
  /** Named in errors; settable because a session learns its device id after login. */
  peer: string | undefined;

  readonly #payloadMode: boolean;
  readonly #onFrame: ((type: number, payload: Buffer) => void) | undefined;
  readonly #onFrameAt: ((type: number, buffer: Buffer, start: number, end: number) => void) | undefined;
  #maxFrame: number;
  /** The option the limit comes from, named in `FrameTooLargeError` (`maxFrame`, `preLogin.maxFrame`). */
  #limitName = "maxFrame";

  /** Header bytes collected so far when a header is split across chunks (0 to 4: Len; 5 is done). */
  #headerFilled = 0;
  /** The Len bytes of a split header, accumulated big-endian. */
  #headerLen = 0;
  /** Payload length of the frame whose body is being collected, or {@link NO_BODY}. */
  #bodyLength = NO_BODY;
  #bodyType = 0;
  /** What arrived of that body; allocated with the first body byte, grown by doubling up to `#bodyLength`. */
  #body: Buffer | undefined;
  #bodyFilled = 0;
  #error: unknown;
  /** Bumped by `reset()` so a `push` interrupted by a reset inside `onFrame` stops. */
  #generation = 0;

  constructor(options: FrameDecoderOptions) {
    const lengthMode = options.lengthMode ?? "type+payload";
    if (lengthMode !== "type+payload" && lengthMode !== "payload") {
      throw new InvalidOptionsError(
        "lengthMode",
        `expected "type+payload" or "payload", got ${String(lengthMode)}`,
      );
    }
    this.#maxFrame = checkedMaxFrame("maxFrame", options.maxFrame ?? DEFAULT_MAX_FRAME);
    this.#payloadMode = lengthMode === "payload";
    if (options.onFrame === undefined && options.onFrameAt === undefined) {
      throw new InvalidOptionsError("onFrame", "expected a function (or onFrameAt)");
    }
    this.#onFrame = options.onFrame;
    this.#onFrameAt = options.onFrameAt;
    this.peer = options.peer;
  }

  /** Largest accepted Len value right now. */
  get maxFrame(): number {
    return this.#maxFrame;
  }

  /**
   * Changes the largest accepted Len from the next header on (a frame whose header was already
   * accepted completes). `option` is the setting named in `FrameTooLargeError` messages, e.g.
   * `preLogin.maxFrame` while a server session has not logged in.
   */
  setLimit(maxFrame: number, option = "maxFrame"): void {
    this.#maxFrame = checkedMaxFrame(option, maxFrame);
    this.#limitName = option;
  }

  /**
   * Bytes held for the incomplete frame: collected header bytes plus the body buffer, which is
   * never larger than twice the body bytes received (and never larger than the frame).
   */
  get bufferedBytes(): number {
    return this.#headerFilled + (this.#body === undefined ? 0 : this.#body.length);
  }

  /** Forgets any partial frame and a previous error, as if freshly constructed. */
  reset(): void {
    this.#headerFilled = 0;
    this.#headerLen = 0;
    this.#bodyLength = NO_BODY;
    this.#body = undefined;
    this.#bodyFilled = 0;
    this.#error = undefined;
    this.#generation++;
  }

  /** Feeds the next chunk of the stream; calls `onFrame` for every frame it completes. */
  push(chunk: Buffer): void {
    if (this.#error !== undefined) throw this.#error;
    try {
      this.#consume(chunk);
    } catch (error) {
      this.#body = undefined;
      this.#bodyLength = NO_BODY;
      this.#error = error;
      throw error;
    }
  }

  #consume(chunk: Buffer): void {
    const generation = this.#generation;
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      if (this.#bodyLength !== NO_BODY) {
        pos = this.#fillBody(chunk, pos);
      } else if (this.#headerFilled === 0 && end - pos >= FRAME_HEADER_SIZE) {
        // Fast path: the whole header is in this chunk.
        const type = chunk[pos + LEN_FIELD_SIZE]!;
        const payloadLength = this.#checkLen(readLen(chunk, pos), type);
        pos += FRAME_HEADER_SIZE;
        if (end - pos >= payloadLength) {
          const start = pos;
          pos += payloadLength;
          this.#deliver(type, chunk, start, pos);
        } else {
          this.#bodyLength = payloadLength;
          this.#bodyType = type;
        }
      } else if (this.#headerFilled < LEN_FIELD_SIZE) {
        // Slow path: the header is split across chunks; collect Len byte by byte, check it at once.
        this.#headerLen = ((this.#headerLen << 8) | chunk[pos++]!) >>> 0;
        if (++this.#headerFilled === LEN_FIELD_SIZE) this.#checkLen(this.#headerLen, undefined);
      } else {
        const type = chunk[pos++]!;
        const payloadLength = this.#checkLen(this.#headerLen, type);
        this.#headerFilled = 0;
        this.#headerLen = 0;
        if (payloadLength === 0) {
          this.#deliver(type, EMPTY, 0, 0);
        } else if (end - pos >= payloadLength) {
          const start = pos;
          pos += payloadLength;
          this.#deliver(type, chunk, start, pos);
        } else {
          this.#bodyLength = payloadLength;
          this.#bodyType = type;
        }
      }
      if (generation !== this.#generation) return;
    }
  }

  /** Validates a Len value and returns the payload length it announces. */
  #checkLen(len: number, type: number | undefined): number {
    if (len > this.#maxFrame) {
      throw new FrameTooLargeError(len, this.#maxFrame, this.#context(type), this.#limitName);
    }
    if (this.#payloadMode) return len;
    if (len === 0) {
      throw new ProtocolError("frame length 0: Len must count at least the Type byte", this.#context(type));
    }
    return len - 1;
  }

  /** Copies what `chunk` holds of the current body from `pos`; delivers the frame once complete. */
  #fillBody(chunk: Buffer, pos: number): number {
    const length = this.#bodyLength;
    const filled = this.#bodyFilled;
    const take = Math.min(length - filled, chunk.length - pos);
    const needed = filled + take;
    let body = this.#body;
    if (body === undefined || body.length < needed) {
      // Double what is held (at least what is needed now), never beyond the frame: a peer that
      // stops half-way holds about what it sent, and a frame of n bytes costs O(n) copying.
      const capacity = Math.min(length, Math.max(needed, 2 * (body?.length ?? needed), MIN_BODY_CAPACITY));
      const grown = Buffer.allocUnsafe(capacity);
      if (body !== undefined) body.copy(grown, 0, 0, filled);
      body = grown;
      this.#body = grown;
    }
    chunk.copy(body, filled, pos, pos + take);
    if (needed < length) {
      this.#bodyFilled = needed;
      return pos + take;
    }
    this.#body = undefined;
    this.#bodyFilled = 0;
    this.#bodyLength = NO_BODY;
    this.#deliver(this.#bodyType, body, 0, length);
    return pos + take;
  }

  /** Hands one frame's payload `buffer[start, end)` to the callback, as a range or as a view. */
  #deliver(type: number, buffer: Buffer, start: number, end: number): void {
    if (this.#onFrameAt !== undefined) {
      this.#onFrameAt(type, buffer, start, end);
    } else {
      this.#onFrame!(type, start === 0 && end === buffer.length ? buffer : buffer.subarray(start, end));
    }
  }

  #context(type: number | undefined): { peer?: string; frameType?: number } {
    const context: { peer?: string; frameType?: number } = {};
    if (this.peer !== undefined) context.peer = this.peer;
    if (type !== undefined) context.frameType = type;
    return context;
  }
}

/**
 * The big-endian Len at `pos` (the caller has checked the bytes are there). Read by hand: a method
 * of `Buffer.prototype` is a property load that optimised code does not inline, once per frame.
 */
function readLen(chunk: Buffer, pos: number): number {
  return chunk[pos]! * 0x1000000 + ((chunk[pos + 1]! << 16) | (chunk[pos + 2]! << 8) | chunk[pos + 3]!);
}

function checkedMaxFrame(option: string, maxFrame: number): number {
  if (!Number.isInteger(maxFrame) || maxFrame < 1 || maxFrame > 0xffff_ffff) {
    throw new InvalidOptionsError(option, `expected an integer 1..4294967295, got ${maxFrame}`);
  }
  return maxFrame;
}
