/**
 * `paynet-gen init`: a ready-to-run TypeScript project — package.json with the paynet block,
 * tsconfig, a starter proto (register/login/heartbeat/error), the generated SDK, server and device
 * entries with their handlers indexes, demo certificates and a README. Files come from the
 * templates in `templates/project/`.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { renderTemplate } from "../emit/render.js";
import { writeGeneratedFiles } from "../emit/write.js";
import { generatorVersion, renderSdk } from "../generate.js";
import type { Diagnostic } from "../model/types.js";
import type { Side } from "./config.js";
import { ScaffoldError } from "./errors.js";
import { issueProjectCerts, PROJECT_DEVICE_SN, type ProjectCa, siblingCaDir } from "./init-certs.js";
import { type DependencySource, projectDependencies, writeVendored } from "./init-vendor.js";
import { ModelLoadError } from "./project-model.js";

export type InitSide = Side | "both";

export interface InitOptions {
  /** Target directory (created if missing). */
  readonly dir: string;
  /** npm package name, also the proto file and package name; default: the directory's name. */
  readonly name?: string;
  /** Which side(s) the project runs. Default `both`. */
  readonly side?: InitSide;
  /** Write into a non-empty directory (existing files with the same names are replaced). */
  readonly force?: boolean;
  /**
   * Directory of an existing CA (`ca.crt` + `ca.key`) to issue the project's certificates from; its
   * key is not copied. Default: a new CA, in `certs/` when the project runs the server, else in
   * `<dir>-ca` next to the project (a device project never holds the CA key).
   */
  readonly ca?: string;
  /**
   * Where the project gets `paynet-gen` and `@paynet/runtime`: `vendor` (default) packs the running
   * ones into `vendor/*.tgz`, referenced as `file:` dependencies; `registry` names registry versions.
   */
  readonly dependencies?: DependencySource;
}

export interface InitResult {
  readonly dir: string;
  readonly name: string;
  /** Facade prefix of the generated SDK (`Coinbox`). */
  readonly service: string;
  /** Files written, relative to `dir`, in writing order (SDK and certificates included). */
  readonly files: readonly string[];
  /** What to run next. */
  readonly startCommand: string;
  /** Where the CA the certificates come from lives. */
  readonly ca: ProjectCa;
  /** Where `npm install` takes paynet-gen and @paynet/runtime from. */
  readonly dependencies: DependencySource;
  readonly warnings: readonly Diagnostic[];
}

/** Template (under `templates/project/`, without `.hbs`) → output path, and which sides need it. */
const PROJECT_FILES: ReadonlyArray<{ template: string; path: string; sides: readonly Side[] }> = [
  { template: "package.json", path: "package.json", sides: ["server", "client"] },
  { template: "tsconfig.json", path: "tsconfig.json", sides: ["server", "client"] },
  { template: "gitignore", path: ".gitignore", sides: ["server", "client"] },
  { template: "README.md", path: "README.md", sides: ["server", "client"] },
  { template: "src/log.ts", path: "src/log.ts", sides: ["server", "client"] },
  { template: "src/server.ts", path: "src/server.ts", sides: ["server"] },
  { template: "src/handlers/server/index.ts", path: "src/handlers/server/index.ts", sides: ["server"] },
  {
    template: "src/handlers/server/register-req.ts",
    path: "src/handlers/server/register-req.ts",
    sides: ["server"],
  },
  {
    template: "src/handlers/server/login-req.ts",
    path: "src/handlers/server/login-req.ts",
    sides: ["server"],
  },
  { template: "src/handlers/server/ping.ts", path: "src/handlers/server/ping.ts", sides: ["server"] },
  {
    template: "src/handlers/server/error-msg.ts",
    path: "src/handlers/server/error-msg.ts",
    sides: ["server"],
  },
  { template: "src/device.ts", path: "src/device.ts", sides: ["client"] },
  { template: "src/handlers/client/index.ts", path: "src/handlers/client/index.ts", sides: ["client"] },
  { template: "src/handlers/client/pong.ts", path: "src/handlers/client/pong.ts", sides: ["client"] },
  {
    template: "src/handlers/client/error-msg.ts",
    path: "src/handlers/client/error-msg.ts",
    sides: ["client"],
  },
];

