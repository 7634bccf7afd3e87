/**
 * `@paynet/runtime/protobuf`: the 64-bit helpers generated codecs rely on, checked against
 * protobufjs's own Long-based reads and writes.
 */
import fc from "fast-check";
import Long from "long";
import { describe, expect, it } from "vitest";
import {
  int64Value,
  Reader,
  readFixed64,
  readInt64,
  readSfixed64,
  readSint64,
  readString,
  readUint64,
  Writer,
} from "../../runtime/src/protobuf/index.js";

const INT64 = fc.oneof(
  fc.constantFrom(
    0n,
    1n,
    -1n,
    2n ** 63n - 1n,
    -(2n ** 63n),
    2n ** 53n,
    -(2n ** 53n),
    2n ** 53n + 1n,
    2n ** 32n,
  ),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
);
const UINT64 = fc.oneof(
  fc.constantFrom(0n, 2n ** 64n - 1n, 2n ** 63n, 2n ** 53n + 1n, 2n ** 32n - 1n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);

describe("64-bit reads and writes", () => {
  it("agree with protobufjs Long for signed types", () => {
    fc.assert(
      fc.property(INT64, (value) => {
        const bytes = Writer.create()
          .int64(int64Value(value))
          .sint64(int64Value(value))
          .sfixed64(int64Value(value))
          .finish();
        const ours = Reader.create(bytes);
        expect([readInt64(ours), readSint64(ours), readSfixed64(ours)]).toEqual([value, value, value]);
        expect(ours.pos).toBe(bytes.length);
        const theirs = Reader.create(bytes);
        const expected = Long.fromString(value.toString()).toString();
        expect([theirs.int64(), theirs.sint64(), theirs.sfixed64()].map((long) => long.toString())).toEqual([
          expected,
          expected,
          expected,
        ]);
      }),
      { numRuns: 500 },
    );
  });

  it("agree with protobufjs Long for unsigned types", () => {
    fc.assert(
      fc.property(UINT64, (value) => {
        const bytes = Writer.create().uint64(int64Value(value)).fixed64(int64Value(value)).finish();
        const ours = Reader.create(bytes);
        expect([readUint64(ours), readFixed64(ours)]).toEqual([value, value]);
        const theirs = Reader.create(bytes);
        const expected = Long.fromString(value.toString(), true).toString();
        expect([theirs.uint64().toString(), theirs.fixed64().toString()]).toEqual([expected, expected]);
      }),
      { numRuns: 500 },
    );
  });

  it("hands exactly representable values to the writer as numbers, others as 32-bit halves", () => {
    expect(int64Value(2n ** 53n - 1n)).toBe(2 ** 53 - 1);
    expect(int64Value("-42")).toEqual({ low: -42, high: -1, unsigned: false });
    expect(int64Value(-42)).toBe(-42);
    expect(int64Value(2n ** 53n)).toEqual({ low: 0, high: 0x200000, unsigned: true });
    expect(int64Value(2n ** 64n - 1n)).toEqual({ low: -1, high: -1, unsigned: true });
  });

  it("refuses values outside 64 bits and non-integers", () => {
    expect(() => int64Value(2n ** 64n)).toThrow(RangeError);
    expect(() => int64Value(-(2n ** 63n) - 1n)).toThrow(RangeError);
    expect(() => int64Value(1.5)).toThrow(RangeError);
  });

  it("throws on truncated and overlong varints and truncated fixed64", () => {
    expect(() => readInt64(Reader.create(Uint8Array.of(0xff, 0xff)))).toThrow(RangeError);
    expect(() => readUint64(Reader.create(new Uint8Array(11).fill(0xff)))).toThrow("invalid varint encoding");
    expect(() => readFixed64(Reader.create(new Uint8Array(7)))).toThrow(RangeError);
  });
});

describe("readString", () => {
  const text = "Zahlung €5 ✓";
  const encoded = () => Writer.create().string(text).uint32(8).finish();

  it("reads a string from Buffers and plain Uint8Arrays alike", () => {
    for (const bytes of [Buffer.from(encoded()), Uint8Array.from(encoded())]) {
      const reader = Reader.create(bytes);
      expect(readString(reader)).toBe(text);
      expect(reader.uint32()).toBe(8);
    }
  });

  it("throws on a length prefix that runs past the end, where protobufjs's Buffer reader cuts it short", () => {
    const truncated = Uint8Array.of(0x05, 0x61, 0x62); // 5 bytes announced, 2 there
    expect(Reader.create(Buffer.from(truncated)).string()).toBe("ab");
    expect(() => readString(Reader.create(Buffer.from(truncated)))).toThrow(RangeError);
    expect(() => readString(Reader.create(truncated))).toThrow(RangeError);
  });
});
