/**
 * Until `paynet-gen` and `@paynet/runtime` are on the npm registry, a project made by `init` carries
 * them as npm tarballs in `vendor/`, packed by `npm pack` from the very packages running `init`, and
 * its package.json names them as `file:vendor/...` (relative, so the project can move to another
 * directory or machine, and be committed with them). Their own dependencies still come from the
 * registry. `init --from-registry` makes projects that take both packages from the registry instead.
 */
import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ScaffoldError } from "./errors.js";

/** Where the project's dependencies on paynet's packages come from. */
export type DependencySource = "vendor" | "registry";

/** Directory of the vendored tarballs inside the project. */
export const VENDOR_DIR = "vendor";

/** The package.json dependency specs of a project, and the files that back them. */
export interface ProjectDependencies {
  readonly source: DependencySource;
  /** Spec of `@paynet/runtime` (`file:vendor/paynet-runtime-0.1.0.tgz` or `^0.1.0`). */
  readonly runtime: string;
  /** Spec of `paynet-gen`. */
  readonly generator: string;
  /** Tarballs to copy into `vendor/` (absolute paths of staged files); none from the registry. */
  readonly tarballs: readonly string[];
  /** Removes the staging directory of the tarballs. */
  readonly dispose: () => void;
}

interface PackedFile {
  readonly filename: string;
  readonly name: string;
}

/** Root of the package at or above `start` whose package.json is named `name`. */
function packageRoot(start: string, name: string): string | undefined {
  let dir = start;
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown };
      if (pkg.name === name) return realpathSync(dir);
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The two packages as installed next to this module: paynet-gen is the package holding it, and
 * @paynet/runtime the one paynet-gen resolves (a workspace in the repository, node_modules when
 * installed). Both must be built: `npm pack` ships `dist/`.
 */
function packageRoots(): { generator: string; runtime: string } {
  const generator = packageRoot(dirname(fileURLToPath(import.meta.url)), "paynet-gen");
  const runtimeEntry = fileURLToPath(import.meta.resolve("@paynet/runtime"));
  const runtime = packageRoot(dirname(runtimeEntry), "@paynet/runtime");
  if (generator === undefined || runtime === undefined)
    throw new ScaffoldError(
      "VENDOR_PACK",
      "cannot find the paynet-gen and @paynet/runtime packages to vendor",
    );
  if (!existsSync(join(runtime, "dist", "index.js")))
    throw new ScaffoldError(
      "VENDOR_PACK",
      `${runtime} is not built (no dist/index.js): run npm run build first`,
    );
  return { generator, runtime };
}

/** `npm pack` of `dirs` into `destination`, without their lifecycle scripts (they are built). */
function npmPack(dirs: readonly string[], destination: string): Promise<PackedFile[]> {
  const windows = process.platform === "win32";
  const args = ["pack", "--ignore-scripts", "--json", "--pack-destination", destination, ...dirs];
  return new Promise((resolve, reject) => {
    execFile(
      windows ? "npm.cmd" : "npm",
      args,
      { shell: windows, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_loglevel: "error" } },
      (error, stdout, stderr) => {
        if (error !== null) {
          const detail = stderr.trim() || error.message;
          reject(
            new ScaffoldError(
              "VENDOR_PACK",
              `npm pack of paynet-gen and @paynet/runtime into the project failed (${detail}); ` +
                "is npm on PATH? --from-registry takes them from the npm registry instead",
            ),
          );
          return;
        }
        try {
          resolve(JSON.parse(stdout) as PackedFile[]);
        } catch {
          reject(
            new ScaffoldError("VENDOR_PACK", `npm pack printed no package list: ${stdout.slice(0, 200)}`),
          );
        }
      },
    );
  });
}

/**
 * The dependency specs of a new project. From `vendor`, both packages are packed into a staging
 * directory first, so a failure leaves the project directory untouched.
 */
export async function projectDependencies(
  source: DependencySource,
  version: string,
): Promise<ProjectDependencies> {
  if (source === "registry") {
    return { source, runtime: `^${version}`, generator: `^${version}`, tarballs: [], dispose: () => {} };
  }
  const { generator, runtime } = packageRoots();
  const staging = mkdtempSync(join(tmpdir(), "paynet-init-vendor-"));
  const dispose = () => rmSync(staging, { recursive: true, force: true });
  try {
    const packed = await npmPack([runtime, generator], staging);
    const fileOf = (name: string) => {
      const file = packed.find((entry) => entry.name === name)?.filename;
      if (file === undefined) throw new ScaffoldError("VENDOR_PACK", `npm pack did not pack ${name}`);
      return file;
    };
    const runtimeFile = fileOf("@paynet/runtime");
    const generatorFile = fileOf("paynet-gen");
    return {
      source,
      runtime: `file:${VENDOR_DIR}/${runtimeFile}`,
      generator: `file:${VENDOR_DIR}/${generatorFile}`,
      tarballs: [join(staging, runtimeFile), join(staging, generatorFile)],
      dispose,
    };
  } catch (error) {
    dispose();
    throw error;
  }
}

/** Copies the staged tarballs into `<dir>/vendor/`; returns their paths relative to `dir`. */
export function writeVendored(dir: string, dependencies: ProjectDependencies): string[] {
  if (dependencies.tarballs.length === 0) return [];
  mkdirSync(join(dir, VENDOR_DIR), { recursive: true });
  return dependencies.tarballs.map((tarball) => {
    const file = `${VENDOR_DIR}/${basename(tarball)}`;
    copyFileSync(tarball, join(dir, file));
    return file;
  });
}
