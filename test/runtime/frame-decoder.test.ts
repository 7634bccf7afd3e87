import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameTooLargeError, PaynetError, ProtocolError } from "../../runtime/src/errors.js";
import { FrameDecoder } from "../../runtime/src/frame/decoder.js";
import { encodeFrame } from "../../runtime/src/frame/encoder.js";
import type { LengthMode } from "../../runtime/src/frame/options.js";

interface Frame {
  type: number;
  payload: Uint8Array;
}

function collect(options: { maxFrame?: number; lengthMode?: LengthMode; peer?: string } = {}) {
  const frames: Frame[] = [];
  const decoder = new FrameDecoder({
    ...options,
    onFrame: (type, payload) => frames.push({ type, payload: Uint8Array.from(payload) }),
  });
  return { decoder, frames };
}

/** Splits `bytes` at the given cut points (any order, duplicates allowed). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

const frameArb = fc.record({
  type: fc.integer({ min: 0, max: 255 }),
  payload: fc.uint8Array({ maxLength: 300 }),
});
const modeArb = fc.constantFrom<LengthMode>("type+payload", "payload");

describe("FrameDecoder", () => {
  it("decodes random frame streams split at random points into the same frames (both length modes)", () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        modeArb,
        (input, cuts, lengthMode) => {
          const stream = Buffer.concat(input.map((f) => encodeFrame(f.type, f.payload, lengthMode)));
          const { decoder, frames } = collect({ lengthMode, maxFrame: 400 });
          for (const chunk of split(stream, cuts)) decoder.push(chunk);
          expect(frames).toEqual(input.map((f) => ({ type: f.type, payload: Uint8Array.from(f.payload) })));
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("onFrameAt hands out the same payloads as ranges of the buffers it was given, however the stream is split", () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        modeArb,
        (input, cuts, lengthMode) => {
          const stream = Buffer.concat(input.map((f) => encodeFrame(f.type, f.payload, lengthMode)));
          const chunks = split(stream, cuts);
          const frames: Frame[] = [];
          const decoder = new FrameDecoder({
            lengthMode,
            onFrameAt: (type, buffer, start, end) => {
              expect(start).toBeGreaterThanOrEqual(0);
              expect(end).toBeLessThanOrEqual(buffer.length);
              frames.push({ type, payload: Uint8Array.from(buffer.subarray(start, end)) });
            },
          });
          for (const chunk of chunks) decoder.push(chunk);
          expect(frames).toEqual(input.map((f) => ({ type: f.type, payload: Uint8Array.from(f.payload) })));
        },
      ),
      { numRuns: 200 },
    );
    expect(() => new FrameDecoder({})).toThrow("invalid option onFrame: expected a function (or onFrameAt)");
  });

  it("decodes a stream fed one byte at a time", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 10 }), modeArb, (input, lengthMode) => {
        const stream = Buffer.concat(input.map((f) => encodeFrame(f.type, f.payload, lengthMode)));
        const { decoder, frames } = collect({ lengthMode });
        for (let i = 0; i < stream.length; i++) decoder.push(stream.subarray(i, i + 1));
        expect(frames).toEqual(input.map((f) => ({ type: f.type, payload: Uint8Array.from(f.payload) })));
      }),
      { numRuns: 100 },
    );
  });

  it("random garbage yields only typed framing errors and bounded memory", () => {
    const maxFrame = 1024;
    fc.assert(
      fc.property(
        // Mostly-zero bytes make plausible small Len values, so frames get decoded between the errors.
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ max: 3, maxLength: 600 })), {
          maxLength: 20,
        }),
        modeArb,
        (chunks, lengthMode) => {
          const { decoder } = collect({ maxFrame, lengthMode, peer: "garbage" });
          for (const chunk of chunks) {
            try {
              decoder.push(Buffer.from(chunk));
            } catch (error) {
              expect(error).toBeInstanceOf(PaynetError);
              expect(error instanceof FrameTooLargeError || error instanceof ProtocolError).toBe(true);
              expect((error as PaynetError).peer).toBe("garbage");
              return;
            }
            expect(decoder.bufferedBytes).toBeLessThanOrEqual(maxFrame + 5);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("hands out zero-copy views when a frame lies inside one chunk", () => {
    const stream = Buffer.concat([
      encodeFrame(1, Uint8Array.from([1, 2, 3])),
      encodeFrame(2, Uint8Array.from([4])),
    ]);
    const payloads: Buffer[] = [];
    const decoder = new FrameDecoder({ onFrame: (_type, payload) => payloads.push(payload) });
    decoder.push(stream);
    expect(payloads.map((p) => p.buffer === stream.buffer)).toEqual([true, true]);
    expect(payloads.map((p) => [...p])).toEqual([[1, 2, 3], [4]]);
  });

  it("delivers a frame whose header is split but whose payload fits the next chunk without copying", () => {
    const frame = encodeFrame(7, Uint8Array.from([9, 8, 7]));
    const payloads: Buffer[] = [];
    const decoder = new FrameDecoder({ onFrame: (_type, payload) => payloads.push(payload) });
    const second = frame.subarray(2);
    decoder.push(frame.subarray(0, 2));
    decoder.push(second);
    expect(payloads).toHaveLength(1);
    expect(payloads[0]!.buffer).toBe(second.buffer);
    expect([...payloads[0]!]).toEqual([9, 8, 7]);
  });

  it("a header alone allocates nothing; the body buffer grows with the bytes that arrived", () => {
    const payload = Buffer.alloc(65_535, 0xab);
    const frame = encodeFrame(5, payload);
    const { decoder, frames } = collect();
    decoder.push(frame.subarray(0, 5));
    expect(decoder.bufferedBytes).toBe(0);
    decoder.push(frame.subarray(5, 6));
    expect(decoder.bufferedBytes).toBe(256);
    decoder.push(frame.subarray(6, 5 + 1000));
    expect(decoder.bufferedBytes).toBe(1000);
    decoder.push(frame.subarray(5 + 1000, 5 + 1001));
    expect(decoder.bufferedBytes).toBe(2000);
    decoder.push(frame.subarray(5 + 1001, 5 + 40_000));
    expect(decoder.bufferedBytes).toBe(40_000);
    decoder.push(frame.subarray(5 + 40_000, 5 + 40_001));
    // Doubling stops at the frame's size.
    expect(decoder.bufferedBytes).toBe(65_535);
    decoder.push(frame.subarray(5 + 40_001));
    expect(decoder.bufferedBytes).toBe(0);
    expect(frames).toEqual([{ type: 5, payload: Uint8Array.from(payload) }]);
  });

  it("holds at most about twice the body bytes received, however a large frame is split", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70_000 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (payloadLength, cuts) => {
          const payload = Buffer.alloc(payloadLength);
          for (let i = 0; i < payloadLength; i += 97) payload[i] = i & 0xff;
          const frame = encodeFrame(9, payload);
          const { decoder, frames } = collect({ maxFrame: 70_001 });
          let pushed = 0;
          for (const chunk of split(frame, cuts)) {
            decoder.push(chunk);
            pushed += chunk.length;
            if (frames.length > 0) break;
            const bodyReceived = Math.max(0, pushed - 5);
            expect(decoder.bufferedBytes).toBeLessThanOrEqual(
              Math.min(payloadLength, Math.max(256, 2 * bodyReceived)) + 4,
            );
          }
          expect(frames.map((f) => f.type)).toEqual([9]);
          // Buffer.equals: a deep toEqual of 70 000 bytes per run would dominate the test's time.
          expect(Buffer.from(frames[0]!.payload).equals(payload)).toBe(true);
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("setLimit lowers or raises the accepted Len from the next header on and names the option", () => {
    const { decoder, frames } = collect({ peer: "10.0.0.1:5000" });
    decoder.setLimit(10, "preLogin.maxFrame");
    expect(decoder.maxFrame).toBe(10);
    decoder.push(encodeFrame(1, new Uint8Array(9)));
    expect(frames).toHaveLength(1);
    // A frame whose header was accepted under the old limit completes after the limit changes.
    const big = encodeFrame(2, new Uint8Array(50));
    decoder.setLimit(100);
    decoder.push(big.subarray(0, 10));
    decoder.setLimit(10, "preLogin.maxFrame");
    decoder.push(big.subarray(10));
    expect(frames).toHaveLength(2);
    let thrown: unknown;
    try {
      decoder.push(encodeFrame(0x04, new Uint8Array(20)));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FrameTooLargeError);
    expect(thrown).toMatchObject({ length: 21, maxFrame: 10, limit: "preLogin.maxFrame", frameType: 0x04 });
    expect((thrown as Error).message).toBe(
      "frame length 21 exceeds preLogin.maxFrame 10 (peer 10.0.0.1:5000, frame type 0x04)",
    );
    expect(() => decoder.setLimit(0, "preLogin.maxFrame")).toThrow(
      "invalid option preLogin.maxFrame: expected an integer 1..4294967295, got 0",
    );
  });

  it("rejects an oversize Len from the header alone, before buffering any body", () => {
    const { decoder, frames } = collect({ maxFrame: 100, peer: "10.0.0.1:5000" });
    decoder.push(Buffer.from([0, 0]));
    expect(decoder.bufferedBytes).toBe(2);
    let thrown: unknown;
    try {
      decoder.push(Buffer.from([0x7f, 0xff, 0x01, 0x02, 0x03]));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FrameTooLargeError);
    expect(thrown).toMatchObject({
      code: "FRAME_TOO_LARGE",
      length: 0x7fff,
      maxFrame: 100,
      peer: "10.0.0.1:5000",
    });
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(5);
    expect(frames).toEqual([]);
  });

  it("rejects a 4 GiB Len in one chunk without allocating", () => {
    const { decoder } = collect();
    expect(() => decoder.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x01, 0x00]))).toThrow(FrameTooLargeError);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it("accepts Len == maxFrame and rejects maxFrame + 1", () => {
    const ok = collect({ maxFrame: 10 });
    ok.decoder.push(encodeFrame(1, new Uint8Array(9)));
    expect(ok.frames).toHaveLength(1);
    const tooBig = collect({ maxFrame: 10 });
    expect(() => tooBig.decoder.push(encodeFrame(1, new Uint8Array(10)))).toThrow(FrameTooLargeError);
    const payloadMode = collect({ maxFrame: 10, lengthMode: "payload" });
    payloadMode.decoder.push(encodeFrame(1, new Uint8Array(10), "payload"));
    expect(payloadMode.frames).toHaveLength(1);
    expect(() => payloadMode.decoder.push(encodeFrame(1, new Uint8Array(11), "payload"))).toThrow(
      FrameTooLargeError,
    );
  });

  it("treats Len 0 as a protocol error in type+payload mode and as an empty payload in payload mode", () => {
    const strict = collect({ peer: "p" });
    expect(() => strict.decoder.push(Buffer.from([0, 0, 0, 0, 1]))).toThrow(ProtocolError);
    const payloadMode = collect({ lengthMode: "payload" });
    payloadMode.decoder.push(Buffer.from([0, 0, 0, 0, 0x83]));
    expect(payloadMode.frames).toEqual([{ type: 0x83, payload: new Uint8Array(0) }]);
  });

  it("stays poisoned after an error until reset", () => {
    const { decoder, frames } = collect({ maxFrame: 10 });
    let first: unknown;
    try {
      decoder.push(Buffer.from([0, 0, 1, 0, 1]));
    } catch (error) {
      first = error;
    }
    expect(first).toBeInstanceOf(FrameTooLargeError);
    let second: unknown;
    try {
      decoder.push(encodeFrame(1, new Uint8Array(1)));
    } catch (error) {
      second = error;
    }
    expect(second).toBe(first);
    expect(frames).toEqual([]);
    decoder.reset();
    decoder.push(encodeFrame(1, Uint8Array.from([5])));
    expect(frames).toEqual([{ type: 1, payload: Uint8Array.from([5]) }]);
  });

  it("stops processing the current chunk when onFrame resets the decoder", () => {
    const types: number[] = [];
    const decoder: FrameDecoder = new FrameDecoder({
      onFrame: (type) => {
        types.push(type);
        decoder.reset();
      },
    });
    decoder.push(Buffer.concat([encodeFrame(1, new Uint8Array(0)), encodeFrame(2, new Uint8Array(0))]));
    expect(types).toEqual([1]);
  });

  it("names the peer set after construction in its errors", () => {
    const { decoder } = collect();
    decoder.peer = "1.2.3.4:5 dev-9";
    expect(() => decoder.push(Buffer.from([0, 0, 0, 0]))).toThrow(/peer 1\.2\.3\.4:5 dev-9/);
  });

  it("rejects invalid options", () => {
    expect(() => new FrameDecoder({ maxFrame: 0, onFrame() {} })).toThrow(/maxFrame/);
    expect(() => new FrameDecoder({ lengthMode: "bogus" as LengthMode, onFrame() {} })).toThrow(/lengthMode/);
  });
});
