/**
 * `paynet-gen init`: the project it writes builds with tsc and `npm start` brings up a server and a
 * device that register, log in and exchange heartbeats over mutual TLS.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, REPO, run, tempDir } from "./cli.js";

let root = "";
let remove = () => {};

beforeAll(() => {
  ({ dir: root, remove } = tempDir("init"));
});
afterAll(() => remove());

/**
 * What `npm install` would give the project, as links into this repository: the runtime (workspace
 * package), paynet-gen itself (with its bin), TypeScript and the Node types.
 */
function linkDependencies(project: string): void {
  const modules = join(project, "node_modules");
  mkdirSync(join(modules, "@paynet"), { recursive: true });
  mkdirSync(join(modules, "@types"), { recursive: true });
  mkdirSync(join(modules, ".bin"), { recursive: true });
  symlinkSync(join(REPO, "runtime"), join(modules, "@paynet", "runtime"), "dir");
  symlinkSync(REPO, join(modules, "paynet-gen"), "dir");
  symlinkSync(join(REPO, "node_modules", "typescript"), join(modules, "typescript"), "dir");
  symlinkSync(join(REPO, "node_modules", "@types", "node"), join(modules, "@types", "node"), "dir");
  symlinkSync("../paynet-gen/bin/run.js", join(modules, ".bin", "paynet-gen"));
  symlinkSync("../typescript/bin/tsc", join(modules, ".bin", "tsc"));
}

describe("init", () => {
  it("writes a project whose npm start runs a server and a device exchanging heartbeats over TLS", async () => {
    const project = join(root, "coin-box");
    const result = await cli(["init", project, "--name", "Coin Box"], root);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("created coin-box");
    expect(result.stdout).toContain("SDK prefix CoinBox");

    for (const file of [
      "package.json",
      "tsconfig.json",
      "README.md",
      ".gitignore",
      "proto/coin_box.proto",
      "src/generated/index.ts",
      "src/generated/handlers.ts",
      "src/server.ts",
      "src/device.ts",
      "src/main.ts",
      "src/handlers/server/index.ts",
      "src/handlers/client/index.ts",
      "certs/ca.crt",
      "certs/server.key",
      "certs/device.crt",
    ]) {
      expect(existsSync(join(project, file)), file).toBe(true);
    }
    const pkg = JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
      paynet: unknown;
    };
    expect(Object.keys(pkg.scripts)).toEqual(expect.arrayContaining(["generate", "build", "start"]));
    expect(pkg.dependencies["@paynet/runtime"]).toBeDefined();
    expect(pkg.devDependencies["paynet-gen"]).toBeDefined();
    expect(pkg.paynet).toEqual({
      proto: ["proto/coin_box.proto"],
      sdk: "src/generated",
      handlers: { server: "src/handlers/server", client: "src/handlers/client" },
    });

    const list = await cli(["types", "list"], project);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/0x01\s+up\s+device → cloud\s+RegisterReq\s+RegisterRsp\s+register/);
    expect(list.stdout).toMatch(/0x03\s+up\s+device → cloud\s+Ping\s+Pong\s+heartbeat/);
    expect(list.stdout).toMatch(/0xFF\s+both device ↔ cloud\s+ErrorMsg\s+-\s+error/);

    linkDependencies(project);
    const started = await run(
      "npm",
      ["start", "--", "--heartbeats", "3", "--interval", "50"],
      project,
      180_000,
    );
    expect(started.code, `${started.stdout}\n${started.stderr}`).toBe(0);
    const log = started.stdout;
    const steps = [
      /\[server\] listening on 127\.0\.0\.1:\d+/,
      /\[device\] TLS up/,
      /\[server\] RegisterReq from SN-0001 \(starter 0\.1\.0\) → dev-SN-0001/,
      /\[device\] registered as dev-SN-0001/,
      /\[server\] LoginReq from dev-SN-0001 accepted/,
      /\[device\] logged in, online/,
      /\[server\] Ping from dev-SN-0001 \(uptime \d+ s\) → Pong/,
      /\[device\] Pong, round trip \d+ ms/,
      /\[device\] 3 heartbeats answered, stopping/,
      /\[server\] stopped/,
    ];
    let from = 0;
    for (const step of steps) {
      const match = step.exec(log.slice(from));
      expect(match, `${step} after offset ${from} in:\n${log}`).not.toBeNull();
      from += match!.index + match![0].length;
    }
    expect(log.match(/\[device\] Pong, round trip/g)).toHaveLength(3);
    // The project's own sources passed strict tsc (npm start builds first) and produced dist/.
    expect(existsSync(join(project, "dist", "main.js"))).toBe(true);

    // The scaffolding commands find their way around the new project.
    const scaffolded = await cli(["scaffold", "handler", "Ping"], project);
    expect(scaffolded.code, scaffolded.stderr).toBe(0);
    expect(scaffolded.stdout).toContain("nothing to do");
  });

  it("refuses a non-empty directory unless --force", async () => {
    const project = join(root, "occupied");
    mkdirSync(project);
    writeFileSync(join(project, "notes.txt"), "mine\n");
    const refused = await cli(["init", project], root);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("is not empty");
    expect(refused.stderr).toContain("TARGET_NOT_EMPTY");
    expect(readdirSync(project)).toEqual(["notes.txt"]);

    const forced = await cli(["init", project, "--force", "--side", "server"], root);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(join(project, "notes.txt"), "utf8")).toBe("mine\n");
    expect(existsSync(join(project, "src", "device.ts"))).toBe(false);
    expect(existsSync(join(project, "src", "main.ts"))).toBe(false);
    const pkg = JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
      paynet: { handlers: Record<string, string> };
    };
    expect(pkg.paynet.handlers).toEqual({ server: "src/handlers/server" });
    expect(pkg.scripts.start).toBe("node dist/server.js");
    expect(pkg.scripts.generate).toContain("--target server");

    linkDependencies(project);
    const built = await run(
      process.execPath,
      [join(project, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"],
      project,
    );
    expect(built.code, built.stdout).toBe(0);
  });

  it("writes a device-only project that builds", async () => {
    const project = join(root, "device-sim");
    const result = await cli(["init", project, "--side", "client"], root);
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(join(project, "src", "server.ts"))).toBe(false);
    expect(existsSync(join(project, "src", "device.ts"))).toBe(true);
    linkDependencies(project);
    const built = await run(
      process.execPath,
      [join(project, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"],
      project,
    );
    expect(built.code, built.stdout).toBe(0);
  });
});
