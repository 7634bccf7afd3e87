/**
 * `paynet-gen generate` with no arguments inside a project: the protos, the output directory, the
 * side and the other settings come from the "paynet" section of its package.json (found from any
 * directory below it), flags still win, and a missing or wrong section is a PROJECT_CONFIG error at
 * its place in package.json. Runs the bin of a private copy of the package (see private-cli.ts).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPrivateCli, type PrivateCli } from "./private-cli.js";
import { REPO_ROOT, readTree, removeDir } from "./sdk-harness.js";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let cli: PrivateCli;
let root = "";
beforeAll(async () => {
  cli = await buildPrivateCli();
  root = await mkdtemp(join(tmpdir(), "paynet-generate-project-"));
});
afterAll(async () => {
  await removeDir(root);
  await cli?.remove();
});

function paynetGen(cwd: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli.bin, ...args],
      { cwd, env: { ...process.env, OCLIF_COLUMNS: "1000", NO_COLOR: "1" } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let projects = 0;
/** A project directory holding the paybox proto and a package.json with `paynet` (raw text when a string). */
async function project(paynet: unknown, raw?: string): Promise<string> {
  const dir = join(root, `project-${++projects}`);
  await mkdir(join(dir, "proto"), { recursive: true });
  await mkdir(join(dir, "src", "deep"), { recursive: true });
  await copyFile(join(REPO_ROOT, "proto", "paybox.proto"), join(dir, "proto", "paybox.proto"));
  const pkg =
    paynet === undefined ? { name: "box", type: "module" } : { name: "box", type: "module", paynet };
  await writeFile(join(dir, "package.json"), raw ?? `${JSON.stringify(pkg, null, 2)}\n`);
  return dir;
}

/** 1-based line and column where `needle` first starts in `text` at or after `from`. */
function placeOf(text: string, needle: string, from = 0): string {
  const offset = text.indexOf(needle, from);
  expect(offset, needle).toBeGreaterThanOrEqual(0);
  const before = text.slice(0, offset).split("\n");
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

describe("paynet-gen generate inside a project", () => {
  it("without arguments generates what package.json names, byte for byte as the explicit command", async () => {
    const dir = await project({
      proto: ["proto/paybox.proto"],
      sdk: "src/sdk",
      target: "server",
      int64: "string",
    });
    const run = await paynetGen(dir, "generate");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("wrote src/sdk/server.ts\n");
    expect(run.stdout).toMatch(/generated 8 files into src\/sdk \(8 written, 0 unchanged\)/);
    expect(existsSync(join(dir, "src", "sdk", "client.ts")), "target server: no client facade").toBe(false);

    const explicit = await paynetGen(
      dir,
      ...["generate", "proto/paybox.proto", "--out", "explicit", "--target", "server", "--int64", "string"],
    );
    expect(explicit.code, explicit.stderr).toBe(0);
    expect(await readTree(join(dir, "src", "sdk"))).toEqual(await readTree(join(dir, "explicit")));

    // From a directory below the project, and with --check (what CI runs).
    const check = await paynetGen(join(dir, "src", "deep"), "generate", "--check");
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain("../sdk is up to date (8 files)");
  });

  it("takes the default SDK directory and lets flags override the section", async () => {
    const dir = await project({ proto: "proto/paybox.proto", target: "server" });
    const run = await paynetGen(dir, "generate", "--target", "both", "--out", "elsewhere");
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(join(dir, "elsewhere", "client.ts")), "--target both wins over the section").toBe(true);
    expect(existsSync(join(dir, "src", "generated"))).toBe(false);
    const byDefault = await paynetGen(dir, "generate");
    expect(byDefault.code, byDefault.stderr).toBe(0);
    expect(existsSync(join(dir, "src", "generated", "server.ts"))).toBe(true);
  });

  it("reports a package.json without a paynet section at its first line and writes nothing", async () => {
    const dir = await project(undefined);
    const run = await paynetGen(dir, "generate");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'package.json:1:1: no "paynet" section, so no .proto file to generate from: pass the .proto files and --out',
    );
    expect(run.stderr).toContain("PROJECT_CONFIG");
    expect(existsSync(join(dir, "src", "generated"))).toBe(false);
  });

  it("points at the bad setting of a wrong section", async () => {
    const cases: Array<{ paynet: unknown; needle: string; message: string }> = [
      {
        paynet: { proto: ["proto/paybox.proto"], target: "cloud" },
        needle: '"cloud"',
        message: '"paynet".target must be one of "both", "server", "client"',
      },
      {
        paynet: { proto: ["proto/paybox.proto", 7] },
        needle: "7",
        message: '"paynet".proto[1] must be a file path',
      },
      {
        paynet: { protos: ["proto/paybox.proto"] },
        needle: '"protos"',
        message:
          '"paynet".protos is not a setting (proto, protoPaths, map, name, sdk, target, int64, handlers)',
      },
      {
        paynet: { proto: [], sdk: "src/generated" },
        needle: '"proto"',
        message: '"paynet".proto names no .proto file',
      },
      {
        paynet: { sdk: "src/generated" },
        needle: '"paynet"',
        message: '"paynet".proto names no .proto file',
      },
      { paynet: ["proto/paybox.proto"], needle: "[", message: '"paynet" must be an object' },
    ];
    for (const { paynet, needle, message } of cases) {
      const dir = await project(paynet);
      const text = await readFile(join(dir, "package.json"), "utf8");
      const run = await paynetGen(dir, "generate");
      expect(run.code, JSON.stringify(paynet)).toBe(1);
      const place = placeOf(text, needle, text.indexOf('"paynet"'));
      expect(run.stderr, JSON.stringify(paynet)).toContain(`package.json:${place}: ${message}`);
      expect(run.stderr).toContain("PROJECT_CONFIG");
      expect(existsSync(join(dir, "src", "generated"))).toBe(false);
    }
  });

  it("reports a package.json that is not JSON at the offending character", async () => {
    const raw = '{\n  "name": "box",\n  "paynet": { "proto": ["proto/paybox.proto"], }\n}\n';
    const dir = await project(undefined, raw);
    const run = await paynetGen(dir, "generate");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`package.json:${placeOf(raw, "}\n}")}: not valid JSON`);
  });

  it("needs --out when given .proto files, and says where else the directory can come from", async () => {
    const dir = await project({ proto: ["proto/paybox.proto"] });
    const run = await paynetGen(dir, "generate", "proto/paybox.proto");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("--out DIR is required when .proto files are given");
    expect(run.stderr).toContain("OUT_REQUIRED");
  });
});
