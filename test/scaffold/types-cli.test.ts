import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { scaled } from "../helpers/time.js";
import { addedLines, cli, REPO, tempDir } from "./cli.js";

const ORIGINAL = join(REPO, "proto", "paybox.original.proto");
const ANNOTATED = join(REPO, "proto", "paybox.proto");
const MAP = join(REPO, "proto", "paybox.map.yaml");

/** `types add` arguments that annotate paybox.original.proto like proto/paybox.proto, replies first. */
const ANNOTATIONS: string[][] = [
  ["RegisterRsp", "--type", "0x81", "--direction", "down"],
  ["RegisterReq", "--type", "0x01", "--reply", "RegisterRsp", "--role", "register"],
  ["LoginRsp", "--type", "0x82", "--direction", "down"],
  ["LoginReq", "--type", "2", "--direction", "up", "--reply", "LoginRsp", "--role", "login"],
  ["Pong", "--type", "0x83", "--direction", "down"],
  ["Ping", "--type", "0x03", "--reply", "Pong", "--role", "heartbeat"],
  ["CoinAck", "--type", "0x84", "--direction", "up", "--correlation", "order_id"],
  ["CoinCommand", "--type", "0x04", "--direction", "down", "--reply", "CoinAck", "--correlation", "order_id"],
  ["QueryRsp", "--type", "0x85", "--direction", "down", "--correlation", "order_id"],
  ["QueryReq", "--type", "0x05", "--reply", "QueryRsp", "--correlation", "order_id"],
  ["ErrorMsg", "--type", "0xFF", "--direction", "both", "--role", "error"],
];

describe("types list", () => {
  it("prints the Type table of the annotated proto and of the original proto + sidecar identically", async () => {
    const annotated = await cli(["types", "list", "--proto", ANNOTATED], REPO);
    expect(annotated.code, annotated.stderr).toBe(0);
    const lines = annotated.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^TYPE\s+DIRECTION\s+MESSAGE\s+REPLY\s+ROLE\s+CORRELATION$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/)[0])).toEqual([
      "0x01",
      "0x02",
      "0x03",
      "0x04",
      "0x05",
      "0x81",
      "0x82",
      "0x83",
      "0x84",
      "0x85",
      "0xFF",
    ]);
    expect(lines[4]).toMatch(/^0x04\s+down cloud → device\s+CoinCommand\s+CoinAck\s+-\s+order_id$/);
    const sidecar = await cli(["types", "list", ORIGINAL, "--map", MAP], REPO);
    expect(sidecar.stdout).toBe(annotated.stdout);
  });

  it("suggests a complete types add on a proto without annotations", async () => {
    const empty = await cli(["types", "list", "--proto", ORIGINAL], REPO);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toBe(
      "No annotated messages: add one with `paynet-gen types add <Message> --type 0x01 --direction up`.\n",
    );
  });

  it("prints JSON rows and reports load errors like generate", async () => {
    const json = await cli(["types", "list", "--proto", ANNOTATED, "--json"], REPO);
    const rows = JSON.parse(json.stdout) as Array<{ typeHex: string; message: string; role: string | null }>;
    expect(rows.find((row) => row.role === "heartbeat")).toMatchObject({ typeHex: "0x03", message: "Ping" });
    const { dir, remove } = tempDir("types-list");
    try {
      writeFileSync(join(dir, "bad.proto"), 'syntax = "proto3";\nmessage A {\n  string a = 1\n}\n');
      const bad = await cli(["types", "list", "--proto", "bad.proto"], dir);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^bad\.proto:\d+:\d+: error \[syntax\]/m);
    } finally {
      remove();
    }
  });
});

