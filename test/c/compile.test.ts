/**
 * The generated C compiles everywhere a device is built: for proto/paybox.proto and every valid
 * fixture proto of the generator tests, with gcc and clang under -std=c11 -Wall -Wextra -Werror
 * -Wconversion (and -Wsign-conversion -pedantic), and for a Cortex-M4 with arm-none-eabi-gcc -Os.
 * The size of paybox's codecs, device side and portable runtime on the microcontroller is reported
 * and held to a budget; what they link against holds no allocator and no threads.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CSdk, writeCSdk } from "./support/generate.js";
import { C_FIXTURES, deviceReady, loadFixtureModel } from "./support/models.js";
import {
  ARM,
  compileObjects,
  LINUX_SOURCES,
  PORTABLE_SOURCES,
  REPO,
  requireTool,
  run,
  STRICT,
  scratch,
} from "./support/toolchain.js";

/** Flash (text + data) and RAM (one paybox_device with its buffers and record) budgets, in bytes. */
const PAYBOX_FLASH_BUDGET = 16 * 1024;
const PAYBOX_RAM_BUDGET = 13 * 1024;

/** Fixture protos that are not valid on purpose: the generator tests' error cases. */
const INVALID_FIXTURES = ["test/fixtures/protos/errors/", "test/fixtures/protos/several-errors/"];
/** What a device's code must not call: an allocator, threads. */
const FORBIDDEN_SYMBOLS =
  /^(malloc|calloc|realloc|free|aligned_alloc|posix_memalign|pthread_\w+|thrd_\w+|mtx_\w+)$/;

const work = scratch("compile");
const sdks = new Map<string, CSdk>();
/** The proto files each fixture's messages come from. */
const sourceFiles = new Set<string>();

beforeAll(async () => {
  for (const tool of ["gcc", "clang", "arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm"]) {
    requireTool(tool);
  }
  for (const fixture of C_FIXTURES) {
    const model = await loadFixtureModel(fixture);
    for (const message of model.messages) sourceFiles.add(message.position.file);
    sdks.set(fixture.name, writeCSdk(deviceReady(model), join(work.dir, fixture.name)));
  }
});
afterAll(() => work.remove());

describe("the fixtures", () => {
  it("include every valid fixture proto of the generator tests", () => {
    const protos = (readdirSync(join(REPO, "test/fixtures/protos"), { recursive: true }) as string[])
      .map((file) => `test/fixtures/protos/${file.split("\\").join("/")}`)
      .filter((file) => file.endsWith(".proto"))
      .filter((file) => !INVALID_FIXTURES.some((prefix) => file.startsWith(prefix)));
    const covered = new Set([...sourceFiles].map((file) => relative(REPO, join(REPO, file))));
    expect(protos.length).toBeGreaterThan(5);
    expect(protos.filter((file) => !covered.has(file))).toEqual([]);
  });
});

describe.each(C_FIXTURES.map((fixture) => fixture.name))("generated C of %s", (name) => {
  it.each([
    ["gcc", ["-O2"]],
    ["clang", ["-O0"]],
    ["arm-none-eabi-gcc", ARM],
  ] as const)("compiles warning-free with %s", async (compiler, flags) => {
    const sdk = sdks.get(name)!;
    const out = join(sdk.dir, compiler);
    mkdirSync(out);
    await compileObjects(compiler, sdk.sources, out, [...STRICT, ...flags]);
  });
});

describe("the runtime", () => {
  it.each(["gcc", "clang"])("compiles warning-free with %s (Linux parts included)", async (compiler) => {
    const out = join(work.dir, `runtime-${compiler}`);
    mkdirSync(out);
    await compileObjects(compiler, [...PORTABLE_SOURCES, ...LINUX_SOURCES], out, [...STRICT, "-O2"]);
  });
});

