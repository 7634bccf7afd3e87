/**
 * The C runtime's and the generated device side's own tests (runtime-c/test/test_wire.c,
 * test_client.c, test_record.c; test/c/programs/device_test.c for paybox and
 * commands_device_test.c for the generator's commands.proto): the wire primitives, the frame
 * reader and the backoff; a fake transport and clock drive the client through the login flow,
 * heartbeats, dead-peer detection, timeouts, the backoff sequence with its cap and reset, oversize
 * frames; the record through reboots and torn writes; the device sides of two models with other
 * annotations through their login flows, commands, repeats and interruptions. Each runs under
 * AddressSanitizer + UndefinedBehaviorSanitizer and, built without them, under valgrind.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CSdk, writeCSdk } from "./support/generate.js";
import { C_FIXTURES, deviceReady, loadFixtureModel } from "./support/models.js";
import {
  compile,
  PORTABLE_SOURCES,
  PROGRAMS,
  RUNTIME_TEST,
  requireTool,
  run,
  SANITIZE,
  scratch,
} from "./support/toolchain.js";

/** runtime-c/test/<name>.c, one program per subject. */
const RUNTIME_TESTS = ["test_wire", "test_client", "test_record"];
const work = scratch("runtime");
afterAll(() => work.remove());
const programs: { name: string; sources: () => string[]; includes: () => string[] }[] = [];

/** The device side of a model, generated as a device build gets it (every field bounded). */
async function deviceSdk(name: string): Promise<CSdk> {
  const fixture = C_FIXTURES.find((candidate) => candidate.name === name)!;
  return writeCSdk(deviceReady(await loadFixtureModel(fixture)), join(work.dir, name));
}

beforeAll(async () => {
  for (const tool of ["clang", "gcc", "valgrind"]) requireTool(tool);
  const paybox = await deviceSdk("paybox");
  const commands = await deviceSdk("commands");
  programs.push(
    ...RUNTIME_TESTS.map((name) => ({
      name,
      sources: () => [join(RUNTIME_TEST, `${name}.c`)],
      includes: () => [],
    })),
    {
      name: "device_test",
      sources: () => [join(PROGRAMS, "device_test.c"), ...paybox.sources],
      includes: () => [paybox.dir],
    },
    {
      name: "commands_device_test",
      sources: () => [join(PROGRAMS, "commands_device_test.c"), ...commands.sources],
      includes: () => [commands.dir],
    },
  );
});

const TESTS = [...RUNTIME_TESTS, "device_test", "commands_device_test"];

/** Runs a test program; every line must say ok and the summary must count no failure. */
function expectAllPassed(result: { code: number | null; stdout: string; stderr: string }): void {
  expect(result.stderr, result.stdout).toBe("");
  expect(result.code, result.stdout).toBe(0);
  const lines = result.stdout.trimEnd().split("\n");
  expect(lines.filter((line) => !line.startsWith("ok "))).toEqual([lines.at(-1)]);
  expect(lines.at(-1)).toBe(`${lines.length - 1} tests, 0 failed checks`);
  expect(lines.length).toBeGreaterThan(3);
}

describe.each(TESTS)("%s", (name) => {
  const program = () => programs.find((candidate) => candidate.name === name)!;
  const flags = () => [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wconversion",
    "-g",
    "-I",
    RUNTIME_TEST,
    ...program()
      .includes()
      .flatMap((dir) => ["-I", dir]),
  ];

  it("passes under AddressSanitizer and UndefinedBehaviorSanitizer", async () => {
    const binary = join(work.dir, `${name}-asan`);
    await compile("clang", [...program().sources(), ...PORTABLE_SOURCES], binary, [
      ...flags(),
      "-O1",
      ...SANITIZE,
    ]);
    expectAllPassed(await run(binary, [], { env: { ...process.env, ASAN_OPTIONS: "detect_leaks=1" } }));
  });

  it("passes under valgrind with no error and nothing leaked", async () => {
    const binary = join(work.dir, `${name}-plain`);
    await compile("gcc", [...program().sources(), ...PORTABLE_SOURCES], binary, [...flags(), "-O1"]);
    const result = await run("valgrind", [
      "-q",
      "--error-exitcode=99",
      "--leak-check=full",
      "--errors-for-leak-kinds=all",
      binary,
    ]);
    expectAllPassed(result);
  });
});
