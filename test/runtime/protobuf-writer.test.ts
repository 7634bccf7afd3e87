/**
 * paynet's direct-to-buffer `Writer` writes the bytes protobufjs's `Writer` writes, for every
 * method generated encoders call, in any order and nesting (including parts of 128 bytes and more,
 * whose length prefix needs more than the one byte `fork()` reserves).
 */
import fc from "fast-check";
import protobuf from "protobufjs/minimal.js";
import { describe, expect, it } from "vitest";
import { BoundExceededError } from "../../runtime/src/errors.js";
import { encodeMessage, int64Value, Writer } from "../../runtime/src/protobuf/index.js";

type Op =
  | { kind: "uint32" | "int32" | "sint32" | "fixed32" | "sfixed32"; value: number }
  | { kind: "float" | "double"; value: number }
  | { kind: "bool"; value: boolean }
  | { kind: "int64" | "uint64" | "sint64" | "fixed64" | "sfixed64"; value: bigint }
  | { kind: "string"; value: string }
  | { kind: "bytes"; value: Uint8Array }
  | { kind: "nested"; ops: Op[] };

const INT32 = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.constantFrom(0, -1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, -(2 ** 31)),
);
const UINT32 = fc.oneof(fc.nat({ max: 2 ** 32 - 1 }), fc.constantFrom(0, 127, 128, 2 ** 28, 2 ** 32 - 1));
const INT64 = fc.oneof(
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.constantFrom(0n, -1n, 2n ** 53n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n)),
);
// Well-formed text only: for lone surrogates protobufjs's short-string path writes CESU-8 bytes.
const TEXT = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 60 }),
  fc.string({ minLength: 100, maxLength: 300 }),
  fc.string({ unit: "grapheme", minLength: 40, maxLength: 200 }),
);

const { op } = fc.letrec<{ op: Op }>((tie) => ({
  op: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ kind: fc.constantFrom("uint32" as const, "fixed32" as const), value: UINT32 }),
    fc.record({
      kind: fc.constantFrom("int32" as const, "sint32" as const, "sfixed32" as const),
      value: INT32,
    }),
    fc.record({ kind: fc.constant("float" as const), value: fc.float({ noNaN: true }) }),
    fc.record({ kind: fc.constant("double" as const), value: fc.double({ noNaN: true }) }),
    fc.record({ kind: fc.constant("bool" as const), value: fc.boolean() }),
    fc.record({
      kind: fc.constantFrom(
        "int64" as const,
        "uint64" as const,
        "sint64" as const,
        "fixed64" as const,
        "sfixed64" as const,
      ),
      value: INT64,
    }),
    fc.record({ kind: fc.constant("string" as const), value: TEXT }),
    fc.record({ kind: fc.constant("bytes" as const), value: fc.uint8Array({ maxLength: 300 }) }),
    fc.record({ kind: fc.constant("nested" as const), ops: fc.array(tie("op"), { maxLength: 8 }) }),
  ),
}));

/** Replays `ops` on a writer of either implementation (they share the method names). */
function replay(writer: Writer | protobuf.Writer, ops: Op[]): void {
  const w = writer as unknown as Record<string, (value?: unknown) => unknown>;
  for (const step of ops) {
    switch (step.kind) {
      case "nested":
        w.fork!();
        replay(writer, step.ops);
        w.ldelim!();
        break;
      case "int64":
      case "uint64":
      case "sint64":
      case "fixed64":
      case "sfixed64":
        w[step.kind]!(int64Value(step.value));
        break;
      default:
        w[step.kind]!(step.value);
    }
  }
}

const protobufjsBytes = (ops: Op[]) => {
  const writer = protobuf.Writer.create();
  replay(writer, ops);
  return Buffer.from(writer.finish()).toString("hex");
};

