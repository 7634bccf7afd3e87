import { describe, expect, it } from "vitest";
import { annotateProto, annotateSidecar, SourceEditError, writtenAnnotations } from "../../src/model/edit.js";
import { originalLines } from "../../src/scaffold/line-map.js";

/** The lines of `after` that are not in `before`, asserting that everything else is unchanged and in order. */
function addedLines(before: string, after: string): string[] {
  const old = before.split("\n");
  const added: string[] = [];
  let i = 0;
  for (const line of after.split("\n")) {
    if (i < old.length && line === old[i]) i++;
    else added.push(line);
  }
  expect(i, "every original line survives, in order").toBe(old.length);
  return added;
}

const PROTO = `// Paybox protocol (hand-maintained, do not reformat)
syntax = "proto3";

package paybox;

/* block comment with a fake message CoinAck { } inside */
message RegisterReq {
    string device_sn = 1;   // serial
    string model = 2;
}

message CoinAck {
  // order this ack answers
  string order_id = 1;
  uint32 state = 2 [deprecated = true];
  oneof detail { string error = 4; uint32 progress = 3; }
}

message Empty {}
message OneLine { string a = 1; }
`;

describe("annotateProto", () => {
  it("inserts option lines after the opening brace with the body's indentation and adds the import", () => {
    const edited = annotateProto(PROTO, "RegisterReq", {
      type: 0x01,
      direction: "up",
      reply: "RegisterRsp",
      role: "register",
    });
    expect(addedLines(PROTO, edited)).toEqual([
      'import "paynet/options.proto";',
      "",
      "    option (paynet.type) = 0x01;",
      "    option (paynet.direction) = UPLINK;",
      '    option (paynet.reply) = "RegisterRsp";',
      "    option (paynet.role) = REGISTER;",
    ]);
    expect(edited).toContain('package paybox;\n\nimport "paynet/options.proto";\n\n/* block');
    expect(edited).toContain("message RegisterReq {\n    option (paynet.type) = 0x01;");
  });

  it("skips comments and strings when looking for the message, marks the correlation field", () => {
    const edited = annotateProto(PROTO, "paybox.CoinAck", {
      type: 0x84,
      direction: "up",
      correlation: "order_id",
    });
    expect(edited).toContain(
      "message CoinAck {\n  option (paynet.type) = 0x84;\n  option (paynet.direction) = UPLINK;\n  // order",
    );
    expect(edited).toContain("string order_id = 1 [(paynet.correlation) = true];");
    expect(edited).toContain("/* block comment with a fake message CoinAck { } inside */");
  });

  it("adds the correlation option into an existing option list, and finds oneof members", () => {
    const state = annotateProto(PROTO, "CoinAck", { type: 0x84, direction: "up", correlation: "state" });
    expect(state).toContain("uint32 state = 2 [deprecated = true, (paynet.correlation) = true];");
    const oneofField = annotateProto(PROTO, "CoinAck", { type: 0x84, direction: "up", correlation: "error" });
    expect(oneofField).toContain("string error = 4 [(paynet.correlation) = true];");
  });

  it("handles empty and one-line messages", () => {
    expect(annotateProto(PROTO, "Empty", { type: 0x10, direction: "down" })).toContain(
      "message Empty { option (paynet.type) = 0x10; option (paynet.direction) = DOWNLINK; }",
    );
    expect(annotateProto(PROTO, "OneLine", { type: 0x11, direction: "both" })).toContain(
      "message OneLine { option (paynet.type) = 0x11; option (paynet.direction) = BOTH; string a = 1; }",
    );
  });

  it("keeps an existing import and adds after the last import", () => {
    const withImports = PROTO.replace(
      "package paybox;\n",
      'package paybox;\n\nimport "google/protobuf/empty.proto";\n',
    );
    const edited = annotateProto(withImports, "Empty", { type: 0x10, direction: "down" });
    expect(edited).toContain(
      'import "google/protobuf/empty.proto";\nimport "paynet/options.proto";\n\n/* block',
    );
    const again = annotateProto(edited, "OneLine", { type: 0x11, direction: "up" });
    expect(again.match(/paynet\/options\.proto/g)).toHaveLength(1);
  });

  it("refuses an annotated message without force and replaces the annotation with force", () => {
    const once = annotateProto(PROTO, "CoinAck", {
      type: 0x84,
      direction: "up",
      reply: "X",
      correlation: "order_id",
    });
    expect(() => annotateProto(once, "CoinAck", { type: 0x85, direction: "up" })).toThrow(
      /already annotated.*--force/,
    );
    const forced = annotateProto(
      once,
      "CoinAck",
      { type: 0x85, direction: "down", correlation: "state" },
      { force: true },
    );
    expect(forced).toContain(
      "message CoinAck {\n  option (paynet.type) = 0x85;\n  option (paynet.direction) = DOWNLINK;\n  // order",
    );
    expect(forced).not.toContain("paynet.reply");
    expect(forced).toContain("string order_id = 1;");
    expect(forced).toContain("uint32 state = 2 [deprecated = true, (paynet.correlation) = true];");
    // Going back restores the original bytes of the body.
    const back = annotateProto(
      forced,
      "CoinAck",
      { type: 0x84, direction: "up", reply: "X", correlation: "order_id" },
      { force: true },
    );
    expect(back).toBe(once);
  });

  it("preserves CRLF line endings", () => {
    const crlf = PROTO.replace(/\n/g, "\r\n");
    const edited = annotateProto(crlf, "RegisterReq", { type: 1, direction: "up" });
    expect(edited.replace(/\r\n/g, "")).not.toContain("\n");
    expect(edited).toContain("message RegisterReq {\r\n    option (paynet.type) = 0x01;\r\n");
  });

  it("names what is missing", () => {
    expect(() => annotateProto(PROTO, "Nope", { type: 1, direction: "up" })).toThrow(SourceEditError);
    expect(() => annotateProto(PROTO, "CoinAck", { type: 1, direction: "up", correlation: "order" })).toThrow(
      /correlation field order is not a field of this message \(fields: order_id, state, error, progress\)/,
    );
  });
});

