/**
 * A multi-file, multi-package input: imports through -I, nesting, oneof, map, 64-bit integers,
 * well-known types, a proto2 file with required/default/packed.
 */
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { type FieldModel, loadModel, type MessageModel, type ProtoModel } from "../../src/model/index.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OPTIONS = {
  inputs: ["test/fixtures/protos/multi/shop.proto"],
  protoPaths: ["test/fixtures/protos/multi/include"],
  cwd: ROOT,
};

let model: ProtoModel;

beforeAll(async () => {
  const result = await loadModel(OPTIONS);
  expect(result.diagnostics).toEqual([]);
  model = result.model!;
});

function message(fullName: string): MessageModel {
  const found = model.messages.find((m) => m.fullName === fullName);
  if (found === undefined) throw new Error(`no message ${fullName}`);
  return found;
}

function field(owner: string, protoName: string): FieldModel {
  const found = message(owner).fields.find((f) => f.protoName === protoName);
  if (found === undefined) throw new Error(`no field ${owner}.${protoName}`);
  return found;
}

describe("multi-file model", () => {
  it("contains the inputs' types and what they use, sorted, with unique TypeScript names", () => {
    expect(model.messages.map((m) => [m.fullName, m.tsName])).toEqual([
      ["google.protobuf.Any", "Any"],
      ["google.protobuf.ListValue", "ListValue"],
      ["google.protobuf.Struct", "Struct"],
      ["google.protobuf.Timestamp", "GoogleProtobuf_Timestamp"],
      ["google.protobuf.Value", "Value"],
      ["shop.common.Money", "Money"],
      ["shop.common.Timestamp", "ShopCommon_Timestamp"],
      ["shop.legacy.LegacyRecord", "LegacyRecord"],
      ["shop.v1.Order", "Order"],
      ["shop.v1.Order.Card", "Order_Card"],
      ["shop.v1.Order.Item", "Order_Item"],
      ["shop.v1.OrderAck", "OrderAck"],
    ]);
    expect(model.enums.map((e) => [e.fullName, e.tsName])).toEqual([
      ["google.protobuf.NullValue", "NullValue"],
      ["shop.common.Currency", "Currency"],
      ["shop.legacy.LegacyRecord.Kind", "LegacyRecord_Kind"],
      ["shop.v1.Order.Item.Kind", "Order_Item_Kind"],
      ["shop.v1.Order.Status", "Order_Status"],
    ]);
    expect(model.serviceName).toBe("ShopV1");
    expect(message("shop.common.Money").packageName).toBe("shop.common");
    expect(message("shop.common.Money").position).toEqual({
      file: "test/fixtures/protos/multi/include/common/money.proto",
      line: 6,
      column: 9,
    });
    expect(message("google.protobuf.Timestamp").fields.map((f) => [f.protoName, f.value])).toEqual([
      ["seconds", { kind: "scalar", scalar: "int64" }],
      ["nanos", { kind: "scalar", scalar: "int32" }],
    ]);
  });

  it("resolves field types across packages and scopes", () => {
    expect(field("shop.v1.Order", "total").value).toEqual({ kind: "message", fullName: "shop.common.Money" });
    expect(field("shop.v1.Order", "local_time").value).toEqual({
      kind: "message",
      fullName: "shop.common.Timestamp",
    });
    expect(field("shop.v1.Order", "placed_at").value).toEqual({
      kind: "message",
      fullName: "google.protobuf.Timestamp",
    });
    expect(field("shop.v1.Order", "history")).toMatchObject({
      value: { kind: "enum", fullName: "shop.v1.Order.Status" },
      repeated: true,
      packed: true,
    });
    expect(field("shop.v1.Order.Item", "kind").value).toEqual({
      kind: "enum",
      fullName: "shop.v1.Order.Item.Kind",
    });
    expect(field("google.protobuf.Value", "null_value").value).toEqual({
      kind: "enum",
      fullName: "google.protobuf.NullValue",
    });
  });

  it("models maps, oneofs, proto3 optional and 64-bit integers", () => {
    expect(field("shop.v1.Order", "items")).toMatchObject({
      mapKey: "string",
      value: { kind: "message", fullName: "shop.v1.Order.Item" },
      repeated: false,
      hasPresence: false,
      comment: "by SKU",
    });
    expect(message("shop.v1.Order").oneofs).toEqual([
      { protoName: "payment", tsName: "payment", fieldNumbers: [4, 5], comment: "How the order is paid." },
    ]);
    expect(field("shop.v1.Order", "voucher_code")).toMatchObject({
      tsName: "voucherCode",
      oneof: "payment",
      hasPresence: true,
    });
    // proto3 `optional` is a synthetic oneof in the descriptor: presence, not a oneof.
    const priority = field("shop.v1.Order", "priority");
    expect(priority.hasPresence).toBe(true);
    expect(priority.oneof).toBeUndefined();
    expect(field("shop.v1.Order", "sequence").hasPresence).toBe(false);
    expect(field("shop.v1.Order", "total").hasPresence).toBe(true);
    expect(
      ["created_ms", "sequence", "delta", "fingerprint"].map(
        (name) => (field("shop.v1.Order", name).value as { scalar: string }).scalar,
      ),
    ).toEqual(["int64", "uint64", "sint64", "fixed64"]);
    expect(field("shop.v1.Order", "tags").packed).toBe(true);
    expect(field("shop.v1.Order", "loose_tags").packed).toBe(false);
    expect(field("shop.v1.Order", "notes").packed).toBe(false);
  });

  it("models proto2: required, optional with defaults, packed only on request", () => {
    const legacy = message("shop.legacy.LegacyRecord");
    expect(legacy.syntax).toBe("proto2");
    expect(legacy.comment).toBe("A record from the old system.");
    expect(field("shop.legacy.LegacyRecord", "id")).toMatchObject({ required: true, hasPresence: false });
    expect(field("shop.legacy.LegacyRecord", "count")).toMatchObject({
      required: false,
      hasPresence: true,
      defaultValue: 7,
    });
    expect(field("shop.legacy.LegacyRecord", "samples").packed).toBe(true);
    expect(field("shop.legacy.LegacyRecord", "raw_samples").packed).toBe(false);
    expect(field("shop.legacy.LegacyRecord", "big").defaultValue).toBe("18446744073709551615");
    expect(field("shop.legacy.LegacyRecord", "offset").defaultValue).toBe("-9007199254740993");
    expect(field("shop.legacy.LegacyRecord", "kind").defaultValue).toBe("KIND_B");
    expect(field("shop.legacy.LegacyRecord", "flag").defaultValue).toBe(true);
    expect(field("shop.legacy.LegacyRecord", "label").defaultValue).toBe('hi "there"');
    expect(field("shop.legacy.LegacyRecord", "ratio").defaultValue).toBe(Number.NEGATIVE_INFINITY);
    expect(field("shop.legacy.LegacyRecord", "scale").defaultValue).toBe(1.5);
    expect(model.messages.some((m) => m.fullName === "shop.legacy.Unused")).toBe(false);
  });

  it("keeps comments and positions", () => {
    expect(message("shop.v1.Order").comment).toBe("An order placed by a device.");
    expect(field("shop.v1.Order", "order_id")).toMatchObject({
      comment: "Unique per device.",
      position: { file: "test/fixtures/protos/multi/shop.proto", line: 20, column: 10 },
    });
    const kind = model.enums.find((e) => e.fullName === "shop.v1.Order.Item.Kind")!;
    expect(kind.values).toEqual([
      { protoName: "KIND_UNSPECIFIED", number: 0, final: false },
      { protoName: "PHYSICAL", number: 1, final: false, comment: "shipped" },
      { protoName: "DIGITAL", number: 2, final: false },
    ]);
  });

  it("has the wire table with the correlation on both sides", () => {
    expect(model.wire.map(({ message: m, wire }) => [m.fullName, wire])).toEqual([
      [
        "shop.v1.Order",
        {
          type: 0x10,
          direction: "up",
          reply: "shop.v1.OrderAck",
          correlationField: "order_id",
          source: "proto",
        },
      ],
      ["shop.v1.OrderAck", { type: 0x90, direction: "down", correlationField: "order_id", source: "proto" }],
    ]);
    expect(field("shop.v1.OrderAck", "order_id").correlation).toBe(true);
    expect(field("shop.v1.Order", "sequence").correlation).toBe(false);
    expect(model.roles).toEqual({});
  });

  it("is deterministic", async () => {
    const again = await loadModel(OPTIONS);
    expect(again.model).toEqual(model);
    expect(JSON.stringify(again.model)).toBe(JSON.stringify(model));
  });

  it("fails with unresolved-import when the -I directory is missing, and says where unknown types may be", async () => {
    const result = await loadModel({ ...OPTIONS, protoPaths: [] });
    expect(result.model).toBeUndefined();
    expect(result.diagnostics.map((d) => [d.rule, d.position?.line, d.position?.column])).toEqual([
      ["unresolved-import", 7, 8],
      ["unresolved-type", 21, 3],
      ["unresolved-type", 36, 3],
    ]);
    for (const diagnostic of result.diagnostics.slice(1)) {
      expect(diagnostic.message).toMatch(/\(it may be defined in \S+\.proto, which could not be read\)$/);
    }
  });
});
