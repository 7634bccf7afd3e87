/**
 * The runtime's public surface is deliberate: each entry point of `runtime/package.json` `exports`
 * (`.`, `./protobuf`, `./cluster`, `./testing`) exports exactly the names, and its classes exactly
 * the public members, listed in `runtime/api/<entry>.api.txt`.
 *
 * When a change of the surface is intended, rewrite the reports with
 * `UPDATE_API_REPORT=1 npx vitest run test/runtime/api-report.test.ts` and commit them with the
 * change; the diff of `runtime/api/` is the reviewable record of what users gained or lost.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { RUNTIME_NAMES } from "../../src/emit/runtime-names.js";
import { apiReports, entryPoints } from "../helpers/api-report.js";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const RUNTIME_DIR = join(REPO_ROOT, "runtime");
const REPORT_DIR = join(RUNTIME_DIR, "api");
const UPDATE = process.env.UPDATE_API_REPORT === "1";
const HOW_TO_UPDATE =
  "if the change is intended: UPDATE_API_REPORT=1 npx vitest run test/runtime/api-report.test.ts, then commit runtime/api/";

/** `.` → `index.api.txt`, `./protobuf` → `protobuf.api.txt`. */
function reportFile(subpath: string): string {
  return join(REPORT_DIR, `${subpath === "." ? "index" : subpath.slice(2).replaceAll("/", "-")}.api.txt`);
}

const entries = entryPoints(RUNTIME_DIR);
let reports: Map<string, string[]>;

beforeAll(() => {
  reports = apiReports(entries);
  if (UPDATE) {
    mkdirSync(REPORT_DIR, { recursive: true });
    for (const [subpath, lines] of reports) writeFileSync(reportFile(subpath), `${lines.join("\n")}\n`);
  }
}, 120_000);

describe("the runtime's API report", () => {
  it.each(entries.map((entry) => entry.subpath))("of %s matches runtime/api/", (subpath) => {
    const file = reportFile(subpath);
    expect(existsSync(file), `${file} is missing; ${HOW_TO_UPDATE}`).toBe(true);
    const committed = readFileSync(file, "utf8").trimEnd().split("\n");
    expect(reports.get(subpath), `@paynet/runtime${subpath.slice(1)} changed; ${HOW_TO_UPDATE}`).toEqual(
      committed,
    );
  });

  it("has no report of an entry point the package no longer has", () => {
    const expected = entries.map((entry) => reportFile(entry.subpath)).sort();
    const present = readdirSync(REPORT_DIR)
      .map((name) => join(REPORT_DIR, name))
      .sort();
    expect(present, HOW_TO_UPDATE).toEqual(expected);
  });

  it("keeps the runtime's internals out of the main entry point", () => {
    const main = reports.get(".") ?? [];
    const names = new Set(main.map((line) => line.slice(line.lastIndexOf(" ") + 1)));
    for (const internal of [
      "DeliveryManager",
      "FrameConnection",
      "IdempotencyGuard",
      "TimerWheel",
      "ReplyRouter",
    ]) {
      expect(names.has(internal), internal).toBe(false);
    }
    expect(reports.get("./protobuf")).not.toContain("property Writer.openForks");
  });

  it("exports every runtime name a generated SDK imports", () => {
    const main = reports.get(".") ?? [];
    const names = new Set(main.map((line) => line.slice(line.lastIndexOf(" ") + 1)));
    expect(RUNTIME_NAMES.filter((name) => !names.has(name))).toEqual([]);
  });
});
