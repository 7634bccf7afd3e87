/**
 * The shell vocabulary the docs may use, and how each command is checked: `paynet-gen` lines are
 * run against the built CLI in a scratch project, `npm run` lines must name a real script (their
 * flags are parsed by the example's own argument parser), long-running programs are listed with the
 * test that runs them for real.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { scaled } from "../helpers/time.js";
import { REPO_ROOT } from "./markdown.js";
import type { ShellCommand } from "./shell.js";

/** Scripts that run until stopped (or for long): not run here, covered by these tests. */
export const COVERED_ELSEWHERE: Readonly<Record<string, readonly string[]>> = {
  demo: ["test/acceptance/demo.test.ts"],
  paynetd: [
    "test/acceptance/tls.test.ts",
    "test/acceptance/revoke.test.ts",
    "test/acceptance/ca-rotation.test.ts",
    "test/acceptance/register-login.test.ts",
    "test/acceptance/heartbeat.test.ts",
    "test/acceptance/coin.test.ts",
    "test/acceptance/config.test.ts",
    "test/acceptance/metrics-logs.test.ts",
    "test/acceptance/reload-drain.test.ts",
  ],
  paynetcli: [
    "test/acceptance/register-login.test.ts",
    "test/acceptance/heartbeat.test.ts",
    "test/acceptance/coin.test.ts",
  ],
  /** `curl` against paynetd's admin endpoint. */
  "admin endpoint": ["test/acceptance/admin.test.ts", "test/acceptance/coin.test.ts"],
  /** `npm start` of a project made by `paynet-gen init` (needs `npm install`). */
  "project start": ["test/scaffold/init.test.ts"],
  /** `make -C examples/c-device` and the C device it builds. */
  "c-device": ["test/c/device-e2e.test.ts"],
};

/** npm commands accepted as they are: they are the repository's own entry points. */
const KNOWN_NPM = new Set(["ci", "test", "install", "i"]);

/** Outcome of checking one command. */
export type CommandResult =
  | { readonly kind: "ran"; readonly output: string }
  | { readonly kind: "script" }
  | { readonly kind: "covered"; readonly by: readonly string[] }
  | { readonly kind: "known" }
  | { readonly kind: "cd" };

/** A scratch directory standing for a user's checkout: a copy of `proto/`. */
export class Workspace {
  readonly root: string;
  #cwd: string;

  constructor(root: string) {
    this.root = root;
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    cpSync(join(REPO_ROOT, "proto"), join(root, "proto"), { recursive: true });
    this.#cwd = root;
  }

  get cwd(): string {
    return this.#cwd;
  }

