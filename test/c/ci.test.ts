/**
 * `.ci/run` installs everything the C tests use: the package of each tool they require, clang's
 * sanitizer/libFuzzer runtime for the clang that is installed (libclang-rt-<major>-dev), llvm and
 * OpenSSL's headers. A fresh CI machine would otherwise fail them with a missing tool or header.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LIBRARY_PACKAGES, REPO, requireTool, run, TOOL_PACKAGES } from "./support/toolchain.js";

/** The packages of `.ci/run`'s `apt-get install` command (continued lines joined). */
function ciPackages(): Set<string> {
  const script = readFileSync(join(REPO, ".ci/run"), "utf8").replace(/\\\n/g, " ");
  const install = script.split("\n").find((line) => /\bapt-get install\b/.test(line));
  expect(install, ".ci/run has no apt-get install line").toBeDefined();
  const words = install!.slice(install!.indexOf("apt-get install") + "apt-get install".length).split(/\s+/);
  return new Set(words.filter((word) => word !== "" && !word.startsWith("-")));
}

describe(".ci/run", () => {
  it("apt-installs the package of every tool the C tests require", () => {
    const listed = ciPackages();
    const needed = [...new Set(Object.values(TOOL_PACKAGES).flatMap((packages) => packages.split(" ")))];
    expect(needed.filter((name) => !listed.has(name))).toEqual([]);
  });

  it("apt-installs clang's sanitizer and libFuzzer runtime for the installed clang, llvm and OpenSSL's headers", async () => {
    requireTool("clang");
    const version = await run("clang", ["--version"]);
    const major = /clang version (\d+)\./.exec(version.stdout)?.[1];
    expect(major, version.stdout).toBeDefined();
    const listed = ciPackages();
    const needed = LIBRARY_PACKAGES.map((name) => name.replace("<clang major>", major!));
    expect(needed.filter((name) => !listed.has(name))).toEqual([]);
  });
});
