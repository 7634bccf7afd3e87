/**
 * The C toolchain of the C tests: the compilers `.ci/run` installs (gcc, clang, arm-none-eabi-gcc,
 * valgrind, OpenSSL headers), the runtime's sources, the warning and sanitizer flags, and running
 * what they build. A missing tool fails the test with the package to install, it never skips it.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(fileURLToPath(new URL("../../../", import.meta.url)));
export const RUNTIME_C = join(REPO, "runtime-c");
export const RUNTIME_INCLUDE = join(RUNTIME_C, "include");
export const RUNTIME_TEST = join(RUNTIME_C, "test");
export const PROGRAMS = join(REPO, "test", "c", "programs");

/** The runtime's portable part: what a microcontroller build links. */
export const PORTABLE_SOURCES = ["pn_wire.c", "pn_frame.c", "pn_backoff.c", "pn_client.c", "pn_record.c"].map(
  (file) => join(RUNTIME_C, "src", file),
);
/** Linux devices add the file storage and the OpenSSL transport. */
export const LINUX_SOURCES = ["pn_file_storage.c", "pn_openssl.c"].map((file) =>
  join(RUNTIME_C, "src", file),
);

/** What generated code and the runtime must compile with, warning-free. */
export const STRICT = [
  "-std=c11",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-Wconversion",
  "-Wsign-conversion",
  "-pedantic",
];
export const SANITIZE = [
  "-fsanitize=address,undefined",
  "-fno-sanitize-recover=all",
  "-fno-omit-frame-pointer",
];
/** Cortex-M4, size-optimised, no host library: the microcontroller build. */
export const ARM = ["-Os", "-mcpu=cortex-m4", "-mthumb", "-ffunction-sections", "-fdata-sections"];

/** The Debian packages each tool of the C tests comes from. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  gcc: "gcc libc6-dev",
  clang: "clang",
  "arm-none-eabi-gcc": "gcc-arm-none-eabi libnewlib-arm-none-eabi",
  "arm-none-eabi-size": "binutils-arm-none-eabi",
  "arm-none-eabi-nm": "binutils-arm-none-eabi",
  valgrind: "valgrind",
  make: "make",
};
/**
 * What the C tests need besides the tools: clang's sanitizer and libFuzzer runtimes (the package
 * named by clang's major version), llvm-symbolizer for readable sanitizer reports, OpenSSL 3's
 * headers and libraries for the example device.
 */
export const LIBRARY_PACKAGES = ["libclang-rt-<clang major>-dev", "llvm", "libssl-dev"] as const;

/** Throws, naming the Debian package, when a tool is missing (`.ci/run` installs them). */
export function requireTool(name: string): void {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  if (found.status !== 0) {
    throw new Error(
      `${name} is not installed: apt-get install ${TOOL_PACKAGES[name] ?? name} (.ci/run does)`,
    );
  }
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to its end (no shell), with optional stdin. */
export function run(
  command: string,
  args: readonly string[],
  options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      command,
      [...args],
      {
        cwd: options.cwd ?? REPO,
        env: options.env ?? process.env,
        maxBuffer: 64 * 1024 * 1024,
        timeout: options.timeoutMs ?? 240_000,
        encoding: "utf8",
      },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolvePromise({
          code: failure === null ? 0 : typeof failure.code === "number" ? failure.code : null,
          signal: failure?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Compiles (and links, unless `-c` is among the flags); throws with the compiler's output on failure. */
export async function compile(
  compiler: string,
  sources: readonly string[],
  out: string,
  flags: readonly string[],
  libs: readonly string[] = [],
): Promise<void> {
  const args = [...flags, "-I", RUNTIME_INCLUDE, ...sources, "-o", out, ...libs];
  const result = await run(compiler, args);
  if (result.code !== 0) {
    throw new Error(
      `${compiler} ${args.join(" ")}\nfailed (${result.code ?? result.signal}):\n${result.stderr}`,
    );
  }
}

/** Compiles sources to objects in outDir (one compiler run for all); throws with its output on failure. */
export async function compileObjects(
  compiler: string,
  sources: readonly string[],
  outDir: string,
  flags: readonly string[],
): Promise<void> {
  const args = [...flags, "-c", "-I", RUNTIME_INCLUDE, ...sources];
  const result = await run(compiler, args, { cwd: outDir });
  if (result.code !== 0) {
    throw new Error(
      `${compiler} ${args.join(" ")}\nfailed (${result.code ?? result.signal}):\n${result.stderr}`,
    );
  }
}

/** A fresh temporary directory and its removal. */
export function scratch(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `paynet-c-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
