/**
 * `paynet-gen scaffold handler` on a copy of a hand-written user project (test/fixtures/user-project):
 * stubs are typed and compile, the user's code keeps its bytes, runs are idempotent, and the project
 * actually starts with the new handler receiving its message over TLS.
 */
import { cpSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addedLines, type CliResult, cli, REPO, run, tempDir } from "./cli.js";

const FIXTURE = join(REPO, "test", "fixtures", "user-project");
const TSC = join(REPO, "node_modules", "typescript", "bin", "tsc");

let project = "";
let remove = () => {};

/** Every file of the project the user wrote (not the SDK, not build output), path → content. */
function userFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (["node_modules", "generated", "dist", "certs"].includes(name)) continue;
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(project, path), readFileSync(path, "utf8"));
    }
  };
  walk(project);
  return files;
}

/** The files that differ between two snapshots (changed, added or removed). */
function changed(before: Map<string, string>, after: Map<string, string>): string[] {
  const paths = new Set([...before.keys(), ...after.keys()]);
  return [...paths].filter((path) => before.get(path) !== after.get(path)).sort();
}

function typeCheck(): Promise<CliResult> {
  return run(process.execPath, [TSC, "-p", "tsconfig.json", "--noEmit"], project);
}

function scaffold(...args: string[]): Promise<CliResult> {
  return cli(["scaffold", "handler", ...args], project);
}

beforeAll(async () => {
  ({ dir: project, remove } = tempDir("user-project"));
  cpSync(FIXTURE, project, { recursive: true });
  // The project resolves @paynet/runtime, typescript and @types/node like an installed project would.
  symlinkSync(join(REPO, "node_modules"), join(project, "node_modules"), "dir");
  const generated = await cli(["generate", "proto/paybox.proto", "--out", "src/generated"], project);
  expect(generated.code, generated.stderr).toBe(0);
  const checked = await typeCheck();
  expect(checked.code, `the fixture compiles before scaffolding: ${checked.stdout}`).toBe(0);
});

afterAll(() => remove());

