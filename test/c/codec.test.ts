/**
 * The C codecs speak protobuf exactly as protobufjs does: they produce the bytes of the frames in
 * docs/PROTOCOL.md, and for random messages of every fixture proto (within the fields' bounds)
 * protobufjs's bytes decode in C and encode back to the very same bytes, which protobufjs reads as
 * the original message. Values over their bounds are refused with BOUND_EXCEEDED. The harness runs
 * under AddressSanitizer and UndefinedBehaviorSanitizer.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { truncateUtf8 } from "../../runtime/src/protobuf/bounds.js";
import { messageCName, serviceNames } from "../../src/emit/c/names.js";
import type { FieldModel, MessageModel, ProtoModel } from "../../src/model/types.js";
import { frameSpecOf, parseHex } from "../docs/frames.js";
import { extractBlocks } from "../docs/markdown.js";
import {
  canonical,
  type Fixture,
  fromReflection,
  messageArbitrary,
  type TsMessage,
  toReflection,
} from "../generator/codec-harness.js";
import { writeCSdk } from "./support/generate.js";
import { C_FIXTURES, deviceReady, loadFixtureModel, reflectionOf } from "./support/models.js";
import { compile, PROGRAMS, RUNTIME_C, requireTool, run, SANITIZE, scratch } from "./support/toolchain.js";

const SAMPLES_PER_MESSAGE = 30;
/** paybox from its sidecar map generates the same C code as the annotated paybox (generate-c.test.ts). */
const FIXTURES = C_FIXTURES.filter((fixture) => fixture.name !== "paybox-sidecar");
const work = scratch("codec");
afterAll(() => work.remove());
beforeAll(() => requireTool("clang"));

/** Builds the round-trip harness of a model; returns a function running a batch of lines. */
const harnesses = new Map<string, Promise<(lines: string[]) => Promise<string[]>>>();

/** The harness of a fixture, built once per file run. */
function harnessOf(model: ProtoModel, name: string): Promise<(lines: string[]) => Promise<string[]>> {
  const cached = harnesses.get(name);
  if (cached !== undefined) return cached;
  const built = harness(model, name);
  harnesses.set(name, built);
  return built;
}

async function harness(model: ProtoModel, name: string): Promise<(lines: string[]) => Promise<string[]>> {
  const sdk = writeCSdk(model, join(work.dir, name));
  const binary = join(work.dir, `${name}-roundtrip`);
  const service = serviceNames(model);
  await compile(
    "clang",
    [
      join(PROGRAMS, "roundtrip.c"),
      ...sdk.sources.filter((s) => !s.endsWith("_device.c")),
      join(RUNTIME_C, "src", "pn_wire.c"),
    ],
    binary,
    [
      "-std=c11",
      "-O1",
      "-g",
      ...SANITIZE,
      "-I",
      sdk.dir,
      `-DSDK_HEADER="${service.codecHeader}"`,
      `-DSDK_MESSAGES=${service.macro}_MESSAGES`,
    ],
  );
  return async (lines) => {
    const result = await run(binary, [], { input: `${lines.join("\n")}\n` });
    expect(result.code, result.stderr).toBe(0);
    return result.stdout.replace(/\n$/, "").split("\n");
  };
}

/** Strings and lists cut to the field's bounds (what a device accepts), recursively. */
function withinBounds(model: ProtoModel, message: MessageModel, value: TsMessage): TsMessage {
  const out: TsMessage = { ...value };
  const clampValue = (field: FieldModel, item: unknown): unknown => {
    if (typeof item === "string" && field.maxSize !== undefined) return truncateUtf8(item, field.maxSize);
    if (item instanceof Uint8Array && field.maxSize !== undefined) return item.subarray(0, field.maxSize);
    if (field.value.kind === "message" && typeof item === "object" && item !== null) {
      const target = model.messages.find(
        (m) => m.fullName === (field.value as { fullName: string }).fullName,
      )!;
      return withinBounds(model, target, item as TsMessage);
    }
    return item;
  };
  for (const field of message.fields) {
    const key =
      field.oneof === undefined
        ? field.tsName
        : message.oneofs.find((o) => o.protoName === field.oneof)!.tsName;
    const current = out[key];
    if (current === undefined) continue;
    if (field.oneof !== undefined) {
      const chosen = current as { case: string; value: unknown };
      if (chosen.case === field.tsName)
        out[key] = { case: chosen.case, value: clampValue(field, chosen.value) };
    } else if (field.mapKey !== undefined) {
      const entries = Object.entries(current as Record<string, unknown>).slice(0, field.maxCount);
      out[key] = Object.fromEntries(
        entries
          .map(
            ([k, v]) =>
              [
                field.mapKey === "string" ? truncateUtf8(k, field.maxSize ?? 0) : k,
                clampValue(field, v),
              ] as const,
          )
          .filter(([k]) => k !== "__proto__"),
      );
    } else if (field.repeated) {
      out[key] = (current as unknown[]).slice(0, field.maxCount).map((item) => clampValue(field, item));
    } else out[key] = clampValue(field, current);
  }
  return out;
}

