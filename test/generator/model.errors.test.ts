/**
 * One fixture per validation rule: `test/fixtures/protos/errors/<rule>.proto` (+ `<rule>.yaml` as
 * sidecar) must produce exactly the diagnostics in `<rule>.expected.txt`. Variants of a rule are
 * named `<rule>--<variant>`.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { formatDiagnostic, loadModel } from "../../src/model/index.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DIR = "test/fixtures/protos/errors";
const fixtures = readdirSync(new URL(`../../${DIR}/`, import.meta.url))
  .filter((file) => file.endsWith(".expected.txt"))
  .map((file) => file.slice(0, -".expected.txt".length))
  .sort();

async function diagnosticsOf(name: string) {
  const mapFile = `${DIR}/${name}.yaml`;
  return loadModel({
    inputs: [`${DIR}/${name}.proto`],
    ...(existsSync(`${ROOT}${mapFile}`) ? { mapFile } : {}),
    cwd: ROOT,
  });
}

describe("validation rules", () => {
  it("has a fixture for every rule the loader reports", () => {
    const rules = fixtures.map((name) => name.split("--")[0]);
    for (const rule of [
      "syntax",
      "unsupported-edition",
      "unresolved-import",
      "unresolved-type",
      "unresolved-option",
      "unknown-option",
      "option-wrong-element",
      "option-wrong-type",
      "duplicate-option",
      "type-out-of-range",
      "duplicate-type",
      "missing-direction",
      "missing-type",
      "reply-unknown",
      "reply-untyped",
      "reply-direction",
      "correlation-missing",
      "correlation-type-mismatch",
      "correlation-invalid-field",
      "duplicate-correlation",
      "duplicate-role",
      "annotation-not-top-level",
      "sidecar-unknown-message",
      "sidecar-unknown-field",
      "sidecar-invalid",
      "annotation-conflict",
      "duplicate-name",
      "unsupported-group",
      "ts-name-collision",
      "reserved-name",
      "reserved-range",
      "role-missing-reply",
      "role-direction",
      "unsupported-extension",
      "proto3-default",
      "import-cycle",
      "correlation-one-sided",
      "correlation-unused",
      "bound-not-applicable",
      "reply-final-missing",
      "reply-final-ambiguous",
      "reply-final-no-failure",
      "sidecar-unknown-enum",
      "sidecar-unknown-value",
      "identity-misplaced",
      "identity-invalid-field",
      "duplicate-identity",
      "identity-missing",
    ]) {
      expect(rules).toContain(rule);
    }
  });

  it.each(fixtures)("%s", async (name) => {
    const expected = readFileSync(`${ROOT}${DIR}/${name}.expected.txt`, "utf8").trimEnd().split("\n");
    const { model, diagnostics } = await diagnosticsOf(name);
    expect(diagnostics.map(formatDiagnostic)).toEqual(expected);
    const rule = name.split("--")[0];
    expect(diagnostics.map((d) => d.rule)).toContain(rule);
    const hasErrors = diagnostics.some((d) => d.severity === "error");
    expect(model === undefined).toBe(hasErrors);
    if (model !== undefined) expect(model.warnings).toEqual(diagnostics);
  });
});

describe("one run reports every problem", () => {
  it("lists errors from several files and the sidecar together, in file/line order", async () => {
    const { model, diagnostics } = await loadModel({
      inputs: [
        `${DIR}/duplicate-type.proto`,
        `${DIR}/type-out-of-range.proto`,
        `${DIR}/reply-direction.proto`,
      ],
      cwd: ROOT,
    });
    expect(model).toBeUndefined();
    const lines = diagnostics.map(formatDiagnostic);
    const expected = [
      ...readFileSync(`${ROOT}${DIR}/duplicate-type.expected.txt`, "utf8").trimEnd().split("\n"),
      ...readFileSync(`${ROOT}${DIR}/reply-direction.expected.txt`, "utf8").trimEnd().split("\n"),
      ...readFileSync(`${ROOT}${DIR}/type-out-of-range.expected.txt`, "utf8").trimEnd().split("\n"),
    ];
    // The three files share package `errs`: their Types also collide across files.
    for (const line of expected) expect(lines).toContain(line);
    expect(lines.filter((l) => l.includes("[duplicate-type]")).length).toBeGreaterThan(2);
    const ordered = [...diagnostics].sort(
      (a, b) =>
        (a.position!.file < b.position!.file ? -1 : a.position!.file > b.position!.file ? 1 : 0) ||
        a.position!.line - b.position!.line ||
        a.position!.column - b.position!.column,
    );
    expect(diagnostics).toEqual(ordered);
  });

  it("reports syntax, type, option and sidecar errors of one input in the same run", async () => {
    const { model, diagnostics } = await loadModel({
      inputs: [
        "test/fixtures/protos/several-errors/main.proto",
        "test/fixtures/protos/several-errors/broken.proto",
      ],
      mapFile: "test/fixtures/protos/several-errors/main.map.yaml",
      cwd: ROOT,
    });
    expect(model).toBeUndefined();
    expect(diagnostics.map(formatDiagnostic)).toEqual(
      readFileSync(`${ROOT}test/fixtures/protos/several-errors/expected.txt`, "utf8").trimEnd().split("\n"),
    );
    expect(new Set(diagnostics.map((d) => d.rule))).toEqual(
      new Set([
        "syntax",
        "unresolved-type",
        "option-wrong-type",
        "duplicate-type",
        "reply-unknown",
        "sidecar-unknown-message",
        "annotation-conflict",
      ]),
    );
  });

  it("reports missing inputs and map files without a position", async () => {
    const { model, diagnostics } = await loadModel({
      inputs: ["nope/none.proto"],
      mapFile: "nope/none.yaml",
      cwd: ROOT,
    });
    expect(model).toBeUndefined();
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      "error [input-not-found] cannot read map file nope/none.yaml: ENOENT",
      "error [input-not-found] cannot read nope/none.proto: ENOENT",
    ]);
  });

  it("rejects an empty input list and a --name that is no identifier", async () => {
    const empty = await loadModel({ inputs: [], cwd: ROOT });
    expect(empty.diagnostics.map(formatDiagnostic)).toEqual(["error [no-input] no .proto input files given"]);
    const badName = await loadModel({ inputs: ["proto/paybox.proto"], name: "my service", cwd: ROOT });
    expect(badName.model).toBeUndefined();
    expect(badName.diagnostics.map(formatDiagnostic)).toEqual([
      'error [invalid-name] --name "my service" is not a valid TypeScript identifier',
    ]);
  });
});
