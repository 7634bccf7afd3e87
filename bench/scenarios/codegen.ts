/**
 * Codegen wall time: `paynet-gen generate` (the built CLI, a fresh process per run) vs `pbjs -t
 * static-module` + `pbts` on the same input, for paybox.proto and for a generated 200-message proto.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_DIR } from "../lib/proc.js";
import { targetRow } from "../lib/report.js";
import { CLI, PAYBOX_PROTO, PBJS, PBTS, PROTO_DIR } from "../lib/setup.js";
import { median, ratio } from "../lib/stats.js";
import type { BenchContext, ScenarioResult } from "./context.js";

/** A proto with `pairs` request/reply message pairs (2 × pairs messages), every one annotated. */
export function bigProto(pairs: number): string {
  const lines = [
    'syntax = "proto3";',
    "package bulk;",
    'import "paynet/options.proto";',
    "",
    "enum Level { LEVEL_UNSPECIFIED = 0; LOW = 1; HIGH = 2; }",
    "",
  ];
  for (let i = 1; i <= pairs; i++) {
    const fields = (prefix: string) => [
      `  string ${prefix}_id = 1 [(paynet.correlation) = true];`,
      "  uint32 count = 2;",
      "  int64 amount = 3;",
      "  bool flag = 4;",
      "  bytes blob = 5;",
      "  repeated string tags = 6;",
      "  Level level = 7;",
      "  double ratio = 8;",
    ];
    lines.push(
      `// Request number ${i}.`,
      `message Req${i} {`,
      `  option (paynet.type) = ${i};`,
      "  option (paynet.direction) = UPLINK;",
      `  option (paynet.reply) = "Rsp${i}";`,
      ...fields("req"),
      "}",
      "",
      `// Reply number ${i}.`,
      `message Rsp${i} {`,
      `  option (paynet.type) = ${i};`,
      "  option (paynet.direction) = DOWNLINK;",
      ...fields("req"),
      "}",
      "",
    );
  }
  return lines.join("\n");
}

function timeMs(run: () => void): number {
  const t0 = performance.now();
  run();
  return performance.now() - t0;
}

export async function codegenScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const dir = join(ctx.tmpDir, "codegen");
  mkdirSync(dir, { recursive: true });
  const bulk = join(dir, "bulk.proto");
  writeFileSync(bulk, bigProto(100));
  const runs = ctx.quick ? 2 : 3;
  const inputs = [
    { name: "paybox.proto", file: PAYBOX_PROTO },
    { name: "200-message proto", file: bulk },
  ];
  const figures: Record<string, { paynetGenMs: number[]; pbjsPbtsMs: number[] }> = {};
  const rows = [];
  const summary: Record<string, number> = {};
  for (const input of inputs) {
    const paynetGenMs: number[] = [];
    const pbjsPbtsMs: number[] = [];
    for (let r = 0; r < runs; r++) {
      const out = join(dir, `gen-${r}`);
      rmSync(out, { recursive: true, force: true });
      paynetGenMs.push(
        timeMs(() =>
          execFileSync(process.execPath, [CLI, "generate", input.file, "--out", out], {
            cwd: REPO_DIR,
            stdio: "pipe",
          }),
        ),
      );
      const js = join(dir, `pbjs-${r}.js`);
      pbjsPbtsMs.push(
        timeMs(() => {
          execFileSync(
            PBJS,
            ["-t", "static-module", "-w", "commonjs", "-p", PROTO_DIR, "-o", js, input.file],
            { cwd: REPO_DIR, stdio: "pipe" },
          );
          execFileSync(PBTS, ["-o", join(dir, `pbjs-${r}.d.ts`), js], { cwd: REPO_DIR, stdio: "pipe" });
        }),
      );
    }
    figures[input.name] = { paynetGenMs, pbjsPbtsMs };
    const gen = median(paynetGenMs);
    const pb = median(pbjsPbtsMs);
    const value = ratio(gen, pb);
    ctx.log(`  ${input.name}: paynet-gen ${gen.toFixed(0)} ms, pbjs+pbts ${pb.toFixed(0)} ms`);
    rows.push(
      targetRow(
        "codegen",
        `wall time, ${input.name}`,
        `${gen.toFixed(0)} ms`,
        `pbjs+pbts ${pb.toFixed(0)} ms`,
        value,
        { max: 0.5 },
      ),
    );
    summary[input.name === "paybox.proto" ? "codegen_paybox_vs_pbjs" : "codegen_200_vs_pbjs"] = value;
  }
  // The headline is the worse of the two inputs.
  summary.codegen_vs_pbjs = Math.max(summary.codegen_paybox_vs_pbjs!, summary.codegen_200_vs_pbjs!);
  return { rows, figures, summary };
}
