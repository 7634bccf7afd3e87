/**
 * The multi-file fixture's SDK end to end over real TLS on loopback: a request carrying a oneof, a
 * map of nested messages, 64-bit integers at their extremes, well-known types (Timestamp, Struct with
 * every Value kind, Any) and a proto2 message with explicit presence goes up through a generated client and
 * comes back through a generated server; then a request that times out and one that is aborted,
 * through the generated facade.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AbortedError, RequestTimeoutError } from "../../runtime/src/index.js";
import { makeTestPki, type TestPki } from "../helpers/pki.js";
import { MULTI_FILE, makeSdkDir, removeDir, renderFixture, writeFiles } from "./sdk-harness.js";

// The generated SDK is imported at run time; its own types are checked by generate-typecheck.test.ts.
type Sdk = typeof import("./golden/multi/index.js");
type Order = import("./golden/multi/index.js").Order;
type Server = ReturnType<Sdk["createShopV1Server"]>;
type Client = ReturnType<Sdk["createShopV1Client"]>;

let dir = "";
let sdk: Sdk;
let pki: TestPki;
let server: Server;
let client: Client;
const received: Order[] = [];
const arrivals = new Set<() => void>();
/** Releases the handlers that hold a request without answering (for the timeout and abort cases). */
let releaseHeld: () => void = () => {};
const held = new Promise<void>((resolve) => {
  releaseHeld = resolve;
});

beforeAll(async () => {
  dir = await makeSdkDir("paynet-e2e-multi-");
  await writeFiles(dir, await renderFixture(MULTI_FILE));
  sdk = (await import(join(dir, "index.ts"))) as Sdk;
  pki = await makeTestPki();
  server = sdk.createShopV1Server(
    { tls: { cert: pki.server.cert, key: pki.server.key }, port: 0 },
    {
      async Order(message) {
        received.push(message);
        for (const notify of arrivals) notify();
        if (message.orderId.startsWith("hold-")) {
          await held;
          return undefined;
        }
        return {
          orderId: message.orderId,
          detail: {
            typeUrl: "type.googleapis.com/shop.v1.Order.Card",
            value: new Uint8Array([0x0a, 0x04, 0x31, 0x32, 0x33, 0x34]),
          },
        };
      },
    },
  );
  const { port } = await server.start();
  client = sdk.createShopV1Client({
    host: "127.0.0.1",
    port,
    tls: { ca: pki.ca.cert, servername: "localhost" },
    reconnect: { initialDelayMs: 10, maxDelayMs: 50, jitter: 0 },
  });
  const online = new Promise<void>((resolve) => client.on("online", () => resolve()));
  client.start();
  await online;
});

afterAll(async () => {
  releaseHeld();
  await client?.stop();
  await server?.stop();
  await removeDir(dir);
});

/** Resolves once the server has received the order `orderId`. */
function arrivalOf(orderId: string): Promise<Order> {
  return new Promise((resolve) => {
    const check = () => {
      const found = received.find((order) => order.orderId === orderId);
      if (found !== undefined) resolve(found);
    };
    arrivals.add(check);
    check();
  });
}

describe("generated multi-file SDK over TLS", () => {
  it("round-trips oneof, map, int64, well-known types and proto2 defaults", async () => {
    const { Currency, Order_Item_Kind, Order_Status, NullValue } = sdk;
    const sent: Partial<Order> = {
      orderId: "o-1",
      total: {
        units: -9_223_372_036_854_775_808n,
        currency: Currency.EUR,
        cents: 9_223_372_036_854_775_807n,
      },
      items: {
        "sku-1": { sku: "sku-1", quantity: 2, kind: Order_Item_Kind.PHYSICAL },
        "sku-2": { sku: "sku-2", quantity: 1, kind: Order_Item_Kind.DIGITAL },
      },
      payment: { case: "card", value: { last4: "4242" } },
      priority: 0,
      createdMs: 1_700_000_000_123n,
      sequence: 18_446_744_073_709_551_615n,
      delta: -1n,
      fingerprint: 0x0123_4567_89ab_cdefn,
      placedAt: { seconds: 1_700_000_000n, nanos: 5 },
      metadata: {
        fields: {
          n: { kind: { case: "numberValue", value: 1.5 } },
          s: { kind: { case: "stringValue", value: "x" } },
          b: { kind: { case: "boolValue", value: true } },
          z: { kind: { case: "nullValue", value: NullValue.NULL_VALUE } },
          list: {
            kind: {
              case: "listValue",
              value: { values: [{ kind: { case: "numberValue", value: 2 } }] },
            },
          },
          nested: {
            kind: {
              case: "structValue",
              value: { fields: { inner: { kind: { case: "stringValue", value: "y" } } } },
            },
          },
        },
      },
      history: [Order_Status.OPEN, Order_Status.PAID],
      localTime: { iso: "2024-01-01T00:00:00Z" },
      legacy: sdk.createLegacyRecord({
        id: "legacy-1",
        samples: [1, 2, 3],
        rawSamples: [-1, 1],
        flag: false,
        big: 18_446_744_073_709_551_615n,
        offset: -9_007_199_254_740_993n,
      }),
      tags: [1, 2, 3],
      looseTags: [4, 5],
      notes: ["a", "b"],
    };
    const ack = await client.requestOrder(sent, { timeoutMs: 5_000 });
    expect(ack.orderId).toBe("o-1");
    expect(ack.detail?.typeUrl).toBe("type.googleapis.com/shop.v1.Order.Card");
    expect([...(ack.detail?.value ?? [])]).toEqual([0x0a, 0x04, 0x31, 0x32, 0x33, 0x34]);

    const got = await arrivalOf("o-1");
    expect(got).toEqual(sdk.createOrder(sent));
    // proto2 presence survives the trip: a field set to a non-default value is there, unset ones stay absent.
    expect(got.legacy?.flag).toBe(false);
    expect(got.legacy?.offset).toBe(-9_007_199_254_740_993n);
    expect(got.legacy?.count).toBeUndefined();
    expect(got.payment).toEqual({ case: "card", value: { last4: "4242" } });
    expect(got.sequence).toBe(18_446_744_073_709_551_615n);
  });

  it("a request with no reply rejects with RequestTimeoutError through the facade", async () => {
    const pending = client.requestOrder({ orderId: "hold-timeout" }, { timeoutMs: 30 });
    await expect(pending).rejects.toBeInstanceOf(RequestTimeoutError);
    // The server did get it: the timeout is the reply's absence, not a failed send.
    await arrivalOf("hold-timeout");
  });

  it("an aborted signal rejects the request with AbortedError through the facade", async () => {
    const controller = new AbortController();
    const pending = client.requestOrder(
      { orderId: "hold-abort" },
      { timeoutMs: 30_000, signal: controller.signal },
    );
    await arrivalOf("hold-abort");
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortedError);

    const stream = client.streamOrder(
      { orderId: "hold-stream" },
      { timeoutMs: 30_000, signal: controller.signal },
    );
    await expect(
      (async () => {
        for await (const _ of stream) return "yielded";
        return "ended";
      })(),
    ).rejects.toBeInstanceOf(AbortedError);
  });
});
