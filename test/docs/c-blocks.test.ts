/**
 * The C code blocks of the docs compile: each block is one translation unit against the paybox C
 * SDK of examples/c-device/sdk and the C runtime's headers, with the warnings a device build turns
 * into errors.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compile, REPO, requireTool, STRICT, scratch } from "../c/support/toolchain.js";
import { docFiles, extractBlocks, missingDocs, where } from "./markdown.js";

const blocks = docFiles()
  .filter((doc) => !missingDocs().includes(doc))
  .flatMap((doc) => extractBlocks(doc))
  .filter((block) => block.lang === "c");
const work = scratch("docs-c");
afterAll(() => work.remove());

describe("documentation C blocks", () => {
  it("exist", () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  it.each(blocks.map((block) => [where(block), block] as const))("%s compiles", async (_where, block) => {
    requireTool("gcc");
    const source = join(work.dir, `${where(block).replace(/[^A-Za-z0-9]+/g, "-")}.c`);
    writeFileSync(source, `#line ${block.line + 1} "${block.doc}"\n${block.body}`);
    await compile("gcc", [source], `${source}.o`, [
      ...STRICT,
      "-D_POSIX_C_SOURCE=200809L",
      "-fsyntax-only",
      "-I",
      join(REPO, "examples/c-device/sdk"),
    ]);
  });
});