describe.each(FIXTURES)("C codecs of $name against protobufjs", (fixture) => {
  it("decode protobufjs's bytes of random messages and encode them back byte for byte", {
    timeout: 180_000,
  }, async () => {
    const model = deviceReady(await loadFixtureModel(fixture));
    const root = await reflectionOf(fixture);
    const reference: Fixture = { model, root };
    const roundTrip = await harnessOf(model, fixture.name);
    const seed = Date.now();
    const cases: { name: string; value: TsMessage; bytes: Uint8Array }[] = [];
    for (const message of model.messages) {
      const type = root.lookupType(message.fullName);
      // protobufjs writes a `false` bool map key as `true`: no bool keys in the comparison.
      const arbitrary = messageArbitrary(model, message.fullName, { depth: 2, skipMapKeys: ["bool"] });
      for (const raw of fc.sample(arbitrary, { numRuns: SAMPLES_PER_MESSAGE, seed })) {
        const value = withinBounds(model, message, raw);
        cases.push({
          name: message.fullName,
          value,
          bytes: type.encode(toReflection(reference, message.fullName, value)).finish(),
        });
      }
    }
    const answers = await roundTrip(cases.map((c) => `${c.name} ${Buffer.from(c.bytes).toString("hex")}`));
    expect(answers).toHaveLength(cases.length);
    cases.forEach((c, index) => {
      const answer = answers[index]!;
      const context = `${c.name} ${canonical(c.value)} (seed ${seed})`;
      expect(answer, context).toBe(Buffer.from(c.bytes).toString("hex"));
      const decoded = root.lookupType(c.name).decode(Buffer.from(answer, "hex")) as unknown as Record<
        string,
        unknown
      >;
      expect(canonical(fromReflection(reference, c.name, decoded, false)), context).toBe(canonical(c.value));
    });
  });
});

describe("bounds on the device side", () => {
  it("refuse a value over max_size or more elements than max_count with BOUND_EXCEEDED", async () => {
    const fixture = C_FIXTURES.find((f) => f.name === "proto3")!;
    const model = deviceReady(await loadFixtureModel(fixture));
    const root = await reflectionOf(fixture);
    const roundTrip = await harnessOf(model, fixture.name);
    const repeated = root.lookupType("fx.Repeated");
    const scalars = root.lookupType("fx.Scalars");
    const line = (name: string, bytes: Uint8Array) => `${name} ${Buffer.from(bytes).toString("hex")}`;
    const answers = await roundTrip([
      line("fx.Scalars", scalars.encode({ f_string: "x".repeat(64) }).finish()),
      line("fx.Scalars", scalars.encode({ f_string: "x".repeat(65) }).finish()),
      line("fx.Scalars", scalars.encode({ f_bytes: Buffer.alloc(65) }).finish()),
      line("fx.Repeated", repeated.encode({ r_int32: [1, 2, 3, 4, 5, 6, 7, 8] }).finish()),
      line("fx.Repeated", repeated.encode({ r_int32: [1, 2, 3, 4, 5, 6, 7, 8, 9] }).finish()),
      line("fx.Repeated", repeated.encode({ r_string: Array.from({ length: 9 }, () => "s") }).finish()),
      // Cut inside a value, and a varint of eleven bytes.
      "fx.Scalars 7205616263",
      "fx.Scalars 18ffffffffffffffffffff01",
    ]);
    expect(answers[0]).not.toMatch(/^ERR/);
    expect(answers.slice(1, 3)).toEqual(["ERR BOUND_EXCEEDED", "ERR BOUND_EXCEEDED"]);
    expect(answers[3]).not.toMatch(/^ERR/);
    expect(answers.slice(4, 6)).toEqual(["ERR BOUND_EXCEEDED", "ERR BOUND_EXCEEDED"]);
    expect(answers.slice(6)).toEqual(["ERR TRUNCATED", "ERR MALFORMED"]);
  });
});