describe("protobuf Writer", () => {
  it("writes the bytes protobufjs writes, for any sequence and nesting of writes", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
        const writer = Writer.create();
        replay(writer, ops);
        expect(Buffer.from(writer.finish()).toString("hex")).toBe(protobufjsBytes(ops));
      }),
      { numRuns: 400 },
    );
  });

  it("fixes up length prefixes of nested parts of 128 bytes and more, at every depth", () => {
    const long = "x".repeat(200);
    const ops: Op[] = [
      { kind: "uint32", value: 10 },
      {
        kind: "nested",
        ops: [
          { kind: "string", value: long },
          { kind: "nested", ops: [{ kind: "bytes", value: new Uint8Array(20_000).fill(7) }] },
        ],
      },
      { kind: "string", value: "é".repeat(100) },
    ];
    const writer = Writer.create();
    replay(writer, ops);
    expect(Buffer.from(writer.finish()).toString("hex")).toBe(protobufjsBytes(ops));
  });

  it("is empty after finish() and reusable; ldelim() without fork() is a clear error", () => {
    const writer = Writer.create().uint32(300);
    expect([...writer.finish()]).toEqual([0xac, 0x02]);
    expect(writer.len).toBe(0);
    expect([...writer.string("hi").finish()]).toEqual([2, 0x68, 0x69]);
    expect(() => Writer.create().ldelim()).toThrow("ldelim() without a matching fork()");
  });

  it("accepts 64-bit values as numbers, halves, bigints and decimal strings alike", () => {
    const forms = [-5, { low: -5, high: -1 }, -5n, "-5"];
    const encoded = forms.map((value) =>
      Buffer.from(Writer.create().int64(value).sint64(value).finish()).toString("hex"),
    );
    expect(new Set(encoded).size).toBe(1);
  });
});

describe("Writer.boundedString", () => {
  it("writes what string() writes when the UTF-8 size is within the bound, and refuses it otherwise", () => {
    fc.assert(
      fc.property(TEXT, fc.integer({ min: 0, max: 400 }), (text, maxSize) => {
        const size = Buffer.byteLength(text, "utf8");
        const writer = new Writer();
        writer.uint32(10);
        if (size <= maxSize) {
          writer.boundedString(text, maxSize, "pkg.M", "f");
          expect(Buffer.from(writer.finish())).toEqual(
            Buffer.from(new Writer().uint32(10).string(text).finish()),
          );
          return;
        }
        let error: unknown;
        try {
          writer.boundedString(text, maxSize, "pkg.M", "f");
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(BoundExceededError);
        expect((error as BoundExceededError).message).toContain(`${size}`);
        // What the call wrote is taken back; what was written before stays.
        expect(writer.len).toBe(1);
      }),
    );
  });
});

describe("encodeMessage", () => {
  const encodePair = (m: { a: number; b: string }, w: Writer) =>
    w.uint32(8).uint32(m.a).uint32(18).string(m.b);

  it("returns a buffer of its own each call (the reused writer never leaks into a result)", () => {
    const first = encodeMessage(encodePair, { a: 1, b: "one" });
    const second = encodeMessage(encodePair, { a: 2, b: "two" });
    expect(Buffer.from(first).toString("hex")).toBe("0801120" + "36f6e65");
    expect(Buffer.from(second).toString("hex")).toBe("080212037477" + "6f");
  });

  it("recovers from an encoder that throws halfway, and from one that encodes another message inside", () => {
    expect(() =>
      encodeMessage((_m: unknown, w: Writer) => {
        w.uint32(8).fork().uint32(1);
        throw new RangeError("bad field");
      }, {}),
    ).toThrow("bad field");
    const nested = encodeMessage(
      (m: { a: number; b: string }, w: Writer) => {
        const inner = encodeMessage(encodePair, m);
        return w.uint32(10).bytes(inner);
      },
      { a: 3, b: "x" },
    );
    expect(Buffer.from(nested).toString("hex")).toBe("0a05" + "0803120178");
    expect(Buffer.from(encodeMessage(encodePair, { a: 4, b: "" })).toString("hex")).toBe("08041200");
  });
});
