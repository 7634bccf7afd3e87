/**
 * Size bounds in the TypeScript SDK: generated encoders refuse a string or bytes value over its
 * `(paynet.max_size)` (UTF-8 bytes for strings) and more elements than `(paynet.max_count)`, with a
 * typed `BOUND_EXCEEDED` error naming message, field and limit; values at the bound encode as before.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BoundExceededError } from "../../runtime/src/errors.js";
import { truncateUtf8 } from "../../runtime/src/protobuf/bounds.js";
import { BOUNDED_FIXTURE } from "./codec-fixtures.js";
import {
  type GeneratedSdk,
  loadFixture,
  type TsMessage,
  typeCheck,
  writeGenerated,
} from "./codec-harness.js";

interface Codec {
  encode(message: TsMessage): Uint8Array;
  decode(bytes: Uint8Array): TsMessage;
}

describe("generated encoders honour size bounds", () => {
  let sdk: GeneratedSdk;
  let bounded: Codec;

  beforeAll(async () => {
    const { model } = await loadFixture(BOUNDED_FIXTURE, "bounded");
    sdk = writeGenerated(model, "bounds");
    ({
      codecs: { Bounded: bounded },
    } = (await import(sdk.codecsPath)) as { codecs: { Bounded: Codec } });
  });
  afterAll(() => sdk?.remove());

  it("type-checks under the strictest options", () => {
    expect(typeCheck([sdk.typesPath, sdk.codecsPath])).toEqual([]);
  });

  it("encodes values at their bounds and decodes them back", () => {
    const message = {
      name: "héllo", // 6 UTF-8 bytes
      // Buffers: what the decoder gives back for bytes.
      blob: Buffer.alloc(4),
      tags: ["abc", "d"],
      codes: [1, 2, 3],
      attrs: { a: Buffer.alloc(2), bb: Buffer.alloc(1) },
      choice: { case: "label", value: "x" },
      items: [{ id: "ab" }],
      free: "x".repeat(10_000),
    };
    expect(bounded.decode(bounded.encode(message))).toMatchObject(message);
  });

  const over: [string, TsMessage, string][] = [
    [
      "a string over max_size in UTF-8 bytes",
      { name: "hélloo" },
      "name has 7 bytes, more than its max_size of 6",
    ],
    ["a long string", { name: "x".repeat(1000) }, "name has 1000 bytes, more than its max_size of 6"],
    ["bytes over max_size", { blob: new Uint8Array(5) }, "blob has 5 bytes, more than its max_size of 4"],
    ["too many elements", { tags: ["a", "b", "c"] }, "tags has 3 elements, more than its max_count of 2"],
    ["an element over max_size", { tags: ["a", "abcd"] }, "tags has 4 bytes, more than its max_size of 3"],
    [
      "too many packed elements",
      { codes: [1, 2, 3, 4] },
      "codes has 4 elements, more than its max_count of 3",
    ],
    [
      "too many map entries",
      { attrs: { a: new Uint8Array(0), b: new Uint8Array(0), c: new Uint8Array(0) } },
      "attrs has 3 elements, more than its max_count of 2",
    ],
    [
      "a map key over max_size",
      { attrs: { abc: new Uint8Array(0) } },
      "attrs has 3 bytes, more than its max_size of 2",
    ],
    [
      "a map value over max_size",
      { attrs: { a: new Uint8Array(3) } },
      "attrs has 3 bytes, more than its max_size of 2",
    ],
    [
      "a oneof member over max_size",
      { choice: { case: "label", value: "ab" } },
      "label has 2 bytes, more than its max_size of 1",
    ],
    ["too many messages", { items: [{}, {}] }, "items has 2 elements, more than its max_count of 1"],
  ];

  it.each(over)("refuses %s with BOUND_EXCEEDED", (_what, message, detail) => {
    let thrown: unknown;
    try {
      bounded.encode(message);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BoundExceededError);
    const error = thrown as BoundExceededError;
    expect(error.code).toBe("BOUND_EXCEEDED");
    expect(error.message).toBe(`cannot encode bd.Bounded: ${detail} (bd.Bounded)`);
  });

  it("checks nested messages against their own bounds", () => {
    expect(() => bounded.encode({ items: [{ id: "abc" }] })).toThrow(
      "cannot encode bd.Item: id has 3 bytes, more than its max_size of 2",
    );
  });
});

describe("truncateUtf8", () => {
  it("cuts to at most maxSize bytes, never inside a character", () => {
    expect(truncateUtf8("short", 200)).toBe("short");
    expect(truncateUtf8("abcdef", 4)).toBe("abcd");
    expect(truncateUtf8("ééé", 5)).toBe("éé");
    expect(truncateUtf8("a€b", 3)).toBe("a");
    expect(truncateUtf8("😀😀", 7)).toBe("😀");
    for (let size = 0; size < 12; size++)
      expect(Buffer.byteLength(truncateUtf8("aé€😀b", size))).toBeLessThanOrEqual(size);
  });
});
