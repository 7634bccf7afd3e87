/**
 * `paynet-gen init`: the project it writes installs with a real `npm install` (paynet-gen and the
 * runtime vendored as tarballs, even after the project moved), builds with tsc, and `npm start`
 * brings up a server and a device that register, log in and exchange heartbeats over mutual TLS.
 * Its README's commands work as written. Projects are made in the OS temp directory, outside the
 * repository.
 */
import { X509Certificate } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scaled } from "../helpers/time.js";
import { cli, REPO, run, ShellSession, tempDir, userEnv } from "./cli.js";

let root = "";
let remove = () => {};

beforeAll(() => {
  ({ dir: root, remove } = tempDir("init"));
});
afterAll(() => remove());

/**
 * For the projects whose installation is not what a test is about (the first test installs for
 * real): what `npm install` would give them, as links into this repository — the runtime (workspace
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

/**
 * Follows the project README as a user would: each `proto` block is appended to the proto file, each
 * `npx paynet-gen` line runs, `npm run X` names a real script (`npm run generate` runs), and `npm
 * start`/`npm install` lines are left to the caller. Then the project must still compile. Returns
 * the commands run, for the caller's checks.
 */
async function followReadme(project: string, protoFile: string): Promise<string[]> {
  const readme = readFileSync(join(project, "README.md"), "utf8");
  const scripts = (
    JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as { scripts: Record<string, string> }
  ).scripts;
  const ran: string[] = [];
  for (const [, lang, body] of readme.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) {
    if (lang === "proto") {
      writeFileSync(join(project, protoFile), `${readFileSync(join(project, protoFile), "utf8")}\n${body}`);
      continue;
    }
    expect(lang, "README code blocks are sh or proto").toBe("sh");
    for (const raw of body!.split("\n")) {
      const line = raw.replace(/\s+#.*$/, "").trim();
      if (line === "") continue;
      const words = line.split(/\s+/);
      if (words[0] === "npx" && words[1] === "paynet-gen") {
        const result = await cli(words.slice(2), project);
        expect(result.code, `${line}: ${result.stderr}`).toBe(0);
      } else if (line === "npm install") {
        continue;
      } else if (words[0] === "npm" && (words[1] === "start" || words[1] === "run")) {
        const script = words[1] === "start" ? "start" : words[2]!;
        expect(Object.keys(scripts), line).toContain(script);
        if (script === "generate") {
          const result = await run("npm", ["run", "generate"], project);
          expect(result.code, `${line}: ${result.stderr}`).toBe(0);
        } else continue;
      } else {
        throw new Error(`README command the test does not know how to check: ${line}`);
      }
      ran.push(line);
    }
  }
  // Commands quoted in the text (issuing a device certificate) work too.
  for (const [, command] of readme.matchAll(/`npx paynet-gen ([^`]+)`/g)) {
    const result = await cli(command!.split(/\s+/), project);
    expect(result.code, `${command}: ${result.stderr}`).toBe(0);
    ran.push(`npx paynet-gen ${command}`);
  }
  const built = await run(
    process.execPath,
    [join(project, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"],
    project,
  );
  expect(built.code, `the project builds after the README tour: ${built.stdout}`).toBe(0);
  return ran;
}

/** Whether `cert` (PEM) was signed by the CA certificate `ca` (PEM). */
function signedBy(cert: string, ca: string): boolean {
  return new X509Certificate(cert).verify(new X509Certificate(ca).publicKey);
}

describe("init", () => {
  it(
    "writes a project that installs and runs as its printed next steps say, wherever it is moved",
    async () => {
      // Run from a directory outside the repository, as a user would.
      const result = await cli(["init", "coin-box", "--name", "Coin Box"], root);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain("created coin-box in coin-box (");
      expect(result.stdout).toContain("SDK prefix CoinBox");
      expect(result.stdout).toContain("packed paynet-gen and @paynet/runtime 0.1.0 into vendor/");
      const next = result.stdout
        .slice(result.stdout.indexOf("\nnext:\n") + "\nnext:\n".length)
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "");
      expect(next).toEqual(["cd coin-box", "npm install && npm start"]);

      // Moved after init: the vendored packages are named relative to the project.
      const elsewhere = join(root, "moved");
      mkdirSync(elsewhere);
      renameSync(join(root, "coin-box"), join(elsewhere, "coin-box"));
      const project = join(elsewhere, "coin-box");

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
        "vendor/paynet-gen-0.1.0.tgz",
        "vendor/paynet-runtime-0.1.0.tgz",
      ]) {
        expect(existsSync(join(project, file)), file).toBe(true);
      }
      const pkg = JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as {
        scripts: Record<string, string>;
        dependencies: Record<string, string>;
        devDependencies: Record<string, string>;
        overrides: Record<string, string>;
        paynet: unknown;
      };
      expect(Object.keys(pkg.scripts)).toEqual(expect.arrayContaining(["generate", "build", "start"]));
      expect(pkg.scripts.generate).toBe("paynet-gen generate");
      expect(pkg.dependencies["@paynet/runtime"]).toBe("file:vendor/paynet-runtime-0.1.0.tgz");
      expect(pkg.devDependencies["paynet-gen"]).toBe("file:vendor/paynet-gen-0.1.0.tgz");
      // paynet-gen's own dependency on the runtime resolves to the vendored one too.
      expect(pkg.overrides).toEqual({ "@paynet/runtime": "$@paynet/runtime" });
      expect(pkg.paynet).toEqual({
        proto: ["proto/coin_box.proto"],
        sdk: "src/generated",
        handlers: { server: "src/handlers/server", client: "src/handlers/client" },
      });

      // Exactly the printed commands, in a user's shell: a real npm install (the vendored tarballs,
      // their dependencies from the registry or npm's cache), then npm start until Ctrl-C.
      const env = userEnv({
        npm_config_prefer_offline: "true",
        npm_config_audit: "false",
        npm_config_fund: "false",
        npm_config_update_notifier: "false",
      });
      const session = new ShellSession(next, elsewhere, env);
      try {
        await session.waitFor(
          "two heartbeats answered",
          (output) => (output.match(/\[device\] Pong, round trip/g) ?? []).length >= 2,
          600_000,
        );
        session.interrupt();
        await session.waitFor(
          "the server stopping on Ctrl-C",
          (output) => /\[server\] stopped/.test(output),
          60_000,
        );
        await session.exited;
      } finally {
        session.kill();
      }
      const log = session.output;
      const steps = [
        /added \d+ packages/,
        /\[server\] listening on 127\.0\.0\.1:\d+/,
        /\[device\] TLS up/,
        /\[server\] RegisterReq from SN-0001 \(starter 0\.1\.0\) → dev-SN-0001/,
        /\[device\] registered as dev-SN-0001/,
        // The LoginRsp goes out before the session is online.
        /\[server\] LoginReq from dev-SN-0001 accepted/,
        /\[server\] dev-SN-0001 is online/,
        /\[server\] Ping from dev-SN-0001 \(uptime \d+ s\) → Pong/,
        /\[device\] Pong, round trip \d+ ms/,
        /\[server\] stopped/,
      ];
      let from = 0;
      for (const step of steps) {
        const match = step.exec(log.slice(from));
        expect(match, `${step} after offset ${from} in:\n${log}`).not.toBeNull();
        from += match!.index + match![0].length;
      }
      expect(log).toMatch(/\[device\] logged in, online/);
      expect(log).not.toMatch(/update available/i);
      // Installed from the tarballs, not linked; the project's sources passed strict tsc (npm start
      // builds first) and produced dist/.
      expect(lstatSync(join(project, "node_modules", "paynet-gen")).isSymbolicLink()).toBe(false);
      expect(readFileSync(join(project, "package-lock.json"), "utf8")).toContain(
        '"resolved": "file:vendor/paynet-runtime-0.1.0.tgz"',
      );
      expect(existsSync(join(project, "dist", "main.js"))).toBe(true);
      // The device kept its record of executed commands on disk, one directory per serial (lock released).
      expect(readdirSync(join(project, "data", "SN-0001"))).toEqual(["commands.journal"]);
      expect(readFileSync(join(project, ".gitignore"), "utf8")).toContain("\ndata/\n");

      // The README's bounded run stops by itself after N heartbeats; --data moves the device's record.
      const bounded = await run(
        "npm",
        ["start", "--", "--heartbeats", "2", "--interval", "50", "--data", join(project, "box-data")],
        project,
        { timeoutMs: 180_000, env },
      );
      expect(bounded.code, `${bounded.stdout}\n${bounded.stderr}`).toBe(0);
      expect(bounded.stdout).toMatch(/\[device\] 2 heartbeats answered, stopping[\s\S]*\[server\] stopped/);
      expect(readdirSync(join(project, "box-data"))).toEqual(["commands.journal"]);

      const list = await cli(["types", "list"], project);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toMatch(/0x01\s+up\s+device → cloud\s+RegisterReq\s+RegisterRsp\s+register/);
      expect(list.stdout).toMatch(/0x03\s+up\s+device → cloud\s+Ping\s+Pong\s+heartbeat/);
      expect(list.stdout).toMatch(/0xFF\s+both device ↔ cloud\s+ErrorMsg\s+-\s+error/);

      // The scaffolding commands find their way around the new project.
      const scaffolded = await cli(["scaffold", "handler", "Ping"], project);
      expect(scaffolded.code, scaffolded.stderr).toBe(0);
      expect(scaffolded.stdout).toContain("nothing to do");

      // Every command of the README works as written.
      const ran = await followReadme(project, "proto/coin_box.proto");
      expect(ran).toContain("npx paynet-gen scaffold handler RefundReq");
      expect(readFileSync(join(project, "src/handlers/server/index.ts"), "utf8")).toContain(
        "RefundReq: refundReq,",
      );
      expect(ran).toContain("npx paynet-gen certs device SN-0002 --out certs");
      expect(ran).toContain("npx paynet-gen certs revoke SN-0002 --out certs");
      expect(existsSync(join(project, "certs", "ca.crl"))).toBe(true);
    },
    scaled(900_000),
  );

  it("refuses a non-empty directory unless --force", async () => {
    const project = join(root, "occupied");
    mkdirSync(project);
    writeFileSync(join(project, "notes.txt"), "mine\n");
    const refused = await cli(["init", project], root);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("is not empty");
    expect(refused.stderr).toContain("TARGET_NOT_EMPTY");
    expect(readdirSync(project)).toEqual(["notes.txt"]);

    const forced = await cli(["init", project, "--force", "--side", "server", "--from-registry"], root);
    expect(forced.code, forced.stderr).toBe(0);
    // An absolute directory is echoed as given, not as ../../tmp/...
    expect(forced.stdout).toContain(`created occupied in ${project} (`);
    expect(forced.stdout).toContain(`  cd ${project}\n`);
    expect(forced.stdout).toContain("paynet-gen and @paynet/runtime come from the npm registry (^0.1.0)");
    expect(existsSync(join(project, "vendor")), "--from-registry vendors nothing").toBe(false);
    expect(readFileSync(join(project, "notes.txt"), "utf8")).toBe("mine\n");
    expect(existsSync(join(project, "src", "device.ts"))).toBe(false);
    expect(existsSync(join(project, "src", "main.ts"))).toBe(false);
    const pkg = JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
      overrides?: unknown;
      paynet: { handlers: Record<string, string>; target: string };
    };
    expect(pkg.dependencies["@paynet/runtime"]).toBe("^0.1.0");
    expect(pkg.devDependencies["paynet-gen"]).toBe("^0.1.0");
    expect(pkg.overrides).toBeUndefined();
    expect(pkg.paynet.handlers).toEqual({ server: "src/handlers/server" });
    expect(pkg.scripts.start).toBe("node dist/server.js");
    // `npm run generate` takes everything, the side too, from the "paynet" section.
    expect(pkg.scripts.generate).toBe("paynet-gen generate");
    expect(pkg.paynet.target).toBe("server");
    // The operator's side: the CA with its key, the server's pair, no device key.
    expect(readdirSync(join(project, "certs")).sort()).toEqual([
      "ca.crt",
      "ca.key",
      "server.crt",
      "server.key",
    ]);
    const readme = readFileSync(join(project, "README.md"), "utf8");
    expect(readme).toContain("npm start          # the cloud server on 127.0.0.1:7000");
    expect(readme).not.toContain("server + one device");
    expect(readme).not.toContain("src/device.ts");

    linkDependencies(project);
    const ran = await followReadme(project, `proto/${readdirSync(join(project, "proto"))[0]}`);
    expect(ran).toContain("npx paynet-gen scaffold handler RefundReq");
  });

  it("writes a device-only project that builds and never holds the CA key", async () => {
    const project = join(root, "device-sim");
    const result = await cli(["init", "device-sim", "--side", "client", "--from-registry"], root);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("created device-sim in device-sim (");
    expect(result.stdout).toContain("created the CA in device-sim-ca (ca.crt, ca.key)");
    expect(existsSync(join(project, "src", "server.ts"))).toBe(false);
    expect(existsSync(join(project, "src", "device.ts"))).toBe(true);
    // The device gets what it runs with; the CA key is next to the project, not in it.
    expect(readdirSync(join(project, "certs")).sort()).toEqual(["ca.crt", "device.crt", "device.key"]);
    const caDir = join(root, "device-sim-ca");
    expect(readdirSync(caDir).sort()).toEqual(["ca.crt", "ca.key"]);
    const ca = readFileSync(join(caDir, "ca.crt"), "utf8");
    expect(readFileSync(join(project, "certs", "ca.crt"), "utf8")).toBe(ca);
    expect(signedBy(readFileSync(join(project, "certs", "device.crt"), "utf8"), ca)).toBe(true);
    const pkg = JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.certs, "no script that would make a CA inside the device project").toBeUndefined();
    const readme = readFileSync(join(project, "README.md"), "utf8");
    expect(readme).toContain("npm start          # the device, connecting to 127.0.0.1:7000");
    expect(readme).toContain("in `../device-sim-ca`");
    expect(readme).not.toContain("RefundReq");
    expect(readme).not.toContain("src/server.ts");

    linkDependencies(project);
    const ran = await followReadme(project, "proto/device_sim.proto");
    expect(ran).toContain("npx paynet-gen scaffold handler DisplayCmd");
    expect(ran).toContain("npx paynet-gen certs device SN-0002 --out ../device-sim-ca");
    expect(readFileSync(join(project, "src/handlers/client/index.ts"), "utf8")).toContain(
      "DisplayCmd: displayCmd,",
    );
    expect(readdirSync(join(project, "certs")).sort()).toEqual(["ca.crt", "device.crt", "device.key"]);
  });

  it("issues a device project from the operator's CA with --ca, copying only ca.crt", async () => {
    const operator = join(root, "operator");
    const certs = await cli(["certs", "init", "--out", operator], root);
    expect(certs.code, certs.stderr).toBe(0);
    const project = join(root, "device-two");
    const result = await cli(
      ["init", project, "--side", "client", "--ca", operator, "--from-registry"],
      root,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      `issued the certificates from the CA in ${operator} (its key was not copied)`,
    );
    expect(readdirSync(join(project, "certs")).sort()).toEqual(["ca.crt", "device.crt", "device.key"]);
    const ca = readFileSync(join(operator, "ca.crt"), "utf8");
    expect(readFileSync(join(project, "certs", "ca.crt"), "utf8")).toBe(ca);
    expect(signedBy(readFileSync(join(project, "certs", "device.crt"), "utf8"), ca)).toBe(true);
    expect(existsSync(join(root, "device-two-ca"))).toBe(false);

    const missing = await cli(
      ["init", join(root, "device-three"), "--side", "client", "--ca", root, "--from-registry"],
      root,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`--ca ${root}: ${join(root, "ca.crt")} not found`);
    expect(existsSync(join(root, "device-three", "package.json"))).toBe(false);
  });
});