/** `My Box!` → `my-box`: a valid npm package name. */
export function projectName(raw: string): string {
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[._-]+|[._-]+$/g, "");
  return name === "" ? "paynet-app" : name;
}

/** `my-box` → `my_box`: a protobuf package name (letters, digits, `_`, starting with a letter). */
export function protoPackageName(name: string): string {
  const identifier = name.replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
  return /^[a-z]/.test(identifier) ? identifier : `p_${identifier}`;
}

/** The CA directory as the README shows it (relative to the project), or "" when it is `certs/`. */
function caDirForReadme(dir: string, sides: readonly Side[], ca: string | undefined): string {
  if (ca === undefined && sides.includes("server")) return "";
  const caDir = ca === undefined ? siblingCaDir(dir) : resolve(ca);
  return relative(dir, caDir) || ".";
}

function isEmptyDir(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

function write(dir: string, path: string, content: string, written: string[]): void {
  const target = join(dir, path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content);
  written.push(path);
}

export async function initProject(options: InitOptions): Promise<InitResult> {
  const dir = resolve(options.dir);
  if (!isEmptyDir(dir) && options.force !== true) {
    throw new ScaffoldError(
      "TARGET_NOT_EMPTY",
      `${dir} is not empty: choose a new directory, or pass --force to write the project files into it`,
    );
  }
  const side = options.side ?? "both";
  const sides: Side[] = side === "both" ? ["server", "client"] : [side];
  const name = projectName(options.name ?? basename(dir));
  const protoPackage = protoPackageName(name);
  const protoFile = `proto/${protoPackage}.proto`;
  const version = generatorVersion();
  // Packed before anything is written, like the certificates below: a failure leaves no half project.
  const dependencies = await projectDependencies(options.dependencies ?? "vendor", version);
  try {
    const data = {
      name,
      protoPackage,
      protoFile,
      side,
      both: side === "both",
      server: sides.includes("server"),
      client: sides.includes("client"),
      startEntry: side === "both" ? "main" : side === "server" ? "server" : "device",
      serverOnly: side === "server",
      clientOnly: side === "client",
      /** Where the CA key lives when the project does not hold it (README). */
      caDir: caDirForReadme(dir, sides, options.ca),
      runtimeSpec: dependencies.runtime,
      generatorSpec: dependencies.generator,
      vendored: dependencies.source === "vendor",
      deviceSn: PROJECT_DEVICE_SN,
      service: "",
    };
    mkdirSync(dir, { recursive: true });
    // Certificates first: a CA that cannot be used stops the run before any project file is written.
    const certs = await issueProjectCerts(dir, sides, options.ca);
    const written: string[] = [];
    write(dir, protoFile, renderTemplate("project/proto/project.proto", data), written);

    // The SDK comes from the starter proto exactly as `npm run generate` will make it.
    const { model, diagnostics, files } = await renderSdk({
      inputs: [protoFile],
      out: "src/generated",
      cwd: dir,
      target: side,
      generatorVersion: version,
    });
    if (model === undefined || files.length === 0) throw new ModelLoadError(diagnostics);
    const project = { ...data, service: model.serviceName };

    for (const file of PROJECT_FILES) {
      if (!file.sides.some((fileSide) => sides.includes(fileSide))) continue;
      write(dir, file.path, renderTemplate(`project/${file.template}`, project), written);
    }
    if (side === "both") write(dir, "src/main.ts", renderTemplate("project/src/main.ts", project), written);
    await writeGeneratedFiles(join(dir, "src", "generated"), files);
    written.push(...files.map((file) => `src/generated/${file.path}`));
    written.push(...certs.files.map((file) => `certs/${file}`));
    written.push(...writeVendored(dir, dependencies));

    return {
      dir,
      name,
      service: model.serviceName,
      files: written,
      startCommand: "npm install && npm start",
      ca: certs.ca,
      dependencies: dependencies.source,
      warnings: diagnostics.filter((d) => d.severity === "warning"),
    };
  } finally {
    dependencies.dispose();
  }
}