describe("the frames of docs/PROTOCOL.md", () => {
  it("are the bytes the C codecs and frame header produce", async () => {
    const model = await loadFixtureModel(C_FIXTURES[0]!);
    const sdk = writeCSdk(model, join(work.dir, "frames"));
    const frames = extractBlocks("docs/PROTOCOL.md").filter((block) => block.lang === "hex");
    expect(frames.length).toBeGreaterThan(0);
    const statements = frames.flatMap((block, index) => {
      const spec = frameSpecOf(block);
      const wire = model.wire.find((entry) => entry.message.tsName === spec.message)!;
      expect(wire, spec.message).toBeDefined();
      return buildAndPrint(model, wire.message, wire.wire.type, spec.fields, index);
    });
    const source = join(work.dir, "frames.c");
    writeFileSync(
      source,
      [
        "#include <stdio.h>",
        "#include <paynet/pn_frame.h>",
        '#include "paybox.h"',
        "static void print_frame(uint8_t type, const pn_writer *w) {",
        "  uint8_t header[PN_FRAME_HEADER_SIZE];",
        "  pn_frame_header(header, type, (uint32_t)w->len);",
        '  for (size_t i = 0; i < sizeof header; i++) printf("%02x", header[i]);',
        '  for (size_t i = 0; i < w->len; i++) printf("%02x", w->buf[i]);',
        '  printf("\\n");',
        "}",
        "int main(void) {",
        "  static uint8_t buffer[4096];",
        ...statements,
        "  return 0;",
        "}",
      ].join("\n"),
    );
    const binary = join(work.dir, "frames-program");
    await compile(
      "clang",
      [
        source,
        ...sdk.sources.filter((s) => !s.endsWith("_device.c")),
        join(RUNTIME_C, "src", "pn_wire.c"),
        join(RUNTIME_C, "src", "pn_frame.c"),
      ],
      binary,
      ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wconversion", ...SANITIZE, "-I", sdk.dir],
    );
    const result = await run(binary, []);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trimEnd().split("\n")).toEqual(
      frames.map((block) => parseHex(block.body).toString("hex")),
    );
  });
});

/** C statements setting the message of a frame annotation, encoding it and printing its frame. */
function buildAndPrint(
  model: ProtoModel,
  message: MessageModel,
  type: number,
  fields: Record<string, unknown>,
  index: number,
): string[] {
  const name = messageCName(message);
  const local = `m${index}`;
  const lines = [`  {`, `    static ${name} ${local};`, `    ${name}_init(&${local});`];
  for (const [protoName, value] of Object.entries(fields)) {
    const field = message.fields.find((candidate) => candidate.protoName === protoName);
    if (field === undefined) throw new Error(`${message.fullName} has no field ${protoName}`);
    if (typeof value === "string")
      lines.push(
        `    if (PN_SET_STRING(${local}.${protoName}, ${JSON.stringify(value)}) != PN_OK) return 1;`,
      );
    else if (field.value.kind === "scalar" && /64/.test(field.value.scalar))
      lines.push(
        `    ${local}.${protoName} = ${value}${field.value.scalar.startsWith("u") || field.value.scalar === "fixed64" ? "u" : ""}LL;`,
      );
    else lines.push(`    ${local}.${protoName} = ${String(value)};`);
  }
  void model;
  lines.push(
    "    pn_writer w;",
    "    pn_writer_init(&w, buffer, sizeof buffer);",
    `    if (${name}_encode(&${local}, &w) != PN_OK) return 1;`,
    `    print_frame(0x${type.toString(16)}u, &w);`,
    "  }",
  );
  return lines;
}
