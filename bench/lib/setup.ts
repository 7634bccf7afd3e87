/**
 * Per-run preparation: the generated Paybox SDK (with the built `paynet-gen` CLI) and the
 * protobufjs static module of the same proto, both under bench/.sdk (git-ignored).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { REPO_DIR } from "./proc.js";

export const SDK_ROOT = join(REPO_DIR, "bench", ".sdk", "generated");
export const CLI = join(REPO_DIR, "bin", "run.js");
export const PBJS = join(REPO_DIR, "node_modules", ".bin", "pbjs");
export const PBTS = join(REPO_DIR, "node_modules", ".bin", "pbts");
export const PAYBOX_PROTO = join(REPO_DIR, "proto", "paybox.proto");
export const PROTO_DIR = join(REPO_DIR, "proto");

/** Checks that `npm run build` ran (the CLI and the runtime the SDK imports are built). */
export function assertBuilt(): void {
  const missing = [
    join(REPO_DIR, "dist", "commands", "generate.js"),
    join(REPO_DIR, "runtime", "dist", "index.js"),
  ].filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new Error(`not built: ${missing.join(", ")} missing; run \`npm run build\` (npm run bench does)`);
  }
}

/** Generates the SDK of paybox.proto into bench/.sdk/generated/paybox and returns that directory. */
export function generateSdk(): string {
  const out = join(SDK_ROOT, "paybox");
  rmSync(out, { recursive: true, force: true });
  execFileSync(process.execPath, [CLI, "generate", PAYBOX_PROTO, "--out", out], {
    cwd: REPO_DIR,
    stdio: "pipe",
  });
  return out;
}

/** `pbjs -t static-module -w commonjs` of paybox.proto, for the codec comparison. */
export function generatePbjs(): string {
  const dir = join(SDK_ROOT, "pbjs");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "paybox.cjs");
  execFileSync(PBJS, ["-t", "static-module", "-w", "commonjs", "-p", PROTO_DIR, "-o", file, PAYBOX_PROTO], {
    cwd: REPO_DIR,
    stdio: "pipe",
  });
  return file;
}
