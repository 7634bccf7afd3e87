/**
 * The shipped `oclif.manifest.json` (written by `npm run build`, packed by `prepack`) lets the CLI
 * start without importing every command. A manifest that lags behind the command classes would show
 * stale help and reject new flags, so it must describe exactly the classes in `src/commands/`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import type { Command } from "@oclif/core";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./sdk-harness.js";

const MANIFEST = join(REPO_ROOT, "oclif.manifest.json");
const COMMANDS_DIR = join(REPO_ROOT, "src", "commands");

interface ManifestFlag {
  readonly type: string;
  readonly char?: string;
  readonly description?: string;
  readonly required?: boolean;
  readonly multiple?: boolean;
  readonly options?: readonly string[];
  readonly default?: unknown;
}

interface ManifestCommand {
  readonly summary?: string;
  readonly description?: string;
  readonly examples?: unknown;
  readonly strict?: boolean;
  readonly flags: Record<string, ManifestFlag>;
  readonly args: Record<string, { readonly description?: string; readonly required?: boolean }>;
}

/** `certs/init.ts` → `certs:init`, as oclif names commands found in `./dist/commands`. */
function commandFiles(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (current: string): void => {
    for (const name of readdirSync(current)) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) {
        found.set(relative(dir, path).slice(0, -3).split(/[\\/]/).join(":"), path);
      }
    }
  };
  walk(dir);
  return found;
}

/** The parts of a flag or an argument that the manifest must carry, in the manifest's shape. */
function describeFlag(flag: Record<string, unknown>): ManifestFlag {
  return {
    type: flag.type as string,
    ...(flag.char === undefined ? {} : { char: flag.char as string }),
    ...(flag.description === undefined ? {} : { description: flag.description as string }),
    ...(flag.required === undefined ? {} : { required: flag.required as boolean }),
    ...(flag.multiple === undefined ? {} : { multiple: flag.multiple as boolean }),
    ...(flag.options === undefined ? {} : { options: flag.options as string[] }),
    // oclif leaves a boolean's implicit `default: false` out of the manifest.
    ...(flag.default === undefined || (flag.type === "boolean" && flag.default === false)
      ? {}
      : { default: flag.default }),
  };
}

function pick(flag: ManifestFlag): ManifestFlag {
  return describeFlag(flag as unknown as Record<string, unknown>);
}

describe("oclif.manifest.json", () => {
  it("exists (npm run build writes it; prepack builds before packing)", () => {
    expect(existsSync(MANIFEST), "oclif.manifest.json is missing: run `npm run build`").toBe(true);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      version: string;
      files: string[];
      scripts: Record<string, string>;
    };
    expect(pkg.files).toContain("oclif.manifest.json");
    expect(pkg.scripts.prepack).toBe("npm run build");
    const manifest = JSON.parse(readFileSync(MANIFEST, "utf8")) as { version: string };
    expect(manifest.version).toBe(pkg.version);
  });

  it("lists exactly the command classes, with their flags, arguments and help texts", async () => {
    const manifest = JSON.parse(readFileSync(MANIFEST, "utf8")) as {
      commands: Record<string, ManifestCommand>;
    };
    const files = commandFiles(COMMANDS_DIR);
    expect(Object.keys(manifest.commands).sort(), "run `npm run build` to refresh the manifest").toEqual(
      [...files.keys()].sort(),
    );
    for (const [id, file] of files) {
      const command = (await import(pathToFileURL(file).href)).default as typeof Command;
      const entry = manifest.commands[id]!;
      const stale = `manifest entry of "${id}" is stale: run \`npm run build\``;
      expect(entry.summary, stale).toBe(command.summary);
      expect(entry.description, stale).toBe(command.description);
      expect(entry.examples, stale).toEqual(command.examples);
      expect(entry.strict, stale).toBe(command.strict);
      const flags = Object.fromEntries(
        Object.entries(command.flags ?? {}).map(([name, flag]) => [
          name,
          describeFlag(flag as unknown as Record<string, unknown>),
        ]),
      );
      const manifestFlags = Object.fromEntries(
        Object.entries(entry.flags).map(([name, flag]) => [name, pick(flag)]),
      );
      expect(manifestFlags, stale).toEqual(flags);
      const args = Object.fromEntries(
        Object.entries(command.args ?? {}).map(([name, arg]) => [
          name,
          { description: arg.description, required: arg.required ?? false },
        ]),
      );
      const manifestArgs = Object.fromEntries(
        Object.entries(entry.args).map(([name, arg]) => [
          name,
          { description: arg.description, required: arg.required ?? false },
        ]),
      );
      expect(manifestArgs, stale).toEqual(args);
    }
  });
});
