/** Codec: generated static codecs vs protobufjs static code, encode and decode ops/s per message. */
import { BenchProcess } from "../lib/proc.js";
import { infoRow, targetRow } from "../lib/report.js";
import { geomean, human, ratio } from "../lib/stats.js";
import type { BenchContext, ScenarioResult } from "./context.js";

interface CodecResult {
  message: string;
  bytes: number;
  generatedEncode: number;
  protobufjsEncode: number;
  generatedDecode: number;
  protobufjsDecode: number;
}

export async function codecScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const proc = await BenchProcess.start("codec", "procs/codec.ts", {
    sdkDir: ctx.sdkDir,
    pbjsFile: ctx.pbjsFile,
  });
  let results: CodecResult[];
  try {
    results = await proc.call<CodecResult[]>("run", { rounds: ctx.quick ? 3 : 5, ms: ctx.quick ? 300 : 600 });
  } finally {
    await proc.stop();
  }
  const ratios: number[] = [];
  const s = "codec";
  const rows = results.flatMap((r) => {
    const enc = ratio(r.generatedEncode, r.protobufjsEncode);
    const dec = ratio(r.generatedDecode, r.protobufjsDecode);
    ratios.push(enc, dec);
    return [
      infoRow(
        s,
        `${r.message} (${r.bytes} B) encode ops/s`,
        human(r.generatedEncode),
        `protobufjs ${human(r.protobufjsEncode)}`,
        enc,
      ),
      infoRow(
        s,
        `${r.message} (${r.bytes} B) decode ops/s`,
        human(r.generatedDecode),
        `protobufjs ${human(r.protobufjsDecode)}`,
        dec,
      ),
    ];
  });
  const overall = Math.round(geomean(ratios) * 1000) / 1000;
  const worst = Math.min(...ratios);
  rows.push(
    targetRow(s, "geometric mean of encode+decode ratios", "", "protobufjs static", overall, { min: 0.9 }),
  );
  return {
    rows,
    figures: { results },
    summary: { codec_vs_protobufjs: overall, codec_worst_vs_protobufjs: worst },
  };
}
