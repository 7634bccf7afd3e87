import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readProjectLayout } from "../../src/scaffold/config.js";
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
      handlers: { server: join(dir, "src/cloud") },
    });
  });

  it("names the bad key of an invalid block", () => {
    writePackage({ proto: [1] });
    expect(() => readProjectLayout(dir)).toThrow(
      /"paynet".proto must be a file path or a list of file paths/,
    );
    writePackage({ proto: [], handlers: { cloud: "src" } });
    expect(() => readProjectLayout(dir)).toThrow(/handlers has an unknown side "cloud"/);
    writeFileSync(join(dir, "package.json"), "{ nope");
    expect(() => readProjectLayout(dir)).toThrow(/is not valid JSON/);
  });
});