  /** An existing file, relative to the current directory. */
  file(path: string): string {
    const full = resolve(this.#cwd, path);
    if (!existsSync(full))
      throw new Error(`no such file ${path} in ${relative(this.root, this.#cwd) || "."}`);
    return full;
  }

  cd(target: string): void {
    const next = isAbsolute(target) ? target : resolve(this.#cwd, target);
    if (relative(this.root, next).startsWith("..")) throw new Error(`cd ${target} leaves the workspace`);
    if (!existsSync(next) || !statSync(next).isDirectory())
      throw new Error(`cd ${target}: no such directory`);
    this.#cwd = next;
  }
}

/** Checks (or runs) one command; throws with the reason when it is not acceptable. */
export async function checkCommand(command: ShellCommand, workspace: Workspace): Promise<CommandResult> {
  // Leading `NAME=value` words set the environment of an npm script (e.g. `STRESS_LONG=1 npm run ...`).
  const firstWord = command.words.findIndex((word) => !/^[A-Z][A-Z0-9_]*=\S*$/.test(word));
  const words = command.words.slice(Math.max(firstWord, 0));
  if (words.length < command.words.length && words[0] !== "npm")
    throw new Error("environment assignments are only documented in front of npm run");
  const [head, ...rest] = words;
  if (head === "cd") {
    if (rest.length !== 1) throw new Error("cd takes one directory");
    workspace.cd(rest[0]!);
    return { kind: "cd" };
  }
  if (head === "paynet-gen") return runCli(rest, workspace);
  if (head === "npx" && rest[0] === "paynet-gen") return runCli(rest.slice(1), workspace);
  if (head === "npm") return checkNpm(rest, workspace);
  if (head === "curl") {
    if (!command.words.some((word) => /\/devices\/[^/]+\/coin$/.test(word))) {
      throw new Error("curl is only documented against paynetd's admin endpoint POST /devices/:id/coin");
    }
    // The endpoint refuses anything else, so the docs must show both headers.
    const headers = command.words.filter((_, i) => command.words[i - 1] === "-H");
    if (!headers.some((header) => /^Authorization: Bearer .+$/.test(header))) {
      throw new Error('curl against the admin endpoint needs -H "Authorization: Bearer <token>"');
    }
    if (!headers.some((header) => /^Content-Type: application\/json$/i.test(header))) {
      throw new Error('curl against the admin endpoint needs -H "Content-Type: application/json"');
    }
    return covered("admin endpoint");
  }
  if (head === "make") {
    if (rest[0] !== "-C" || rest[1] !== "examples/c-device") {
      throw new Error("make is only documented as `make -C examples/c-device` (the example C device)");
    }
    return covered("c-device");
  }
  if (head === "examples/c-device/c-device") return checkCDeviceArgs(rest);
  throw new Error(`\`${head}\` is not a command the doc test can check; use paynet-gen, npm or cd`);
}

/** The C device's flags, against the usage text of its own parser (examples/c-device/options.c). */
function checkCDeviceArgs(args: readonly string[]): CommandResult {
  const usage = readFileSync(join(REPO_ROOT, "examples/c-device/options.c"), "utf8");
  const known = new Set(usage.match(/--[a-z][a-z-]*/g) ?? []);
  for (const flag of args.filter((word) => word.startsWith("--"))) {
    if (!known.has(flag)) throw new Error(`c-device has no flag ${flag}`);
  }
  for (const required of ["--connect", "--certs", "--sn"]) {
    if (!args.includes(required)) throw new Error(`c-device needs ${required}`);
  }
  return covered("c-device");
}

function runCli(args: readonly string[], workspace: Workspace): CommandResult {
  const result = spawnSync(process.execPath, [join(REPO_ROOT, "bin/run.js"), ...args], {
    cwd: workspace.cwd,
    encoding: "utf8",
    timeout: scaled(120_000),
    env: { ...process.env, NO_COLOR: "1" },
  });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) {
    throw new Error(`paynet-gen ${args.join(" ")} exited with ${result.status}:\n${output}`);
  }
  return { kind: "ran", output };
}

/**
 * `npm ...` in the repository (the workspace root stands for it) or in a project made by
 * `paynet-gen init` (a directory of the workspace with its own package.json).
 */
async function checkNpm(args: readonly string[], workspace: Workspace): Promise<CommandResult> {
  const [sub, ...rest] = args;
  const projectFile = join(workspace.cwd, "package.json");
  const inProject = workspace.cwd !== workspace.root && existsSync(projectFile);
  if (sub === "start" && inProject) return covered("project start");
  if (sub !== "run") {
    if (sub !== undefined && KNOWN_NPM.has(sub)) return { kind: "known" };
    throw new Error(`npm ${sub ?? ""}: only npm ci, npm test, npm install and npm run SCRIPT are documented`);
  }
  const [script, ...more] = rest;
  const scripts = scriptsOf(inProject ? projectFile : join(REPO_ROOT, "package.json"));
  const body = script === undefined ? undefined : scripts[script];
  if (script === undefined || body === undefined) {
    throw new Error(`npm run ${script ?? ""}: no such script in ${inProject ? projectFile : "package.json"}`);
  }
  const dashDash = more.indexOf("--");
  const scriptArgs = dashDash === -1 ? [] : more.slice(dashDash + 1);
  // A script that is one paynet-gen command (a project's `generate`) is run like the command itself.
  if (/^paynet-gen [^&|;]+$/.test(body))
    return runCli([...body.split(/\s+/).slice(1), ...scriptArgs], workspace);
  await checkScriptArgs(script, scriptArgs, workspace);
  if (inProject && script === "start") return covered("project start");
  return script in COVERED_ELSEWHERE ? covered(script) : { kind: "script" };
}

function scriptsOf(packageJson: string): Record<string, string> {
  return (
    (JSON.parse(readFileSync(packageJson, "utf8")) as { scripts?: Record<string, string> }).scripts ?? {}
  );
}

/**
 * paynetd and paynetcli flags go through the programs' own parsers. A `--config FILE` is read from
 * the workspace, where a `config:` block of the doc wrote it (see `CONFIG_FILES`); nothing else is
 * read or started.
 */
async function checkScriptArgs(script: string, args: readonly string[], workspace: Workspace): Promise<void> {
  const resolved = args.map((arg, i) => (args[i - 1] === "--config" ? workspace.file(arg) : arg));
  if (script === "paynetd") {
    const { parsePaynetdArgs } = await import("../../examples/paynetd/options.js");
    parsePaynetdArgs(resolved);
  } else if (script === "paynetcli") {
    const { parsePaynetcliArgs } = await import("../../examples/paynetcli/options.js");
    parsePaynetcliArgs(resolved);
  }
}

/** The file a `<!-- config: PROGRAM -->` YAML block of the docs is written to in the workspace. */
export const CONFIG_FILES = { paynetd: "paynetd.yaml", paynetcli: "device.yaml" } as const;

function covered(key: string): CommandResult {
  const by = COVERED_ELSEWHERE[key]!;
  const missing = by.filter((file) => !existsSync(join(REPO_ROOT, file)));
  if (missing.length > 0)
    throw new Error(`${key} is said to be covered by missing test(s): ${missing.join(", ")}`);
  return { kind: "covered", by };
}
