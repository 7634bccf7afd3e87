/**
 * `typesAdd` in-process, for what the CLI tests (types-cli.test.ts) do not show: the sidecar map is
 * read by the model's own sidecar parser, so every spelling the map format allows counts.
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { typesAdd } from "../../src/scaffold/types-add/index.js";
import { REPO, tempDir } from "./cli.js";

const ORIGINAL = join(REPO, "proto", "paybox.original.proto");
const MAP = join(REPO, "proto", "paybox.map.yaml");

let dir: string;
let remove: () => void;
beforeEach(() => {
  ({ dir, remove } = tempDir("types-add"));
  copyFileSync(ORIGINAL, join(dir, "paybox.proto"));
});
afterEach(() => remove());

describe("typesAdd on a sidecar map", () => {
  it("infers a direction from entries written as the map format allows (UPLINK, any case)", async () => {
    const map = readFileSync(MAP, "utf8");
    const pongEntry = /^ {2}Pong:.*\n/m;
    const pingUp = "Ping: { type: 0x03, direction: up,";
    expect(map).toMatch(pongEntry);
    expect(map).toContain(pingUp);
    writeFileSync(
      join(dir, "map.yaml"),
      map.replace(pongEntry, "").replace(pingUp, "Ping: { type: 0x03, direction: UPLINK,"),
    );
    const result = await typesAdd({
      sources: { inputs: ["paybox.proto"], map: "map.yaml", cwd: dir },
      message: "Pong",
      spec: { type: 0x83 },
      target: "map",
    });
    expect(result.inferred).toBe("direction down inferred: Ping (up) names Pong as its reply");
    expect(result.row).toMatchObject({ message: "Pong", direction: "down" });
    expect(readFileSync(join(dir, "map.yaml"), "utf8")).toContain("  Pong: { type: 0x83, direction: down }");
  });
});