const MAP = `# Sidecar for the untouched paybox.proto
messages:
  # registration
  RegisterReq: { type: 0x01, direction: up, reply: RegisterRsp, role: register }
  RegisterRsp: {type: 0x81, direction: down}   # answer
`;

describe("annotateSidecar", () => {
  it("appends an entry in the siblings' style, keeping every other byte", () => {
    const edited = annotateSidecar(MAP, "CoinAck", { type: 0x04, direction: "up", correlation: "order_id" });
    expect(edited).toBe(`${MAP}  CoinAck: { type: 0x04, direction: up, correlation: order_id }\n`);
  });

  it("follows block style and replaces with force", () => {
    const block = "messages:\n  Ping:\n    type: 0x03 # heartbeat\n    direction: up\n# tail comment\n";
    const edited = annotateSidecar(block, "Pong", { type: 0x83, direction: "down" });
    expect(edited).toBe(
      "messages:\n  Ping:\n    type: 0x03 # heartbeat\n    direction: up\n  Pong:\n    type: 0x83\n    direction: down\n# tail comment\n",
    );
    expect(() => annotateSidecar(edited, "Ping", { type: 0x05, direction: "up" })).toThrow(
      /already annotated/,
    );
    const forced = annotateSidecar(MAP, "RegisterRsp", { type: 0x82, direction: "down" }, { force: true });
    expect(forced).toBe(MAP.replace("{type: 0x81, direction: down}", "{ type: 0x82, direction: down }"));
  });

  it("keeps an entry's size bounds when it replaces the annotation (YAML flow, block and JSON)", () => {
    const flow = "messages:\n  Ping: { type: 0x03, direction: up, fields: { ip: { max_size: 46 } } }\n";
    expect(annotateSidecar(flow, "Ping", { type: 0x09, direction: "up" }, { force: true })).toBe(
      "messages:\n  Ping: { type: 0x09, direction: up, fields: { ip: { max_size: 46 } } }\n",
    );
    const block =
      "messages:\n  Ping:\n    type: 0x03\n    direction: up\n    fields:\n      ip: { max_size: 46 }\n";
    expect(annotateSidecar(block, "Ping", { type: 0x09, direction: "up" }, { force: true })).toBe(
      "messages:\n  Ping:\n    type: 0x09\n    direction: up\n    fields: { ip: { max_size: 46 } }\n",
    );
    const json = '{"messages": {"Ping": {"type": 3, "direction": "up", "fields": {"ip": {"max_size": 46}}}}}';
    expect(
      JSON.parse(
        annotateSidecar(json, "Ping", { type: 9, direction: "up" }, { force: true, format: "json" }),
      ),
    ).toEqual({ messages: { Ping: { type: 9, direction: "up", fields: { ip: { max_size: 46 } } } } });
  });

  it("creates the messages key when missing or empty", () => {
    expect(annotateSidecar("# nothing yet\n", "Ping", { type: 3, direction: "up" })).toBe(
      "# nothing yet\nmessages:\n  Ping: { type: 0x03, direction: up }\n",
    );
    expect(annotateSidecar("messages: {}\n", "Ping", { type: 3, direction: "up" })).toBe(
      "messages:\n  Ping: { type: 0x03, direction: up }\n",
    );
  });

  it("re-prints JSON maps", () => {
    const edited = annotateSidecar(
      '{"messages": {}}',
      "Ping",
      { type: 3, direction: "up" },
      { format: "json" },
    );
    expect(JSON.parse(edited)).toEqual({ messages: { Ping: { type: 3, direction: "up" } } });
  });

  it("sees only the map's own entries: a message named `constructor` is not already annotated", () => {
    const edited = annotateSidecar(
      '{"messages": {}}',
      "constructor",
      { type: 3, direction: "up" },
      { format: "json" },
    );
    expect(JSON.parse(edited)).toEqual({ messages: { constructor: { type: 3, direction: "up" } } });
  });
});

