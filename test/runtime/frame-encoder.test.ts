import { describe, expect, it } from "vitest";
import { InvalidOptionsError } from "../../runtime/src/errors.js";
import { encodeFrame, frameSize, lengthFieldFor, writeFrameInto } from "../../runtime/src/frame/encoder.js";
import { CommandDef, PingDef } from "../helpers/messages.js";

describe("encodeFrame", () => {
  it("writes the exact bytes of a known frame (Len counts Type + payload)", () => {
    expect([...encodeFrame(0x03, Uint8Array.from([0x08, 0x01]))]).toEqual([0, 0, 0, 3, 0x03, 0x08, 0x01]);
  });

  it("writes Len = payload length in payload mode", () => {
    expect([...encodeFrame(0x03, Uint8Array.from([0x08, 0x01]), "payload")]).toEqual([
      0, 0, 0, 2, 0x03, 8, 1,
    ]);
  });

  it("encodes an empty payload as a bare header", () => {
    expect([...encodeFrame(0x83, new Uint8Array(0))]).toEqual([0, 0, 0, 1, 0x83]);
    expect([...encodeFrame(0x83, new Uint8Array(0), "payload")]).toEqual([0, 0, 0, 0, 0x83]);
  });

  it("encodes a protobuf message from the test message set", () => {
    const payload = PingDef.codec.encode({ uptime: 1 });
    expect([...payload]).toEqual([0x10, 0x01]);
    expect([...encodeFrame(PingDef.type, payload)]).toEqual([0, 0, 0, 3, 0x03, 0x10, 0x01]);
  });

  it("coalesces several frames into one buffer with writeFrameInto", () => {
    const a = CommandDef.codec.encode({ orderId: "o-1", coins: 2 });
    const b = new Uint8Array(0);
    const target = Buffer.alloc(frameSize(a.length) + frameSize(b.length));
    const middle = writeFrameInto(target, 0, CommandDef.type, a, "type+payload");
    expect(middle).toBe(frameSize(a.length));
    expect(writeFrameInto(target, middle, 0x83, b, "type+payload")).toBe(target.length);
    expect(target.subarray(0, middle)).toEqual(encodeFrame(CommandDef.type, a));
    expect(target.subarray(middle)).toEqual(encodeFrame(0x83, b));
  });

  it("rejects a Type that does not fit one byte", () => {
    expect(() => encodeFrame(256, new Uint8Array(0))).toThrow(InvalidOptionsError);
    expect(() => encodeFrame(-1, new Uint8Array(0))).toThrow(InvalidOptionsError);
    expect(() => encodeFrame(1.5, new Uint8Array(0))).toThrow(InvalidOptionsError);
  });

  it("computes the Len field for both modes", () => {
    expect(lengthFieldFor(10)).toBe(11);
    expect(lengthFieldFor(10, "payload")).toBe(10);
  });
});
