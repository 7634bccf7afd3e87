/**
 * The committed example SDK is what the generator makes of proto/paybox.proto today, and the example
 * programs type-check against it (strict, like any user project).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../examples/demo/processes.js";
import { scaled } from "../helpers/time.js";

const tscBin = createRequire(import.meta.url).resolve("typescript/bin/tsc");

function run(args: readonly string[]) {
  const result = spawnSync(process.execPath, [...args], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    timeout: scaled(120_000),
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("examples", () => {
  it("examples/sdk is up to date with proto/paybox.proto (generate --check)", () => {
    const { status, output } = run([
      "bin/run.js",
      "generate",
      "proto/paybox.proto",
      "--out",
      "examples/sdk",
      "--check",
    ]);
    expect(output).not.toMatch(/stale|missing|extra/i);
    expect(status, output).toBe(0);
  });

  it(
    "type-checks (tsc -p examples/tsconfig.json)",
    () => {
      const { status, output } = run([tscBin, "-p", "examples/tsconfig.json"]);
      expect(output).toBe("");
      expect(status).toBe(0);
    },
    scaled(120_000),
  );
});