describe("scaffold handler", () => {
  it("adds one typed handler, registers it without touching anything else, and is a no-op the second time", async () => {
    const before = userFiles();
    const result = await scaffold("CoinAck");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("created src/handlers/server/coin-ack.ts");
    expect(result.stdout).toContain("registered CoinAck in src/handlers/server/index.ts");

    const after = userFiles();
    expect(changed(before, after)).toEqual([
      "src/handlers/server/coin-ack.ts",
      "src/handlers/server/index.ts",
    ]);
    expect(
      addedLines(before.get("src/handlers/server/index.ts")!, after.get("src/handlers/server/index.ts")!),
    ).toEqual(['import { coinAck } from "./coin-ack.js";', "  CoinAck: coinAck,"]);
    const stub = after.get("src/handlers/server/coin-ack.ts")!;
    expect(stub).toContain('import type { PayboxServerHandlers } from "../../generated/index.js";');
    expect(stub).toContain(
      'export const coinAck: NonNullable<PayboxServerHandlers["CoinAck"]> = async (_message, _ctx) => {',
    );
    expect(stub).toContain("// TODO: handle CoinAck (fields: orderId, state, progress, error).");

    const checked = await typeCheck();
    expect(checked.code, checked.stdout).toBe(0);

    const again = await scaffold("CoinAck");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("nothing to do");
    expect(userFiles()).toEqual(after);
  });

  it("stubs a message with a reply that returns a valid reply, on the side its direction says", async () => {
    const result = await scaffold("paybox.CoinCommand");
    expect(result.code, result.stderr).toBe(0);
    const stub = readFileSync(join(project, "src/handlers/client/coin-command.ts"), "utf8");
    expect(stub).toContain('NonNullable<PayboxClientHandlers["CoinCommand"]>');
    expect(stub).toContain("sent back as `CoinAck`");
    expect(stub).toContain("  return {};\n");
    expect(readFileSync(join(project, "src/handlers/client/index.ts"), "utf8")).toBe(
      [
        'import type { PayboxClientHandlers } from "../../generated/index.js";',
        'import { coinCommand } from "./coin-command.js";',
        "",
        "// Device-side handlers: none written yet.",
        "export const clientHandlers: PayboxClientHandlers = {",
        "  CoinCommand: coinCommand,",
        "};",
        "",
      ].join("\n"),
    );
    const checked = await typeCheck();
    expect(checked.code, checked.stdout).toBe(0);
  });

  it("explains unknown messages, missing Type IDs, the wrong side and a missing index, changing nothing", async () => {
    const before = userFiles();
    const typo = await scaffold("CoinAk");
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain("unknown message CoinAk. Did you mean CoinAck?");
    expect(typo.stderr).toContain("UNKNOWN_MESSAGE");

    const untyped = await scaffold("DeviceInfo");
    expect(untyped.code).toBe(1);
    expect(untyped.stderr).toContain("DeviceInfo has no Type ID");
    expect(untyped.stderr).toContain("paynet-gen types add DeviceInfo --type");

    const wrongSide = await scaffold("CoinCommand", "--side", "server");
    expect(wrongSide.code).toBe(1);
    expect(wrongSide.stderr).toContain(
      "CoinCommand travels down (cloud → device): it is handled on the client side; use --side client",
    );

    const noIndex = await scaffold("QueryReq", "--dir", "src/cloud");
    expect(noIndex.code).toBe(1);
    expect(noIndex.stderr).toContain(
      "handlers index not found for the server side (looked for src/cloud/index.ts from --dir)",
    );
    expect(noIndex.stderr).toContain(
      '--dir, or set "paynet": { "handlers": { "server": "src/handlers/server" } }',
    );

    const allWithoutSide = await scaffold("--all");
    expect(allWithoutSide.code).toBe(1);
    expect(allWithoutSide.stderr).toContain("--all needs --side server or --side client");
    expect(userFiles()).toEqual(before);
  });

  it("--all fills in every handler of a side that is missing, leaving replies and existing handlers alone", async () => {
    const before = userFiles();
    const server = await scaffold("--all", "--side", "server");
    expect(server.code, server.stderr).toBe(0);
    expect(server.stdout).toContain("registered Ping, QueryReq in src/handlers/server/index.ts");
    expect(server.stdout).toMatch(/skipped LoginReq: already has a handler/);
    expect(server.stdout).toMatch(/skipped ErrorMsg: already has a handler/);
    const client = await scaffold("--all", "--side", "client");
    expect(client.code, client.stderr).toBe(0);
    expect(client.stdout).toContain("registered ErrorMsg in src/handlers/client/index.ts");
    expect(client.stdout).toMatch(/skipped LoginRsp: answers LoginReq/);

    const after = userFiles();
    expect(changed(before, after)).toEqual([
      "src/handlers/client/error-msg.ts",
      "src/handlers/client/index.ts",
      "src/handlers/server/index.ts",
      "src/handlers/server/ping.ts",
      "src/handlers/server/query-req.ts",
    ]);
    for (const file of ["src/handlers/client/index.ts", "src/handlers/server/index.ts"]) {
      expect(addedLines(before.get(file)!, after.get(file)!), file).toBeDefined();
    }
    const checked = await typeCheck();
    expect(checked.code, checked.stdout).toBe(0);
    const again = await scaffold("--all", "--side", "server");
    expect(again.stdout).toContain("nothing to do");
    expect(userFiles()).toEqual(after);
  });

  it("scaffolds a message annotated with types add once the SDK is regenerated", async () => {
    const added = await cli(["types", "add", "DeviceInfo", "--type", "0x06", "--direction", "up"], project);
    expect(added.code, added.stderr).toBe(0);
    expect(readFileSync(join(project, "proto/paybox.proto"), "utf8")).toContain(
      "message DeviceInfo {\n  option (paynet.type) = 0x06;\n  option (paynet.direction) = UPLINK;\n  string device_sn = 1;",
    );
    const stale = await scaffold("DeviceInfo");
    expect(stale.code, stale.stderr).toBe(0);
    expect(stale.stderr).toContain("the SDK looks stale");
    const generated = await cli(["generate", "proto/paybox.proto", "--out", "src/generated"], project);
    expect(generated.code, generated.stderr).toBe(0);
    const checked = await typeCheck();
    expect(checked.code, checked.stdout).toBe(0);
  });

  it("the project starts and the scaffolded handler receives its message over TLS", async () => {
    // The user fills in the TODO of the stub.
    const stubPath = join(project, "src/handlers/server/coin-ack.ts");
    const stub = readFileSync(stubPath, "utf8");
    const filled = stub
      .replace("async (_message, _ctx) => {", "async (message, _ctx) => {")
      .replace(/ {2}\/\/ TODO: handle CoinAck.*\n/, '  events.emit("CoinAck", message);\n')
      .replace(/^/, 'import { events } from "../../events.js";\n');
    expect(filled).not.toBe(stub);
    writeFileSync(stubPath, filled);

    // The device of app.ts registers as SN1: under mTLS its certificate must name that serial.
    const certs = await cli(["certs", "init", "--out", "certs", "--device-sn", "SN1"], project);
    expect(certs.code, certs.stderr).toBe(0);
    expect(existsSync(join(project, "certs", "device.key"))).toBe(true);
    const built = await run(process.execPath, [TSC, "-p", "tsconfig.json"], project);
    expect(built.code, built.stdout).toBe(0);
    const started = await run(process.execPath, ["dist/app.js"], project, 60_000);
    expect(started.code, `${started.stdout}\n${started.stderr}`).toBe(0);
    const lines = started.stdout.split("\n");
    expect(lines[0]).toMatch(/^server listening on \d+$/);
    expect(lines).toContain("device online");
    expect(lines).toContain("server handler received CoinAck order-7 progress=100");
  });

  it("fails, naming the file and the export it expected, when a handler file is in the way", async () => {
    const inTheWay = join(project, "src/handlers/client/query-rsp.ts");
    writeFileSync(inTheWay, "// mine\nexport const onQueryReply = async () => {};\n");
    const before = userFiles();
    const result = await scaffold("QueryRsp");
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain("nothing to do");
    expect(result.stderr).toContain(
      "QueryRsp not registered: src/handlers/client/query-rsp.ts exists (left as it is) but does not export `queryRsp`",
    );
    expect(result.stderr).toContain("HANDLER_NOT_REGISTERED");
    expect(userFiles()).toEqual(before);

    // `export { x as queryRsp }` counts: then it is registered as it is.
    writeFileSync(
      inTheWay,
      "// mine\nconst onQueryReply = async () => {};\nexport { onQueryReply as queryRsp };\n",
    );
    const registered = await scaffold("QueryRsp");
    expect(registered.code, registered.stderr).toBe(0);
    expect(registered.stdout).toContain("registered QueryRsp in src/handlers/client/index.ts");
    expect(registered.stdout).not.toContain("created");
  });

  it("scaffolds a reply by name, saying it only receives unsolicited ones", async () => {
    const result = await scaffold("LoginRsp");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("created src/handlers/client/login-rsp.ts");
    expect(result.stderr).toContain(
      "note: LoginRsp answers LoginReq: replies normally reach the request waiting for them, so this handler only receives unsolicited LoginRsps",
    );
    const checked = await typeCheck();
    expect(checked.code, checked.stdout).toBe(0);
  });
});
