/**
 * The paybox protocol: the annotated `proto/paybox.proto` and the untouched original with the
 * sidecar `proto/paybox.map.yaml` must give the same wire table and the same messages.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type LoadResult, loadModel, type MessageModel, type ProtoModel } from "../../src/model/index.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function modelOf(result: LoadResult): ProtoModel {
  expect(result.diagnostics).toEqual([]);
  expect(result.model).toBeDefined();
  return result.model!;
}

/** The table of issue 4, as `Type direction message reply role correlation identity`. */
const PAYBOX_TABLE = [
  "0x01 up paybox.RegisterReq reply=paybox.RegisterRsp role=register serial=device_sn",
  "0x02 up paybox.LoginReq reply=paybox.LoginRsp role=login deviceId=device_id",
  "0x03 up paybox.Ping reply=paybox.Pong role=heartbeat",
  "0x04 down paybox.CoinCommand reply=paybox.CoinAck correlation=order_id",
  "0x05 up paybox.QueryReq reply=paybox.QueryRsp correlation=order_id",
  "0x81 down paybox.RegisterRsp deviceId=device_id",
  "0x82 down paybox.LoginRsp",
  "0x83 down paybox.Pong",
  "0x84 up paybox.CoinAck correlation=order_id",
  "0x85 down paybox.QueryRsp correlation=order_id",
  "0xff both paybox.ErrorMsg role=error",
];

function wireTable(model: ProtoModel): string[] {
  return model.wire.map(({ message, wire }) =>
    [
      `0x${wire.type.toString(16).padStart(2, "0")}`,
      wire.direction,
      message.fullName,
      wire.reply === undefined ? "" : `reply=${wire.reply}`,
      wire.role === undefined ? "" : `role=${wire.role}`,
      wire.correlationField === undefined ? "" : `correlation=${wire.correlationField}`,
      wire.serialField === undefined ? "" : `serial=${wire.serialField}`,
      wire.deviceIdField === undefined ? "" : `deviceId=${wire.deviceIdField}`,
    ]
      .filter((part) => part !== "")
      .join(" "),
  );
}

/** What decides the bytes on the wire: names, numbers and types, not comments or positions. */
function wireShape(message: MessageModel) {
  return {
    fullName: message.fullName,
    tsName: message.tsName,
    syntax: message.syntax,
    oneofs: message.oneofs,
    fields: message.fields.map(({ comment: _comment, position: _position, ...field }) => field),
  };
}

