/**
 * Incremental frame decoder: a byte-level state machine that turns an arbitrarily split byte stream
 * into `(type, payload)` frames.
 *
 * Memory rules, because the peer is untrusted:
 * - Len is checked against `maxFrame` as soon as its 4 bytes are known, before any body byte is
 *   buffered, so an oversize header costs nothing.
 * - A payload that lies inside one chunk is handed out as a zero-copy `subarray` of that chunk.
 * - A payload spread over several chunks gets exactly one allocation of its final size, and the
 *   pieces are copied in as they arrive (no per-chunk concatenation, so no quadratic copying).
 */
import { FrameTooLargeError, InvalidOptionsError, type PaynetError, ProtocolError } from "../errors.js";
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

/**
 * Decodes `Len | Type | payload` frames from a byte stream. After a protocol violation it throws a
 * `FrameTooLargeError` or `ProtocolError` and is poisoned: every later `push` throws the same error.
 */
export class FrameDecoder {
  /** Named in errors; settable because a session learns its device id after login. */
  peer: string | undefined;

  readonly #maxFrame: number;
  readonly #payloadMode: boolean;
  readonly #onFrame: ((type: number, payload: Buffer) => void) | undefined;
  readonly #onFrameAt: ((type: number, buffer: Buffer, start: number, end: number) => void) | undefined;

  /** Header bytes collected so far when a header is split across chunks; allocated on first split. */
  #header: Buffer | undefined;
  #headerFilled = 0;
  /** Body of a frame that spans chunks: allocated once at its final size. */
  #body: Buffer | undefined;
  #bodyFilled = 0;
  #bodyType = 0;
  #error: unknown;
  /** Bumped by `reset()` so a `push` interrupted by a reset inside `onFrame` stops. */
  #generation = 0;

  constructor(options: FrameDecoderOptions) {
    const maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
    if (!Number.isInteger(maxFrame) || maxFrame < 1 || maxFrame > 0xffff_ffff) {
      throw new InvalidOptionsError("maxFrame", `expected an integer 1..4294967295, got ${maxFrame}`);
    }
    const lengthMode = options.lengthMode ?? "type+payload";
    if (lengthMode !== "type+payload" && lengthMode !== "payload") {
      throw new InvalidOptionsError(
        "lengthMode",
        `expected "type+payload" or "payload", got ${String(lengthMode)}`,
      );
    }
    this.#maxFrame = maxFrame;
    this.#payloadMode = lengthMode === "payload";
    if (options.onFrame === undefined && options.onFrameAt === undefined) {
      throw new InvalidOptionsError("onFrame", "expected a function (or onFrameAt)");
    }
    this.#onFrame = options.onFrame;
    this.#onFrameAt = options.onFrameAt;
    this.peer = options.peer;
  }

  /**
   * Bytes held for the incomplete frame: collected header bytes plus the allocated body buffer.
   * Never more than `maxFrame + 5`.
   */
  get bufferedBytes(): number {
    return this.#headerFilled + (this.#body === undefined ? 0 : this.#body.length);
  }

  /** Forgets any partial frame and a previous error, as if freshly constructed. */
  reset(): void {
    this.#headerFilled = 0;
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
      this.#error = error;
      throw error;
    }
  }

  #consume(chunk: Buffer): void {
    const generation = this.#generation;
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      if (this.#body !== undefined) {
        pos = this.#fillBody(chunk, pos);
      } else if (this.#headerFilled === 0 && end - pos >= FRAME_HEADER_SIZE) {
        // Fast path: the whole header is in this chunk.
        const payloadLength = this.#checkLen(chunk.readUInt32BE(pos));
        const type = chunk[pos + LEN_FIELD_SIZE]!;
        pos += FRAME_HEADER_SIZE;
        if (end - pos >= payloadLength) {
          const start = pos;
          pos += payloadLength;
          this.#deliver(type, chunk, start, pos);
        } else {
          this.#startBody(type, payloadLength);
        }
      } else {
        // Slow path: the header is split across chunks; collect it byte by byte.
        this.#header ??= Buffer.alloc(FRAME_HEADER_SIZE);
        const header = this.#header;
        header[this.#headerFilled++] = chunk[pos++]!;
        if (this.#headerFilled === LEN_FIELD_SIZE) this.#checkLen(header.readUInt32BE(0));
        if (this.#headerFilled < FRAME_HEADER_SIZE) continue;
        const payloadLength = this.#checkLen(header.readUInt32BE(0));
        const type = header[LEN_FIELD_SIZE]!;
        this.#headerFilled = 0;
        if (payloadLength === 0) {
          this.#deliver(type, EMPTY, 0, 0);
        } else if (end - pos >= payloadLength) {
          const start = pos;
          pos += payloadLength;
          this.#deliver(type, chunk, start, pos);
        } else {
          this.#startBody(type, payloadLength);
        }
      }
      if (generation !== this.#generation) return;
    }
  }

  /** Validates a Len value and returns the payload length it announces. */
  #checkLen(len: number): number {
    if (len > this.#maxFrame) {
      throw new FrameTooLargeError(len, this.#maxFrame, this.#context());
    }
    if (this.#payloadMode) return len;
    if (len === 0) {
      throw new ProtocolError("frame length 0: Len must count at least the Type byte", this.#context());
    }
    return len - 1;
  }

  #startBody(type: number, payloadLength: number): void {
    this.#body = Buffer.allocUnsafe(payloadLength);
    this.#bodyFilled = 0;
    this.#bodyType = type;
  }

  #fillBody(chunk: Buffer, pos: number): number {
    const body = this.#body!;
    const take = Math.min(body.length - this.#bodyFilled, chunk.length - pos);
    chunk.copy(body, this.#bodyFilled, pos, pos + take);
    this.#bodyFilled += take;
    if (this.#bodyFilled === body.length) {
      this.#body = undefined;
      this.#bodyFilled = 0;
      this.#deliver(this.#bodyType, body, 0, body.length);
    }
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

  #context(): { peer?: string } {
    return this.peer === undefined ? {} : { peer: this.peer };
  }
}

/** Type guard for the errors a {@link FrameDecoder} throws on a protocol violation. */
export function isFramingError(error: unknown): error is PaynetError {
  return error instanceof FrameTooLargeError || error instanceof ProtocolError;
}
