/**
 * Wire-level behaviour of the generated codecs on hand-checked bytes: what is (not) written, both
 * repeated encodings, unknown fields, enums, proto2 rules, maps, 64-bit extremes, malformed input.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROTO2_FIXTURE, PROTO3_FIXTURE } from "./codec-fixtures.js";
import { DEFAULT_OPTIONS, type GeneratedSdk, hex, loadFixture, writeGenerated } from "./codec-harness.js";

type Message = Record<string, unknown>;
interface Codec {
  encode(message: Message): Uint8Array;
  decode(bytes: Uint8Array): Message;
}
type Create = (init?: Message) => Message;

let proto3: GeneratedSdk;
let proto2: GeneratedSdk;
let c3: Record<string, Codec>;
let c2: Record<string, Codec>;
let t3: Record<string, Create>;
let t2: Record<string, Create>;

beforeAll(async () => {
  proto3 = writeGenerated(
    (await loadFixture(PROTO3_FIXTURE, "proto3")).model,
    "wire-proto3",
    DEFAULT_OPTIONS,
  );
  proto2 = writeGenerated(
    (await loadFixture(PROTO2_FIXTURE, "proto2")).model,
    "wire-proto2",
    DEFAULT_OPTIONS,
  );
  c3 = ((await import(proto3.codecsPath)) as { codecs: Record<string, Codec> }).codecs;
  c2 = ((await import(proto2.codecsPath)) as { codecs: Record<string, Codec> }).codecs;
  t3 = (await import(proto3.typesPath)) as Record<string, Create>;
  t2 = (await import(proto2.typesPath)) as Record<string, Create>;
});
afterAll(() => {
  proto3?.remove();
  proto2?.remove();
});

const fromHex = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"));
const codec3 = (name: string) => c3[name] as Codec;
const codec2 = (name: string) => c2[name] as Codec;

function expectDecodeError(run: () => unknown, fragment: string): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(Error);
  expect((caught as { code?: string }).code).toBe("DECODE_ERROR");
  expect((caught as Error).message).toContain(fragment);
}

describe("what is written", () => {
  it("skips proto3 fields at their default, and absent fields of partial messages", () => {
    expect(codec3("Scalars").encode((t3.createScalars as Create)()).length).toBe(0);
    expect(codec3("Scalars").encode({}).length).toBe(0);
    expect(hex(codec3("Scalars").encode({ fInt32: 1, fString: "a" }))).toBe("1801" + "720161");
  });

  it("writes explicit-presence fields and set oneof members even at their default", () => {
    expect(hex(codec3("Optionals").encode({ oInt32: 0, oString: "" }))).toBe("0800" + "1200");
    expect(hex(codec3("Outer").encode({ result: { case: "ok", value: "" } }))).toBe("1200");
    expect(codec3("Outer").decode(fromHex("1200")).result).toEqual({ case: "ok", value: "" });
  });

  it("writes -0, which is not the default, and reads it back", () => {
    const bytes = codec3("Scalars").encode({ fDouble: -0 });
    expect(hex(bytes)).toBe("09" + "0000000000000080");
    expect(Object.is(codec3("Scalars").decode(bytes).fDouble, -0)).toBe(true);
  });

  it("writes a oneof at its members' field numbers, around the fields between them", () => {
    expect(hex(codec3("Outer").encode({ split: { case: "s2", value: "a" }, between: 1 }))).toBe(
      "4801" + "520161",
    );
    expect(hex(codec3("Outer").encode({ split: { case: "s1", value: 2 }, between: 1 }))).toBe(
      "4002" + "4801",
    );
  });

  it("writes 64-bit extremes exactly", () => {
    const scalars = codec3("Scalars");
    expect(hex(scalars.encode({ fInt64: -1n }))).toBe("40" + "ffffffffffffffffff01");
    expect(hex(scalars.encode({ fUint64: 2n ** 64n - 1n }))).toBe("48" + "ffffffffffffffffff01");
    expect(hex(scalars.encode({ fSint64: -(2n ** 63n) }))).toBe("50" + "ffffffffffffffffff01");
    expect(hex(scalars.encode({ fFixed64: 2n ** 64n - 1n }))).toBe("59" + "ffffffffffffffff");
    expect(hex(scalars.encode({ fSfixed64: -(2n ** 63n) }))).toBe("61" + "0000000000000080");
    const decoded = scalars.decode(
      fromHex(
        "40ffffffffffffffffff01 48ffffffffffffffffff01 50ffffffffffffffffff01 59ffffffffffffffff 610000000000000080",
      ),
    );
    expect(decoded).toMatchObject({
      fInt64: -1n,
      fUint64: 2n ** 64n - 1n,
      fSint64: -(2n ** 63n),
      fFixed64: 2n ** 64n - 1n,
      fSfixed64: -(2n ** 63n),
    });
  });

  it("refuses 64-bit values that do not fit instead of truncating them", () => {
    expect(() => codec3("Scalars").encode({ fInt64: 2n ** 64n })).toThrow(RangeError);
    expect(() => codec3("Scalars").encode({ fInt64: -(2n ** 63n) - 1n })).toThrow(RangeError);
  });
});

describe("repeated fields", () => {
  it("packs by default in proto3 and accepts both encodings on decode", () => {
    const packed = codec3("Repeated").encode({ rInt32: [1, 2, 300], rState: [1, 5] });
    expect(hex(packed)).toBe("1a040102ac02" + "82010201" + "05");
    const unpacked = codec3("Unpacked").encode({ rInt32: [1, 2, 300], rState: [1, 5] });
    expect(hex(unpacked)).toBe("1801" + "1802" + "18ac02" + "800101" + "800105");
    expect(codec3("Unpacked").decode(packed)).toMatchObject({ rInt32: [1, 2, 300], rState: [1, 5] });
    expect(codec3("Repeated").decode(unpacked)).toMatchObject({ rInt32: [1, 2, 300], rState: [1, 5] });
  });

  it("keeps proto2 repeated fields unpacked unless [packed = true]", () => {
    const base = { id: "", count: 0, requiredLevel: 1, serial: 0n };
    const bytes = codec2("Legacy").encode({ ...base, unpacked: [1, 2], packed: [3, 4] });
    expect(hex(bytes)).toContain("3001" + "3002" + "3a020304");
    expect(codec2("Legacy").decode(bytes)).toMatchObject({ unpacked: [1, 2], packed: [3, 4] });
  });
});

describe("decoding", () => {
  it("skips unknown fields of every wire type", () => {
    const outer = codec3("Outer").encode({
      inner: { id: 7n, children: [], label: "x" },
      result: { case: "big", value: 2n ** 40n },
      after: 9,
    });
    const scalars = codec3("Scalars").encode({
      fDouble: 1.5,
      fFloat: 2,
      fFixed64: 3n,
      fString: "s",
      fInt32: -1,
    });
    expect(codec3("Empty").decode(outer)).toEqual({});
    expect(codec3("Empty").decode(scalars)).toEqual({});
  });

  it("keeps unknown numbers of open (proto3) enums", () => {
    expect(codec3("Scalars").decode(fromHex("80012a")).fState).toBe(42);
  });

  it("drops unknown numbers of closed (proto2) enums", () => {
    const base = { id: "a", count: 1, requiredLevel: 1, serial: 1n };
    const decoded = codec2("Legacy").decode(
      codec2("Legacy").encode({ ...base, level: 99, levels: [1, 99, 5] }),
    );
    expect(decoded.level).toBeUndefined();
    expect(decoded.levels).toEqual([1, 5]);
  });

  it("fails with a DecodeError naming a missing proto2 required field", () => {
    const bytes = codec2("Legacy").encode({ id: "x", requiredLevel: 1, serial: 1n });
    expectDecodeError(() => codec2("Legacy").decode(bytes), "missing required field 'count'");
  });

  it("starts proto2 messages from their [default]s and leaves absent optionals absent", () => {
    const created = (t2.createLegacy as Create)();
    expect(created).toMatchObject({ count: 7, requiredLevel: 2, serial: 12345678901n });
    const decoded = codec2("Legacy").decode(
      codec2("Legacy").encode({ id: "a", count: 1, requiredLevel: 5, serial: 2n }),
    );
    expect(decoded).toEqual({
      id: "a",
      count: 1,
      requiredLevel: 5,
      unpacked: [],
      packed: [],
      levels: [],
      levelMap: {},
      serial: 2n,
    });
  });

  it("stores a `__proto__` map key as an entry, not as the map's prototype", () => {
    const map = JSON.parse('{"__proto__": "x", "b": "y"}') as Record<string, string>;
    const decoded = codec3("Maps").decode(codec3("Maps").encode({ mString: map }));
    const mString = decoded.mString as Record<string, string>;
    expect(Object.getPrototypeOf(mString)).toBeNull();
    expect(Object.keys(mString)).toEqual(["__proto__", "b"]);
    expect(Object.getOwnPropertyDescriptor(mString, "__proto__")?.value).toBe("x");
  });

  it("gives an absent map value its default, an empty message for message values", () => {
    // m_int64 entry with key 5 and no value; m_string entry with no key and no value.
    const decoded = codec3("Maps").decode(fromHex("1a020805" + "0a00"));
    expect(decoded.mString).toEqual({ "": "" });
    expect(decoded.mInt64).toEqual({ 5: (t3.createScalars as Create)() });
  });

  it("throws on input cut inside a tag, a number or a length-delimited field", () => {
    const bytes = codec3("Scalars").encode({ fInt64: -1n, fFixed64: 1n, fBytes: Uint8Array.of(1, 2, 3) });
    expect(bytes.length).toBe(11 + 9 + 5);
    for (let cut = 1; cut < bytes.length; cut++) {
      // Cut at a boundary between fields, the bytes are a valid (shorter) message.
      if (cut !== 11 && cut !== 20)
        expect(() => codec3("Scalars").decode(bytes.subarray(0, cut))).toThrow(RangeError);
    }
  });

  it("fails with a DecodeError when a nested message overruns its length prefix", () => {
    // Outer.inner announces 2 bytes, but its label field (tag 0x1a) holds 5.
    expectDecodeError(
      () => codec3("Outer").decode(fromHex("0a02" + "1a05" + "68656c6c6f")),
      "overruns its length prefix",
    );
  });
});
