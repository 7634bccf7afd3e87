/**
 * The sidecar map: JSON as well as YAML, the accepted spellings, and mixing with in-proto
 * annotations.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { formatDiagnostic, loadModel, type ProtoModel } from "../../src/model/index.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DIR = "test/fixtures/protos/sidecar";

function table(model: ProtoModel) {
  return model.wire.map(({ message, wire }) => ({ name: message.fullName, ...wire }));
}

describe("sidecar map", () => {
  it("reads JSON with string Types, upper-case spellings and qualified names like the YAML map", async () => {
    const fromJson = await loadModel({
      inputs: ["proto/paybox.original.proto"],
      mapFile: `${DIR}/paybox.map.json`,
      cwd: ROOT,
    });
    const fromYaml = await loadModel({
      inputs: ["proto/paybox.original.proto"],
      mapFile: "proto/paybox.map.yaml",
      cwd: ROOT,
    });
    expect(fromJson.diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(table(fromJson.model!)).toEqual(table(fromYaml.model!));
    expect(fromJson.model!.messages).toEqual(fromYaml.model!.messages);
  });

  it("mixes with in-proto annotations and records where each message's facts came from", async () => {
    const { model, diagnostics } = await loadModel({
      inputs: [`${DIR}/mixed.proto`],
      mapFile: `${DIR}/mixed.yaml`,
      cwd: ROOT,
    });
    expect(diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(table(model!)).toEqual([
      { name: "mixed.Hello", type: 0x01, direction: "up", reply: "mixed.Welcome", source: "proto" },
      {
        name: "mixed.Command",
        type: 0x02,
        direction: "down",
        reply: "mixed.Done",
        correlationField: "id",
        source: "map",
        // Final values given identically by the proto and the sidecar.
        replyFinal: {
          field: "outcome",
          enumName: "mixed.Outcome",
          finalValues: ["OK", "FAILED"],
          failureValue: "FAILED",
        },
      },
      { name: "mixed.Welcome", type: 0x81, direction: "down", source: "both" },
      { name: "mixed.Done", type: 0x82, direction: "up", correlationField: "id", source: "both" },
    ]);
    const command = model!.messages.find((m) => m.fullName === "mixed.Command")!;
    expect(command.fields[0]!.correlation).toBe(true);
  });

  it("reports the sidecar position of a fact that contradicts the proto", async () => {
    const { model, diagnostics } = await loadModel({
      inputs: [`${DIR}/mixed.proto`],
      mapFile: "test/fixtures/protos/errors/annotation-conflict.yaml",
      cwd: ROOT,
    });
    expect(model).toBeUndefined();
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'test/fixtures/protos/errors/annotation-conflict.yaml:3:3: error [sidecar-unknown-message] no message "Ping" (looked up from package mixed)',
      "test/fixtures/protos/sidecar/mixed.proto:15:26: error [missing-direction] message mixed.Welcome has Type 0x81 but no direction (UPLINK, DOWNLINK or BOTH)",
      "test/fixtures/protos/sidecar/mixed.proto:25:26: error [missing-direction] message mixed.Done has Type 0x82 but no direction (UPLINK, DOWNLINK or BOTH)",
    ]);
  });

  it("looks names up as the file's own: a field called `constructor` correlates like any other", async () => {
    // Inherited names as values are errors (see the `*--inherited-names` fixtures of
    // model.errors.test.ts); as real names they must still work.
    const { model, diagnostics } = await loadModel({
      inputs: [`${DIR}/inherited-names.proto`],
      mapFile: `${DIR}/inherited-names.yaml`,
      cwd: ROOT,
    });
    expect(diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(table(model!)).toEqual([
      {
        name: "named.Command",
        type: 0x04,
        direction: "down",
        reply: "named.Ack",
        correlationField: "constructor",
        source: "map",
        replyFinal: {
          field: "state",
          enumName: "named.State",
          finalValues: ["DONE", "FAILED"],
          failureValue: "FAILED",
        },
      },
      { name: "named.Ack", type: 0x84, direction: "up", correlationField: "constructor", source: "map" },
    ]);
  });
});
