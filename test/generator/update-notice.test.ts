/**
 * paynet-gen never tells its users "update available": it loads no oclif plugin (the update check
 * is one), so no run looks at the registry or prints the notice, however stale its cache says it is.
 * Its own build does not run the `oclif` CLI either, whose plugins print that notice into the build.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Config } from "@oclif/core";
import { afterAll, describe, expect, it } from "vitest";
import { run, tempDir } from "../scaffold/cli.js";
import { REPO_ROOT } from "./sdk-harness.js";

const cache = tempDir("update-notice");
afterAll(() => cache.remove());

describe("update notice", () => {
  it("the CLI loads no plugin besides itself", async () => {
    const config = await Config.load(REPO_ROOT);
    expect([...config.plugins.keys()]).toEqual(["paynet-gen"]);
  });

  it("prints no update notice even when its cache names a newer release", async () => {
    // Where oclif's update check keeps the latest version it saw: a newer one than ours.
    mkdirSync(join(cache.dir, "paynet-gen"), { recursive: true });
    writeFileSync(join(cache.dir, "paynet-gen", "version"), JSON.stringify({ latest: "99.0.0" }));
    const env = { ...process.env, XDG_CACHE_HOME: cache.dir, NO_COLOR: "1" };
    for (const args of [["--version"], ["generate", "--help"], ["types", "list"]]) {
      const result = await run(process.execPath, [join(REPO_ROOT, "bin", "run.js"), ...args], REPO_ROOT, {
        env,
      });
      expect(`${result.stdout}${result.stderr}`, args.join(" ")).not.toMatch(/update available/i);
    }
  });

  it("the build writes the manifest without the oclif CLI", () => {
    const scripts = (
      JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    for (const [name, script] of Object.entries(scripts)) {
      expect(script, `npm run ${name}`).not.toMatch(/(^|[\s&|;])(npx\s+)?oclif\s/);
    }
  });
});