describe("types add", () => {
  let dir: string;
  let remove: () => void;
  beforeEach(() => {
    ({ dir, remove } = tempDir("types-add"));
  });
  afterEach(() => remove());

  it(
    "annotates the original paybox.proto message by message, keeping every other byte, and the result generates",
    async () => {
      const file = join(dir, "paybox.proto");
      copyFileSync(ORIGINAL, file);
      for (const args of ANNOTATIONS) {
        if (args[0] === "CoinCommand") {
          // A command delivered at least once needs its final replies marked first.
          const refused = await cli(["types", "add", ...args, "--proto", "paybox.proto"], dir);
          expect(refused.code).toBe(1);
          expect(refused.stderr).toContain(
            "error [reply-final-missing] paybox.CoinCommand is delivered at least once",
          );
          // The user marks them by hand, as the error says.
          const source = readFileSync(file, "utf8");
          writeFileSync(
            file,
            source
              .replace("COIN_DONE = 2;", "COIN_DONE = 2 [(paynet.final) = true];")
              .replace("COIN_FAILED = 3;", "COIN_FAILED = 3 [(paynet.final) = true];"),
          );
        }
        const result = await cli(["types", "add", ...args, "--proto", "paybox.proto"], dir);
        expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(0);
      }
      const before = readFileSync(ORIGINAL, "utf8");
      const after = readFileSync(file, "utf8");
      // Take out exactly what types add inserts: the original must remain, byte for byte.
      const inserted = after
        .replace('\nimport "paynet/options.proto";\n', "")
        .replace(/^ {2}option \(paynet\.(type|direction|reply|role)\) = [^;\n]+;\n/gm, "")
        .replaceAll(" [(paynet.correlation) = true]", "")
        .replaceAll(" [(paynet.final) = true]", "");
      expect(inserted).toBe(before);
      expect(after).toContain('package paybox;\n\nimport "paynet/options.proto";\n\n// ====');
      expect(after).toContain(
        'message CoinCommand {\n  option (paynet.type) = 0x04;\n  option (paynet.direction) = DOWNLINK;\n  option (paynet.reply) = "CoinAck";\n  string order_id = 1 [(paynet.correlation) = true];      // 订单号，全局唯一\n',
      );
      expect(after.match(/option \(paynet\./g)).toHaveLength(11 + 11 + 5 + 4);
      const list = await cli(["types", "list", "--proto", "paybox.proto"], dir);
      const reference = await cli(["types", "list", "--proto", ANNOTATED], REPO);
      expect(list.stdout).toBe(reference.stdout);
      const generated = await cli(["generate", "paybox.proto", "--out", "sdk"], dir);
      expect(generated.code, generated.stderr).toBe(0);
      expect(readFileSync(join(dir, "sdk", "handlers.ts"), "utf8")).toContain("CoinAck?(message: CoinAck");
      // Thirteen CLI runs: about a minute on a loaded 2-core machine.
    },
    scaled(240_000),
  );

  it("validates like generate and writes nothing on an error", async () => {
    const file = join(dir, "paybox.proto");
    copyFileSync(ANNOTATED, file);
    const before = readFileSync(file, "utf8");
    const queryRsp =
      "message QueryRsp {\n  option (paynet.type) = 0x85;\n  option (paynet.direction) = DOWNLINK;\n\n  string order_id = 1 [(paynet.correlation) = true, (paynet.max_size) = 64];";
    expect(before).toContain(queryRsp);
    writeFileSync(
      file,
      before.replace(queryRsp, "message QueryRsp {\n\n  string order_id = 1 [(paynet.max_size) = 64];"),
    );
    const start = readFileSync(file, "utf8");

    const duplicate = await cli(
      ["types", "add", "QueryRsp", "--type", "0x84", "--direction", "up", "--proto", "paybox.proto"],
      dir,
    );
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toMatch(/paybox\.proto:\d+:\d+: error \[duplicate-type\]/);
    expect(duplicate.stderr).toContain("nothing written");

    const range = await cli(["types", "add", "QueryRsp", "--type", "0x100", "--proto", "paybox.proto"], dir);
    expect(range.code).toBe(1);
    expect(range.stderr).toContain("--type must be 1..255");

    const unknownReply = await cli(
      [
        "types",
        "add",
        "QueryRsp",
        "--type",
        "0x86",
        "--direction",
        "down",
        "--reply",
        "Nope",
        "--proto",
        "paybox.proto",
      ],
      dir,
    );
    expect(unknownReply.code).toBe(1);
    expect(unknownReply.stderr).toMatch(/error \[reply-/);

    const annotated = await cli(["types", "add", "Ping", "--type", "0x10", "--proto", "paybox.proto"], dir);
    expect(annotated.code).toBe(1);
    expect(annotated.stderr).toMatch(
      /Ping is already annotated .*; use --force to change it \(the keys you pass replace the current ones, the others stay\)/,
    );

    const typo = await cli(["types", "add", "QueryRps", "--type", "0x86", "--proto", "paybox.proto"], dir);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain("unknown message QueryRps. Did you mean QueryRsp?");
    expect(typo.stderr).toMatch(/declare `message QueryRps \{ \.\.\. \}` in paybox\.proto\s+first/);
    const undeclared = await cli(
      ["types", "add", "RefundRsp", "--type", "0x86", "--direction", "down", "--proto", "paybox.proto"],
      dir,
    );
    expect(undeclared.code).toBe(1);
    expect(undeclared.stderr).toContain("unknown message RefundRsp.");
    expect(undeclared.stderr).toMatch(
      /`types add` annotates messages already declared in the proto: declare `message RefundRsp \{ \.\.\. \}` in paybox\.proto\s+first/,
    );
    const anEnum = await cli(
      ["types", "add", "CoinState", "--type", "0x40", "--direction", "up", "--proto", "paybox.proto"],
      dir,
    );
    expect(anEnum.code).toBe(1);
    expect(anEnum.stderr).toContain("CoinState is an enum, not a message");
    expect(readFileSync(file, "utf8")).toBe(start);

    const ok = await cli(
      [
        "types",
        "add",
        "QueryRsp",
        "--type",
        "0x85",
        "--direction",
        "down",
        "--correlation",
        "order_id",
        "--proto",
        "paybox.proto",
      ],
      dir,
    );
    expect(ok.code, ok.stderr).toBe(0);
    const forced = await cli(
      [
        "types",
        "add",
        "Ping",
        "--type",
        "0x06",
        "--reply",
        "Pong",
        "--role",
        "heartbeat",
        "--force",
        "--proto",
        "paybox.proto",
      ],
      dir,
    );
    expect(forced.code, forced.stderr).toBe(0);
    // QueryRsp's correlation option joins the field's existing option list, at its end.
    expect(readFileSync(file, "utf8")).toBe(
      before
        .replace("option (paynet.type) = 0x03;", "option (paynet.type) = 0x06;")
        .replace(
          "string order_id = 1 [(paynet.correlation) = true, (paynet.max_size) = 64];\n  CoinState state = 2;\n  uint32 progress = 3;\n  string error = 4 [(paynet.max_size) = 128];\n}\n\n// ---",
          "string order_id = 1 [(paynet.max_size) = 64, (paynet.correlation) = true];\n  CoinState state = 2;\n  uint32 progress = 3;\n  string error = 4 [(paynet.max_size) = 128];\n}\n\n// ---",
        ),
    );
  });

  it("adds to a sidecar map, keeping its comments", async () => {
    copyFileSync(ORIGINAL, join(dir, "paybox.proto"));
    const map = readFileSync(MAP, "utf8");
    writeFileSync(join(dir, "map.yaml"), map.replace(/^ {2}CoinAck:.*\n/m, ""));
    const result = await cli(
      [
        "types",
        "add",
        "CoinAck",
        "--type",
        "0x84",
        "--correlation",
        "order_id",
        "--proto",
        "paybox.proto",
        "--map",
        "map.yaml",
      ],
      dir,
    );
    expect(result.code, result.stderr).toBe(0);
    const after = readFileSync(join(dir, "map.yaml"), "utf8");
    expect(addedLines(map.replace(/^ {2}CoinAck:.*\n/m, ""), after)).toEqual([
      "  CoinAck: { type: 0x84, direction: up, correlation: order_id }",
    ]);
    const list = await cli(["types", "list", "paybox.proto", "--map", "map.yaml"], dir);
    const reference = await cli(["types", "list", "--proto", ANNOTATED], REPO);
    expect(list.stdout).toBe(reference.stdout);
  });

  it("infers the direction only when the annotated messages say it, and asks for it otherwise", async () => {
    const file = join(dir, "paybox.proto");
    copyFileSync(ORIGINAL, file);
    const guess = await cli(["types", "add", "CoinAck", "--type", "0x84", "--proto", "paybox.proto"], dir);
    expect(guess.code).toBe(1);
    expect(guess.stderr).toContain(
      "pass --direction up|down|both for CoinAck: it cannot be inferred (no annotated message names it as its reply, and it has no annotated reply)",
    );
    expect(guess.stderr).toContain("DIRECTION_REQUIRED");
    expect(readFileSync(file, "utf8")).toBe(readFileSync(ORIGINAL, "utf8"));

    // The request written by hand, its reply not typed yet: the protos do not load, the text still says it.
    const annotated = readFileSync(ANNOTATED, "utf8");
    const untypedReply =
      "message LoginRsp {\n  option (paynet.type) = 0x82;\n  option (paynet.direction) = DOWNLINK;\n";
    expect(annotated).toContain(untypedReply);
    writeFileSync(file, annotated.replace(untypedReply, "message LoginRsp {\n"));
    expect((await cli(["types", "list", "--proto", "paybox.proto"], dir)).code).toBe(1);
    const reply = await cli(["types", "add", "LoginRsp", "--type", "0x82", "--proto", "paybox.proto"], dir);
    expect(reply.code, reply.stderr).toBe(0);
    expect(reply.stdout).toContain("direction down inferred: LoginReq (up) names LoginRsp as its reply");
    expect(readFileSync(file, "utf8")).toBe(annotated);
    // And the other way: a request whose reply travels down travels up.
    writeFileSync(file, readFileSync(ORIGINAL, "utf8"));
    const pong = await cli(
      ["types", "add", "Pong", "--type", "0x83", "--direction", "down", "--proto", "paybox.proto"],
      dir,
    );
    expect(pong.code, pong.stderr).toBe(0);
    const ping = await cli(
      ["types", "add", "Ping", "--type", "0x03", "--reply", "Pong", "--proto", "paybox.proto"],
      dir,
    );
    expect(ping.code, ping.stderr).toBe(0);
    expect(ping.stdout).toContain("direction up inferred: its reply Pong travels down");
  });

  it("--force changes only the keys given, keeps the rest and says what changed", async () => {
    const file = join(dir, "paybox.proto");
    copyFileSync(ANNOTATED, file);
    const before = readFileSync(file, "utf8");
    const forced = await cli(
      ["types", "add", "CoinCommand", "--type", "0x07", "--force", "--proto", "paybox.proto"],
      dir,
    );
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain(
      "changed: type 0x04 → 0x07; kept: direction down, reply CoinAck, correlation order_id",
    );
    expect(readFileSync(file, "utf8")).toBe(
      before.replace(
        "message CoinCommand {\n  option (paynet.type) = 0x04;",
        "message CoinCommand {\n  option (paynet.type) = 0x07;",
      ),
    );
    const same = await cli(
      ["types", "add", "CoinCommand", "--type", "0x07", "--force", "--proto", "paybox.proto"],
      dir,
    );
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toContain("nothing written");

    // In a sidecar map as well.
    copyFileSync(ORIGINAL, join(dir, "original.proto"));
    copyFileSync(MAP, join(dir, "map.yaml"));
    const map = readFileSync(MAP, "utf8");
    const inMap = await cli(
      [
        "types",
        "add",
        "Ping",
        "--role",
        "heartbeat",
        "--type",
        "0x09",
        "--force",
        "--proto",
        "original.proto",
        "--map",
        "map.yaml",
      ],
      dir,
    );
    expect(inMap.code, inMap.stderr).toBe(0);
    expect(inMap.stdout).toContain("changed: type 0x03 → 0x09; kept: direction up, reply Pong");
    const list = await cli(["types", "list", "original.proto", "--map", "map.yaml", "--json"], dir);
    const rows = JSON.parse(list.stdout) as Array<{
      message: string;
      typeHex: string;
      direction: string;
      reply: string;
      role: string;
    }>;
    expect(rows.find((row) => row.message === "Ping")).toMatchObject({
      typeHex: "0x09",
      direction: "up",
      reply: "Pong",
      role: "heartbeat",
    });
    expect(map).toContain("  Ping: { type: 0x03, direction: up, reply: Pong, role: heartbeat, fields:");
    expect(readFileSync(join(dir, "map.yaml"), "utf8")).toBe(
      map.replace("Ping: { type: 0x03,", "Ping: { type: 0x09,"),
    );
  });

  it("points errors in the proposed annotation at the message's line in the real file", async () => {
    const file = join(dir, "paybox.proto");
    copyFileSync(ORIGINAL, file);
    const first = await cli(
      ["types", "add", "Ping", "--type", "0x03", "--direction", "up", "--proto", "paybox.proto"],
      dir,
    );
    expect(first.code, first.stderr).toBe(0);
    const text = readFileSync(file, "utf8");
    const line = (needle: string) => text.slice(0, text.indexOf(needle)).split("\n").length;
    const clash = await cli(
      ["types", "add", "QueryReq", "--type", "0x03", "--direction", "up", "--proto", "paybox.proto"],
      dir,
    );
    expect(clash.code).toBe(1);
    const errors = clash.stderr.split("\n").filter((row) => row.includes("error [duplicate-type]"));
    expect(errors.length).toBeGreaterThan(0);
    // The real file does not have the proposed lines: the error is shown on `message QueryReq {`.
    expect(errors.join("\n")).toContain(
      `paybox.proto:${line("message QueryReq {")}:1: error [duplicate-type]`,
    );
    expect(errors.join("\n")).toContain("(in the proposed annotation)");
    // So are positions quoted in the message; those of unchanged lines are the real ones.
    expect(errors.join("\n")).toContain(
      `paybox.QueryReq (UPLINK, paybox.proto:${line("message QueryReq {")}:1 (proposed))`,
    );
    expect(errors.join("\n")).toContain(
      `paybox.Ping (UPLINK, paybox.proto:${line("option (paynet.type) = 0x03;")}:`,
    );
  });
});