describe("size on a microcontroller (paybox, arm-none-eabi-gcc -Os, Cortex-M4)", () => {
  it(`fits ${PAYBOX_FLASH_BUDGET} bytes of flash and ${PAYBOX_RAM_BUDGET} of RAM`, async () => {
    const sdk = sdks.get("paybox")!;
    const out = join(work.dir, "size");
    mkdirSync(out);
    // RAM: one device object, as an application holds it (static storage).
    const ramSource = join(out, "device-ram.c");
    writeFileSync(ramSource, '#include "paybox_device.h"\npaybox_device device;\n');
    const sources = [...sdk.sources, ...PORTABLE_SOURCES];
    await compileObjects("arm-none-eabi-gcc", [...sources, ramSource], out, [
      ...STRICT,
      ...ARM,
      "-fno-common",
      "-I",
      sdk.dir,
    ]);
    const objects = sources.map((source) => {
      const name = source.split("/").pop()!;
      return { name, path: join(out, name.replace(/\.c$/, ".o")) };
    });
    const ramObject = join(out, "device-ram.o");
    const sizes = await run("arm-none-eabi-size", ["-A", ...objects.map((o) => o.path), ramObject]);
    expect(sizes.code, sizes.stderr).toBe(0);
    const report = parseSizes(sizes.stdout);
    const flashOf = (path: string) => (report.get(path)?.text ?? 0) + (report.get(path)?.data ?? 0);
    const codecs = flashOf(objects.find((o) => o.name === "paybox.c")!.path);
    const device = flashOf(objects.find((o) => o.name === "paybox_device.c")!.path);
    const runtime = objects
      .filter((o) => o.name.startsWith("pn_"))
      .reduce((sum, o) => sum + flashOf(o.path), 0);
    const flash = codecs + device + runtime;
    const ram = (report.get(ramObject)?.bss ?? 0) + (report.get(ramObject)?.data ?? 0);
    const staticRam = objects.reduce(
      (sum, o) => sum + (report.get(o.path)?.bss ?? 0) + (report.get(o.path)?.data ?? 0),
      0,
    );
    console.log(
      `paybox on Cortex-M4 (-Os): flash ${flash} B (codecs ${codecs}, device side ${device}, runtime ${runtime}); ` +
        `RAM ${ram} B per paybox_device (buffers and a record of 32 commands) + ${staticRam} B static`,
    );
    expect(flash).toBeLessThanOrEqual(PAYBOX_FLASH_BUDGET);
    expect(ram + staticRam).toBeLessThanOrEqual(PAYBOX_RAM_BUDGET);
    // CLIENT_INTEGRATION.md's memory budget tells what this measures (within 10 %) and the budget.
    const guide = readFileSync(join(REPO, "CLIENT_INTEGRATION.md"), "utf8");
    expect(guide).toContain(
      `holds them to ${PAYBOX_FLASH_BUDGET / 1024} KiB of flash and ${PAYBOX_RAM_BUDGET / 1024} KiB of RAM`,
    );
    const documented = (row: string) => {
      const line = guide.split("\n").find((candidate) => candidate.startsWith(`| ${row}`));
      const kib = line === undefined ? undefined : /\|\s*([\d.]+) KiB/.exec(line.slice(row.length + 2));
      expect(kib, `CLIENT_INTEGRATION.md memory budget row "${row}"`).toBeDefined();
      return Number(kib![1]) * 1024;
    };
    for (const [row, measured] of [
      ["codecs of the", codecs],
      ["device side", device],
      ["runtime (wire", runtime],
      ["one `paybox_device`", ram],
    ] as const) {
      expect(Math.abs(documented(row) - measured) / measured, `${row}: measured ${measured} B`).toBeLessThan(
        0.1,
      );
    }
    // Nothing but the device object itself: the runtime and the SDK keep no state of their own.
    expect(staticRam).toBe(0);
    // No allocator, no threads: every undefined symbol is a plain library function (memcpy, ...).
    const undefinedSymbols = await run("arm-none-eabi-nm", ["-u", ...objects.map((o) => o.path)]);
    expect(undefinedSymbols.code, undefinedSymbols.stderr).toBe(0);
    const called = new Set(
      undefinedSymbols.stdout
        .split("\n")
        .map((line) => /^\s*U\s+(\S+)$/.exec(line)?.[1])
        .filter((name): name is string => name !== undefined),
    );
    expect(called.size).toBeGreaterThan(0);
    expect([...called].filter((name) => FORBIDDEN_SYMBOLS.test(name))).toEqual([]);
  });
});

/** `arm-none-eabi-size -A` output → per object: text (all .text*, .rodata*), data, bss. */
function parseSizes(output: string): Map<string, { text: number; data: number; bss: number }> {
  const result = new Map<string, { text: number; data: number; bss: number }>();
  let current: { text: number; data: number; bss: number } | undefined;
  for (const line of output.split("\n")) {
    const header = /^(\S+)\s+:$/.exec(line.trim());
    if (header !== null) {
      current = { text: 0, data: 0, bss: 0 };
      result.set(header[1]!, current);
      continue;
    }
    const section = /^(\.\S+)\s+(\d+)\s+\d+$/.exec(line.trim());
    if (section === null || current === undefined) continue;
    const [, name, size] = section;
    const bytes = Number(size);
    if (/^\.(text|rodata)/.test(name!)) current.text += bytes;
    else if (/^\.data/.test(name!)) current.data += bytes;
    else if (/^\.bss/.test(name!)) current.bss += bytes;
  }
  return result;
}
