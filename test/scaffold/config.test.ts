import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readProjectLayout } from "../../src/scaffold/config.js";
import { locateJson, positionAt } from "../../src/scaffold/json-locate.js";
import { tempDir } from "./cli.js";

let dir = "";
let remove = () => {};
beforeEach(() => {
  ({ dir, remove } = tempDir("config"));
});
afterEach(() => remove());

function writePackage(paynet: unknown): void {
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "x", paynet }));
}

describe("package.json paynet block", () => {
  it("resolves paths against the package.json found above the working directory", () => {
    writePackage({
      proto: "proto/a.proto",
      protoPaths: ["vendor"],
      map: "proto/a.map.yaml",
      handlers: { server: "src/cloud" },
    });
    mkdirSync(join(dir, "src", "deep"), { recursive: true });
    const layout = readProjectLayout(join(dir, "src", "deep"));
    expect(layout).toEqual({
      root: dir,
      packageJson: join(dir, "package.json"),
      proto: [join(dir, "proto/a.proto")],
      protoPaths: [join(dir, "vendor")],
      map: join(dir, "proto/a.map.yaml"),
      name: undefined,
      sdk: join(dir, "src/generated"),
      target: undefined,
      int64: undefined,
      handlers: { server: join(dir, "src/cloud") },
    });
  });

  it("names the bad key of an invalid block, at its line and column", () => {
    writePackage({ proto: [1] });
    expect(() => readProjectLayout(dir)).toThrow(
      /package\.json:1:32: "paynet".proto\[0\] must be a file path$/,
    );
    writePackage({ proto: [], handlers: { cloud: "src" } });
    expect(() => readProjectLayout(dir)).toThrow(
      /package\.json:1:46: "paynet".handlers.cloud is not a side \(server or client\)/,
    );
    writeFileSync(join(dir, "package.json"), "{ nope");
    expect(() => readProjectLayout(dir)).toThrow(/package\.json:1:3: not valid JSON/);
  });
});

describe("JSON positions", () => {
  const text = '{\n  "a\\"b": [1, {"x": "}]"}, [2]],\n  "c": { "d": true }\n}';

  it("finds values and keys along a path, past strings holding brackets and escaped quotes", () => {
    expect(locateJson(text, ["c", "d"])).toEqual({ line: 3, column: 15 });
    expect(locateJson(text, ["c", "d"], "key")).toEqual({ line: 3, column: 10 });
    expect(locateJson(text, ['a"b', 2, 0])).toEqual({ line: 2, column: 29 });
    expect(locateJson(text, ['a"b', 1, "x"])).toEqual({ line: 2, column: 21 });
  });

  it("stops at the deepest value a path reaches", () => {
    expect(locateJson(text, ["c", "missing"])).toEqual({ line: 3, column: 8 });
    expect(locateJson(text, ["nowhere"])).toEqual({ line: 1, column: 1 });
    expect(positionAt(text, text.length)).toEqual({ line: 4, column: 2 });
  });
});