describe("paybox protocol", () => {
  it("annotated proto/paybox.proto gives the Type table of the protocol", async () => {
    const model = modelOf(await loadModel({ inputs: ["proto/paybox.proto"], cwd: ROOT }));
    expect(wireTable(model)).toEqual(PAYBOX_TABLE);
    expect(model.serviceName).toBe("Paybox");
    expect(model.inputs).toEqual(["proto/paybox.proto"]);
    expect(model.sourceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(model.wire.every(({ wire }) => wire.source === "proto")).toBe(true);
    expect(Object.keys(model.roles).sort()).toEqual(["error", "heartbeat", "login", "register"]);
    expect(model.roles.login?.message.fullName).toBe("paybox.LoginReq");
    expect(model.enums.map((e) => e.fullName)).toEqual(["paybox.CoinState", "paybox.ResultCode"]);
    // Only paybox's own types: paynet's option enums and descriptor.proto stay out.
    expect(model.messages.every((m) => m.packageName === "paybox")).toBe(true);
  });

  it("bounds every string and bytes field (what a device needs)", async () => {
    const model = modelOf(await loadModel({ inputs: ["proto/paybox.proto"], cwd: ROOT }));
    const sized = model.messages.flatMap((message) =>
      message.fields
        .filter((field) => field.value.kind === "scalar" && /^(string|bytes)$/.test(field.value.scalar))
        .map((field) => `${message.tsName}.${field.protoName}=${field.maxSize}`),
    );
    expect(sized).toEqual([
      "CoinAck.order_id=64",
      "CoinAck.error=128",
      "CoinCommand.order_id=64",
      "ErrorMsg.msg=200",
      "LoginReq.device_id=64",
      "LoginReq.token=128",
      "LoginReq.version=32",
      "LoginRsp.msg=128",
      "LoginRsp.resume_token=128",
      "Ping.ip=46",
      "QueryReq.order_id=64",
      "QueryRsp.order_id=64",
      "QueryRsp.error=128",
      "RegisterReq.device_sn=32",
      "RegisterReq.model=32",
      "RegisterReq.firmware=32",
      "RegisterReq.device_pubkey=128",
      "RegisterRsp.msg=128",
      "RegisterRsp.device_id=64",
    ]);
    expect(model.messages.flatMap((m) => m.fields).some((f) => f.maxCount !== undefined)).toBe(false);
  });

  it("knows the final CoinAcks: COIN_DONE and COIN_FAILED (the failure), from the proto or the sidecar", async () => {
    for (const options of [
      { inputs: ["proto/paybox.proto"] },
      { inputs: ["proto/paybox.original.proto"], mapFile: "proto/paybox.map.yaml" },
    ]) {
      const model = modelOf(await loadModel({ ...options, cwd: ROOT }));
      const coinState = model.enums.find((e) => e.fullName === "paybox.CoinState")!;
      expect(coinState.values.filter((v) => v.final).map((v) => v.protoName)).toEqual([
        "COIN_DONE",
        "COIN_FAILED",
      ]);
      const byName = new Map(model.wire.map(({ message, wire }) => [message.tsName, wire]));
      expect(byName.get("CoinCommand")?.replyFinal).toEqual({
        field: "state",
        enumName: "paybox.CoinState",
        finalValues: ["COIN_DONE", "COIN_FAILED"],
        failureValue: "COIN_FAILED",
      });
      // QueryReq travels up: answered once, never delivered at least once.
      expect(byName.get("QueryReq")?.replyFinal).toBeUndefined();
    }
  });

  it("keeps the (translated) comments for JSDoc", async () => {
    const model = modelOf(await loadModel({ inputs: ["proto/paybox.proto"], cwd: ROOT }));
    const coinCommand = model.messages.find((m) => m.fullName === "paybox.CoinCommand")!;
    expect(coinCommand.comment).toBe(
      "Dispense coins (cloud → device); answered by one CoinAck per state change.",
    );
    expect(coinCommand.fields.map((f) => [f.tsName, f.comment])).toEqual([
      ["orderId", "Order number, globally unique"],
      ["coins", "Number of coins"],
      ["timeout", "Timeout (seconds)"],
    ]);
    const resultCode = model.enums.find((e) => e.fullName === "paybox.ResultCode")!;
    expect(resultCode.values[0]).toEqual({ protoName: "OK", number: 0, final: false, comment: "Success" });
    expect(coinCommand.position).toEqual({ file: "proto/paybox.proto", line: 106, column: 9 });
  });

  it("original proto + sidecar map gives the same table and the same messages", async () => {
    const annotated = modelOf(await loadModel({ inputs: ["proto/paybox.proto"], cwd: ROOT }));
    const mapped = modelOf(
      await loadModel({
        inputs: ["proto/paybox.original.proto"],
        mapFile: "proto/paybox.map.yaml",
        cwd: ROOT,
      }),
    );
    expect(wireTable(mapped)).toEqual(PAYBOX_TABLE);
    expect(mapped.wire.every(({ wire }) => wire.source === "map")).toBe(true);
    expect(mapped.messages.map(wireShape)).toEqual(annotated.messages.map(wireShape));
    expect(
      mapped.enums.map(({ fullName, values }) => ({
        fullName,
        values: values.map((v) => [v.protoName, v.number]),
      })),
    ).toEqual(
      annotated.enums.map(({ fullName, values }) => ({
        fullName,
        values: values.map((v) => [v.protoName, v.number]),
      })),
    );
    expect(mapped.serviceName).toBe(annotated.serviceName);
    expect(mapped.sourceHash).not.toBe(annotated.sourceHash);
  });

  it("accepts the sidecar on top of the annotated proto when both agree (source: both)", async () => {
    const model = modelOf(
      await loadModel({ inputs: ["proto/paybox.proto"], mapFile: "proto/paybox.map.yaml", cwd: ROOT }),
    );
    expect(wireTable(model)).toEqual(PAYBOX_TABLE);
    expect(new Set(model.wire.map(({ wire }) => wire.source))).toEqual(new Set(["both"]));
  });

  it("loads deterministically and names the service after --name", async () => {
    const first = await loadModel({ inputs: ["proto/paybox.proto"], cwd: ROOT });
    const second = await loadModel({ inputs: ["proto/paybox.proto"], cwd: ROOT });
    expect(second).toEqual(first);
    expect(JSON.stringify(second.model)).toBe(JSON.stringify(first.model));
    const named = modelOf(await loadModel({ inputs: ["proto/paybox.proto"], name: "CoinBox", cwd: ROOT }));
    expect(named.serviceName).toBe("CoinBox");
  });
});
