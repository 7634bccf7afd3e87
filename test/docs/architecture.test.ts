/**
 * ARCHITECTURE.md stays true as the code changes: every path it names exists (a file named without
 * its folder exists in the folder the text is about), and every folder of the runtime and of the
 * generator is described (a new one fails this until the page says what it owns).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./markdown.js";

const PAGE = "ARCHITECTURE.md";
const text = readFileSync(join(REPO_ROOT, PAGE), "utf8");
/** Every `code span` of the page. */
const spans = [...text.matchAll(/`([^`\n]+)`/g)].map((match) => match[1]!);
/** Spans that name a path: with a slash, or a file name with an extension. */
const paths = spans.filter(
  (span) => /^[\w.-]+(\/[\w.-]*)*$/.test(span) && /\/|\.(ts|js|json|md|proto)$/.test(span),
);

/** Folders searched for a file the page names without its folder (`guard.ts`). */
const SOURCE_DIRS = ["runtime/src", "src", "cluster/src", "metrics/src"];

function filesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) found.push(...filesUnder(path));
    else found.push(path);
  }
  return found;
}

const sourceFiles = SOURCE_DIRS.flatMap(filesUnder);

describe(PAGE, () => {
  it("names paths that exist", () => {
    expect(paths.length).toBeGreaterThan(50);
    const missing = paths.filter((path) =>
      path.includes("/")
        ? !existsSync(join(REPO_ROOT, path))
        : !sourceFiles.some((file) => file.endsWith(`/${path}`)),
    );
    expect(missing, `${PAGE} names paths that do not exist`).toEqual([]);
  });

  it("describes every folder of the runtime and of the generator", () => {
    const folders = ["runtime/src", "src"].flatMap((root) =>
      readdirSync(join(REPO_ROOT, root), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => `${root}/${entry.name}/`),
    );
    const described = new Set(paths.map((path) => (path.endsWith("/") ? path : `${path}/`)));
    expect(folders.filter((folder) => !described.has(folder))).toEqual([]);
  });
});
