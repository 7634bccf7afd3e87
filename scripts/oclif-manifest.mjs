#!/usr/bin/env node
/**
 * Writes oclif.manifest.json (what `paynet-gen` reads at start-up instead of importing every command)
 * from the built commands in dist/commands, with @oclif/core's own plugin loader, the one the `oclif
 * manifest` command uses. Done here rather than through the `oclif` CLI: that CLI loads its own
 * plugins on every run, and one of them checks the registry in the background and prints "oclif update
 * available" into every build.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Plugin } from "@oclif/core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const plugin = new Plugin({ root, type: "core", ignoreManifest: true, errorOnManifestCreate: true });
await plugin.load();
const commands = Object.keys(plugin.manifest.commands);
if (commands.length === 0) {
  process.stderr.write(
    `oclif-manifest: no commands found under ${join(root, "dist", "commands")}: build first\n`,
  );
  process.exit(1);
}
writeFileSync(join(root, "oclif.manifest.json"), JSON.stringify(plugin.manifest, null, 2));
