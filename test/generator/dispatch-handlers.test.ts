/**
 * The generated registration functions call a handler as a method of the handlers object it came
 * from (`this` is that object, so a class instance with state works), and look it up once, at
 * registration.
 */
import { Registry, type ServerContext } from "@paynet/runtime";
import { beforeAll, describe, expect, it } from "vitest";
import { ANNOTATED_PAYBOX, importRenderedSdk } from "./sdk-harness.js";

type Sdk = typeof import("./golden/paybox/index.js");

let sdk: Sdk;

beforeAll(async () => {
  const rendered = await importRenderedSdk<Sdk>(ANNOTATED_PAYBOX, "paynet-dispatch-");
  sdk = rendered.sdk;
  return rendered.remove;
});

/** What a handler sees of the runtime context in these calls (they never reach a session). */
const context = { type: 0 } as unknown as ServerContext;

describe("generated server handler registration", () => {
  it("calls a class instance's handler methods with `this` bound to the instance", () => {
    class Orders {
      readonly progress = 40;
      QueryReq(message: { orderId: string }) {
        return { orderId: message.orderId, state: sdk.CoinState.COIN_RUNNING, progress: this.progress };
      }
    }
    const registry = sdk.registerPayboxServerHandlers(new Registry<ServerContext>(), new Orders());
    const handler = registry.get(sdk.QueryReqDef.type)?.handler;
    expect(handler?.({ orderId: "A-1" }, context)).toEqual({
      orderId: "A-1",
      state: sdk.CoinState.COIN_RUNNING,
      progress: 40,
    });
  });

  it("uses the handler present at registration, and the default heartbeat answer when none is given", () => {
    const handlers: { QueryReq?: (message: { orderId: string }) => { orderId: string } } = {
      QueryReq: (message) => ({ orderId: `first ${message.orderId}` }),
    };
    const registry = sdk.registerPayboxServerHandlers(new Registry<ServerContext>(), handlers);
    handlers.QueryReq = () => ({ orderId: "replaced later" });
    expect(registry.get(sdk.QueryReqDef.type)?.handler?.({ orderId: "A-2" }, context)).toEqual({
      orderId: "first A-2",
    });
    expect(registry.get(sdk.PingDef.type)?.handler?.({ timestamp: 17, uptime: 3 }, context)).toEqual({
      timestamp: 17,
    });
  });
});
