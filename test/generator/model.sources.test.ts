/**
 * Source handling of the loader: parse-error positions (protobufjs gives a line at best), files
 * outside the working directory, the bundled paynet options, option spellings.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import protobuf from "protobufjs";
import { afterAll, describe, expect, it } from "vitest";
import { formatDiagnostic, loadModel, PAYNET_PROTO_DIR } from "../../src/model/index.js";

const dir = mkdtempSync(join(tmpdir(), "paynet-model-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `source` as `<name>.proto` in a temporary directory and loads it with that directory as cwd. */
async function load(name: string, source: string) {
  writeFileSync(join(dir, `${name}.proto`), source);
  return loadModel({ inputs: [`${name}.proto`], cwd: dir });
}

async function messagesOf(name: string, source: string): Promise<string[]> {
  return (await load(name, source)).diagnostics.map(formatDiagnostic);
}

describe("parse errors get file:line:col", () => {
  it("points at the offending token", async () => {
    expect(
      await messagesOf(
        "missing-semicolon",
        'syntax = "proto3";\nmessage A {\n  int32 a = 1\n  int32 b = 2;\n}\n',
      ),
    ).toEqual(["missing-semicolon.proto:4:3: error [syntax] illegal token 'int32', ';' expected"]);
  });

  it("points at an unterminated string's quote", async () => {
    expect(
      await messagesOf("open-string", 'syntax = "proto3";\nmessage A {\n  option (x) = "abc;\n}\n'),
    ).toEqual(["open-string.proto:3:16: error [syntax] illegal string"]);
  });

  it("points at the end of the file when input ends early", async () => {
    expect(await messagesOf("truncated", 'syntax = "proto3";\nmessage A {\n  int32 a = 1;\n')).toEqual([
      "truncated.proto:3:15: error [syntax] unexpected end of input",
    ]);
    expect(await messagesOf("truncated-option", 'syntax = "proto3";\noption java_package =')).toEqual([
      "truncated-option.proto:2:22: error [syntax] unexpected end of input",
    ]);
  });

  it("places declaration errors protobufjs reports without a line on the second declaration", async () => {
    expect(
      await messagesOf("twice", 'syntax = "proto3";\nmessage A {\n  int32 a = 1;\n  string a = 2;\n}\n'),
    ).toEqual(["twice.proto:4:10: error [duplicate-name] A.a is already defined at twice.proto:3:9"]);
  });
});

describe("sources outside the working directory and option spellings", () => {
  it("finds paynet/options.proto from any directory and accepts `(.paynet.type)`", async () => {
    const result = await load(
      "anywhere",
      [
        'syntax = "proto3";',
        "package far.away;",
        'import public "paynet/options.proto";',
        "message Up {",
        "  option (.paynet.type) = 017;",
        "  option (paynet.direction) = BOTH;",
        '  option (paynet.reply) = ".far.away.Up";',
        "  optional string id = 1 [ (paynet.correlation) = true, deprecated = true ];",
        "  S state = 2;",
        "}",
        "enum S { S_PENDING = 0; S_FAILED = 1 [ (.paynet.final) = true ]; }",
        "",
      ].join("\n"),
    );
    expect(result.diagnostics).toEqual([]);
    const model = result.model!;
    expect(model.inputs).toEqual(["anywhere.proto"]);
    expect(model.serviceName).toBe("FarAway");
    expect(model.wire.map((w) => w.wire)).toEqual([
      {
        type: 0o17,
        direction: "both",
        reply: "far.away.Up",
        correlationField: "id",
        source: "proto",
        replyFinal: {
          field: "state",
          enumName: "far.away.S",
          finalValues: ["S_FAILED"],
          failureValue: "S_FAILED",
        },
      },
    ]);
    expect(model.messages[0]!.fields[0]).toMatchObject({
      protoName: "id",
      hasPresence: true,
      correlation: true,
    });
  });

  it("names the service after the file when there is no package", async () => {
    const result = await load("coin-box_v2", 'syntax = "proto3";\nmessage A { int32 a = 1; }\n');
    expect(result.model?.serviceName).toBe("CoinBoxV2");
  });

  it("shows files outside cwd with their absolute path", async () => {
    writeFileSync(join(dir, "outside.proto"), 'syntax = "proto3";\nmessage A { Nope n = 1; }\n');
    const { diagnostics } = await loadModel({ inputs: [join(dir, "outside.proto")], cwd: PAYNET_PROTO_DIR });
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      `${join(dir, "outside.proto")}:2:13: error [unresolved-type] field A.n: unknown type "Nope"`,
    ]);
  });
});

describe("proto/paynet/options.proto", () => {
  it("defines the documented options with extension numbers in 51201..51299", () => {
    const source = readFileSync(join(PAYNET_PROTO_DIR, "paynet", "options.proto"), "utf8");
    const { root, package: pkg } = protobuf.parse(source, { keepCase: true });
    expect(pkg).toBe("paynet");
    const nested = (root.lookup("paynet") as protobuf.Namespace).nestedArray;
    const extensions = Object.fromEntries(
      nested.filter((item) => item instanceof protobuf.Field).map((f) => [f.name, [f.extend, f.id, f.type]]),
    );
    expect(extensions).toEqual({
      type: ["google.protobuf.MessageOptions", 51201, "uint32"],
      direction: ["google.protobuf.MessageOptions", 51202, "Direction"],
      reply: ["google.protobuf.MessageOptions", 51203, "string"],
      role: ["google.protobuf.MessageOptions", 51204, "Role"],
      correlation: ["google.protobuf.FieldOptions", 51211, "bool"],
      max_size: ["google.protobuf.FieldOptions", 51212, "uint32"],
      max_count: ["google.protobuf.FieldOptions", 51213, "uint32"],
      final: ["google.protobuf.EnumValueOptions", 51221, "bool"],
      identity: ["google.protobuf.FieldOptions", 51214, "Identity"],
    });
    expect((root.lookup("paynet.Identity") as protobuf.Enum).values).toEqual({
      IDENTITY_UNSPECIFIED: 0,
      SERIAL: 1,
      DEVICE_ID: 2,
    });
    expect((root.lookup("paynet.Direction") as protobuf.Enum).values).toEqual({
      DIRECTION_UNSPECIFIED: 0,
      UPLINK: 1,
      DOWNLINK: 2,
      BOTH: 3,
    });
    expect((root.lookup("paynet.Role") as protobuf.Enum).values).toEqual({
      ROLE_UNSPECIFIED: 0,
      REGISTER: 1,
      LOGIN: 2,
      HEARTBEAT: 3,
      ERROR: 4,
    });
  });
});
