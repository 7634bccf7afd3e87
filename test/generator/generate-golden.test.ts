/**
 * Golden files of the generated SDK: the annotated paybox proto, the original proto + sidecar map,
 * the multi-file proto and the generator's edge-case protos.
 * `UPDATE_GOLDEN=1 npx vitest run test/generator/generate-golden.test.ts` rewrites them; review the
 * diff before committing.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { GeneratedFile } from "../../src/emit/types.js";
import {
  ANNOTATED_PAYBOX,
  COMMANDS,
  type Fixture,
  GOLDEN_DIR,
  MULTI_FILE,
  NASTY_NAMES,
  readTree,
  renderFixture,
  SIDECAR_PAYBOX,
  UPLINK_ONLY,
  writeFiles,
} from "./sdk-harness.js";

const UPDATE = process.env.UPDATE_GOLDEN === "1";

async function goldenOf(
  fixture: Fixture,
  files: readonly GeneratedFile[],
): Promise<readonly GeneratedFile[]> {
  const dir = join(GOLDEN_DIR, fixture.name);
  if (UPDATE) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await writeFiles(dir, files);
  }
  return readTree(dir);
}

/** Everything but the header line (it names the input file and its hash). */
function body(content: string): string {
  return content.slice(content.indexOf("\n") + 1);
}

/** The body without JSDoc blocks: the two paybox protos carry the same schema with different comments. */
function code(content: string): string {
  return body(content)
    .replace(/^[ \t]*\/\*\*[\s\S]*?\*\/[ \t]*\n/gm, "")
    .replace(/[ \t]*\/\*\*[\s\S]*?\*\//g, "");
}

describe.each([ANNOTATED_PAYBOX, SIDECAR_PAYBOX, MULTI_FILE, UPLINK_ONLY, COMMANDS, NASTY_NAMES])(
  "golden SDK of $name",
  (fixture) => {
    it("matches the golden files byte for byte", async () => {
      const files = await renderFixture(fixture);
      const golden = await goldenOf(fixture, files);
      expect(files.map((file) => file.path)).toEqual(golden.map((file) => file.path));
      for (const file of files) {
        expect(file.content, `${fixture.name}/${file.path} differs from its golden file`).toBe(
          golden.find((candidate) => candidate.path === file.path)?.content,
        );
      }
    });
  },
);

describe("annotated proto vs original proto + sidecar", () => {
  it("give the same SDK: identical files but for the header and the proto comments in types.ts", async () => {
    const annotated = await renderFixture(ANNOTATED_PAYBOX);
    const sidecar = await renderFixture(SIDECAR_PAYBOX);
    expect(sidecar.map((file) => file.path)).toEqual(annotated.map((file) => file.path));
    for (const file of annotated) {
      const other = sidecar.find((candidate) => candidate.path === file.path);
      expect(other, file.path).toBeDefined();
      if (other === undefined) continue;
      expect(file.content.split("\n", 1)[0]).toContain("from paybox.proto (sha256 ");
      expect(other.content.split("\n", 1)[0]).toContain("from paybox.original.proto (sha256 ");
      if (file.path === "types.ts") expect(code(other.content), file.path).toBe(code(file.content));
      else expect(body(other.content), file.path).toBe(body(file.content));
    }
  });
});
