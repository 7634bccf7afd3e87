/**
 * The device fuzzer (test/c/programs/fuzz_device.c): built with libFuzzer, ASan and UBSan against
 * paybox's generated C SDK, run from the committed seed corpus (test/c/corpus/fuzz_device) for a
 * bounded time. New inputs go to a scratch corpus; the committed one is only read.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { writeCSdk } from "./generate.js";
import { C_FIXTURES, loadFixtureModel } from "./models.js";
import {
  compile,
  PORTABLE_SOURCES,
  PROGRAMS,
  REPO,
  RUNTIME_TEST,
  requireTool,
  run,
  scratch,
} from "./toolchain.js";

export const SEED_CORPUS = join(REPO, "test/c/corpus/fuzz_device");

export async function fuzzDevice(seconds: number): Promise<void> {
  requireTool("clang");
  const work = scratch("fuzz");
  try {
    const sdk = writeCSdk(await loadFixtureModel(C_FIXTURES[0]!), join(work.dir, "paybox"));
    const binary = join(work.dir, "fuzz_device");
    await compile("clang", [join(PROGRAMS, "fuzz_device.c"), ...sdk.sources, ...PORTABLE_SOURCES], binary, [
      "-std=c11",
      "-g",
      "-O1",
      "-fsanitize=fuzzer,address,undefined",
      "-fno-sanitize-recover=all",
      "-I",
      RUNTIME_TEST,
      "-I",
      sdk.dir,
    ]);
    const corpus = join(work.dir, "corpus");
    mkdirSync(corpus);
    const result = await run(
      binary,
      [
        `-max_total_time=${seconds}`,
        "-max_len=8192",
        "-timeout=10",
        "-rss_limit_mb=1024",
        corpus,
        SEED_CORPUS,
      ],
      { timeoutMs: (seconds + 120) * 1000 },
    );
    const output = `${result.stdout}\n${result.stderr}`;
    expect(output).not.toMatch(
      /ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|deadly signal/,
    );
    expect(result.code, output.slice(-3000)).toBe(0);
    expect(output).toMatch(/Done \d+ runs in \d+ second/);
  } finally {
    work.remove();
  }
}