describe("merging into an existing annotation", () => {
  const ANNOTATED = `syntax = "proto3";
package paybox;
import "paynet/options.proto";

message Ping {
  option (paynet.type) = 0x03;
  option (paynet.direction) = UPLINK;
  option (paynet.reply) = "paybox.Pong"; // as written by hand
  option (paynet.role) = HEARTBEAT;
  uint64 timestamp = 1 [(paynet.correlation) = true];
}
`;

  it("annotateProto with merge replaces only the keys given and keeps the others' text", () => {
    const edited = annotateProto(ANNOTATED, "Ping", { type: 0x06 }, { force: true, merge: true });
    expect(edited).toBe(ANNOTATED.replace("= 0x03;", "= 0x06;"));
    const withRole = annotateProto(ANNOTATED, "Ping", { role: "login" }, { force: true, merge: true });
    expect(withRole).toBe(ANNOTATED.replace("= HEARTBEAT;", "= LOGIN;"));
    expect(() =>
      annotateProto(
        ANNOTATED.replace(/ {2}option \(paynet\.type\).*\n/, ""),
        "Ping",
        { role: "login" },
        { force: true, merge: true },
      ),
    ).toThrow(/Ping needs a type: the annotation has none/);
  });

  it("annotateSidecar with merge keeps the entry's other keys", () => {
    const map = "messages:\n  Ping: { type: 0x03, direction: up, reply: Pong, role: heartbeat } # hb\n";
    expect(annotateSidecar(map, "Ping", { type: 0x06 }, { force: true, merge: true })).toBe(
      "messages:\n  Ping: { type: 0x06, direction: up, reply: Pong, role: heartbeat } # hb\n",
    );
    expect(
      JSON.parse(
        annotateSidecar(
          '{"messages":{"Ping":{"type":3,"direction":"up"}}}',
          "Ping",
          { reply: "Pong" },
          { force: true, merge: true, format: "json" },
        ),
      ),
    ).toEqual({
      messages: { Ping: { type: 3, direction: "up", reply: "Pong" } },
    });
  });

  it("writtenAnnotations reads directions and replies from the text, qualified by the package", () => {
    expect(
      writtenAnnotations(
        `${ANNOTATED}message Pong { option (paynet.direction) = DOWNLINK; }\nmessage Free {}\n`,
      ),
    ).toEqual([
      { fullName: "paybox.Ping", direction: "up", reply: "paybox.Pong" },
      { fullName: "paybox.Pong", direction: "down" },
      { fullName: "paybox.Free" },
    ]);
  });

  it("writtenAnnotations infers no direction from an inherited name such as `constructor`", () => {
    expect(writtenAnnotations("message Ping { option (paynet.direction) = constructor; }\n")).toEqual([
      { fullName: "Ping" },
    ]);
  });
});

describe("originalLines", () => {
  it("maps unchanged lines of an edited text back and leaves added or changed ones unmapped", () => {
    const original = "a\nb\nc\nd\ne\n";
    const edited = "a\nimport\nb\nc\nC2\nd\ne\n";
    const lineOf = originalLines(original, edited);
    expect([1, 2, 3, 4, 5, 6, 7].map(lineOf)).toEqual([1, undefined, 2, 3, undefined, 4, 5]);
  });
});
