import { describe, expect, it } from "vitest";
import {
  camelCase,
  closestName,
  didYouMean,
  editDistance,
  kebabCase,
  pascalCase,
} from "../../src/scaffold/names.js";

describe("names", () => {
  it("converts message names", () => {
    expect(kebabCase("CoinAck")).toBe("coin-ack");
    expect(kebabCase("HTTPStatusRsp")).toBe("http-status-rsp");
    expect(kebabCase("Outer_Inner")).toBe("outer-inner");
    expect(camelCase("CoinAck")).toBe("coinAck");
    expect(camelCase("ErrorMsg")).toBe("errorMsg");
    expect(pascalCase("my-box_app")).toBe("MyBoxApp");
  });

  it("suggests close names", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("coinack", "CoinAck")).toBe(0);
    expect(editDistance("QueryRps", "QueryRsp")).toBe(1);
    expect(closestName("QueryRps", ["QueryReq", "QueryRsp"])).toBe("QueryRsp");
    const names = ["CoinAck", "CoinCommand", "LoginReq", "Ping"];
    expect(closestName("CoinAk", names)).toBe("CoinAck");
    expect(closestName("Login", names)).toBe("LoginReq");
    expect(closestName("Refund", names)).toBeUndefined();
    expect(didYouMean("Pnig", names)).toBe(" Did you mean Ping?");
    expect(didYouMean("Zzzzzz", names)).toBe("");
  });
});
