/**
 * One config file for paynetd and paynetcli: the original guide's keys, a strict schema whose errors
 * name file:line:col and the expected value, precedence defaults < file < environment < flags, and
 * secrets read from files. Checked on the resolved options and on real paynetd processes.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePaynetcliArgs } from "../../examples/paynetcli/options.js";
import { parsePaynetdArgs } from "../../examples/paynetd/options.js";
import { Harness, LINE_TIMEOUT_MS, paynetdArgs } from "./support/harness.js";

const harness = new Harness();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "paynet-config-"));
});

afterAll(async () => {
  await harness.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function configFile(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const GUIDE_CONFIG = `# paynetd.yaml with the original deployment guide's keys
server:
  addr: ":7443"
  max_frame: 65535
  heartbeat_expect: 70s
  tls:
    cert: tls/server.crt
    key: tls/server.key
    client_ca: tls/ca.crt
    mutual_auth: true
    min_version: "1.3"
metrics:
  addr: :9090
log:
  level: warn
  format: json
drain:
  grace: 2s
  evict_per_second: 50
`;

describe("paynetd config file", () => {
  it("reads the original guide's keys, paths relative to the file", async () => {
    const path = await configFile("guide.yaml", GUIDE_CONFIG);
    const options = parsePaynetdArgs(["--config", path]);
    expect(options).toMatchObject({
      listen: { host: "0.0.0.0", port: 7443 },
      maxFrame: 65535,
      readTimeoutMs: 70_000,
      mtls: true,
      tlsMinVersion: "TLSv1.3",
      tlsFiles: {
        cert: join(dir, "tls/server.crt"),
        key: join(dir, "tls/server.key"),
        ca: join(dir, "tls/ca.crt"),
      },
      metrics: { host: "127.0.0.1", port: 9090 },
      logLevel: "warn",
      logFormat: "json",
      drain: { graceMs: 2_000, evictPerSecond: 50, handlerGraceMs: 5_000 },
    });
  });

  it("takes defaults < file < environment < flags", async () => {
    const path = await configFile(
      "layers.yaml",
      "server:\n  addr: 127.0.0.1:1000\n  command_coins: 5\nlog:\n  level: warn\n",
    );
    const fromFile = parsePaynetdArgs(["--config", path, "--certs", dir]);
    expect(fromFile).toMatchObject({
      listen: { port: 1000 },
      commandCoins: 5,
      logLevel: "warn",
      readTimeoutMs: 70_000,
    });
    const fromEnv = parsePaynetdArgs(["--config", path, "--certs", dir], {
      PAYNETD_LISTEN: "127.0.0.1:2000",
      PAYNETD_LOG_LEVEL: "debug",
    });
    expect(fromEnv).toMatchObject({ listen: { port: 2000 }, commandCoins: 5, logLevel: "debug" });
    const fromFlags = parsePaynetdArgs(["--config", path, "--certs", dir, "--listen", "127.0.0.1:3000"], {
      PAYNETD_LISTEN: "127.0.0.1:2000",
    });
    expect(fromFlags).toMatchObject({ listen: { port: 3000 }, commandCoins: 5 });
    if (fromFlags === "help") throw new Error("unexpected help");
    expect(fromFlags.settings.origin("listen")).toEqual({ layer: "flag", where: "--listen" });
    expect(fromFlags.settings.origin("command-coins")).toEqual({ layer: "file", where: `${path}:3:18` });
    // The config file itself can come from the environment.
    expect(parsePaynetdArgs(["--certs", dir], { PAYNETD_CONFIG: path })).toMatchObject({
      listen: { port: 1000 },
    });
  });

  it.each([
    [
      "an unknown key",
      "server:\n  addr: 127.0.0.1:1\n  adress: x\n",
      ':3:3: unknown key "server.adress" in server; expected one of addr, max_frame, heartbeat_expect, tls, login_token',
    ],
    [
      "an unknown section",
      "servr:\n  addr: 1\n",
      ':1:1: unknown key "servr" in the top level; expected one of server, admin, cluster, metrics, log, drain',
    ],
    [
      "a bad address",
      "server:\n  addr: nowhere\n",
      ':2:9: server.addr: expected HOST:PORT or :PORT, got "nowhere"',
    ],
    [
      "a bad duration",
      "server:\n  addr: :1\n  heartbeat_expect: soon\n",
      ':3:21: server.heartbeat_expect: expected a duration like 70s, 1m30s or 500ms (0: never), got "soon"',
    ],
    [
      "a string for a boolean",
      "server:\n  tls:\n    mutual_auth: yes please\n",
      ':3:18: server.tls.mutual_auth: expected true or false, got "yes please"',
    ],
    [
      "a mapping for a value",
      "log:\n  level:\n    debug: true\n",
      ":3:5: log.level: expected one of debug, info, warn, error, got a mapping",
    ],
    [
      "a value for a section",
      "server: 7443\n",
      ":1:9: server: expected a mapping of addr, max_frame, heartbeat_expect, tls,",
    ],
    [
      "a bad log level",
      "log:\n  level: loud\n",
      ':2:10: log.level: expected one of debug, info, warn, error, got "loud"',
    ],
    ["a YAML syntax error", "server:\n  addr: [1, 2\n", ":3:1: "],
    ["a duplicate key", "log:\n  level: info\n  level: warn\n", ":3:3: Map keys must be unique"],
  ])("refuses %s naming file, line, column and what was expected", async (_what, text, message) => {
    const path = await configFile("bad.yaml", text);
    expect(() => parsePaynetdArgs(["--config", path, "--certs", dir, "--listen", "127.0.0.1:0"])).toThrow(
      `${path}${message}`,
    );
  });

  it("refuses a bad environment variable or flag, naming it", () => {
    const args = ["--certs", dir, "--listen", "127.0.0.1:0"];
    expect(() => parsePaynetdArgs(args, { PAYNETD_DRAIN_RATE: "fast" })).toThrow(
      'PAYNETD_DRAIN_RATE: expected a number > 0, got "fast"',
    );
    expect(() => parsePaynetdArgs([...args, "--read-timeout", "1y"])).toThrow(
      /^--read-timeout: expected a duration/,
    );
    expect(() => parsePaynetdArgs(["--certs", dir])).toThrow(
      "--listen, PAYNETD_LISTEN, server.addr in --config: required",
    );
  });

  it("reads the login token from a file, the higher layer winning over an inline token", async () => {
    const secret = await configFile("token.txt", "s3cret-from-file\n");
    const path = await configFile(
      "secrets.yaml",
      `server:\n  addr: :1\n  tls:\n    dir: .\n  login_token: inline\n  login_token_file: token.txt\n`,
    );
    expect(parsePaynetdArgs(["--config", path])).toMatchObject({ token: "s3cret-from-file" });
    expect(parsePaynetdArgs(["--config", path, "--token", "from-flag"])).toMatchObject({
      token: "from-flag",
    });
    expect(parsePaynetdArgs(["--config", path], { PAYNETD_TOKEN_FILE: secret })).toMatchObject({
      token: "s3cret-from-file",
    });
    const missing = await configFile("missing.yaml", "server:\n  addr: :1\n  login_token_file: nope.txt\n");
    expect(() => parsePaynetdArgs(["--config", missing, "--certs", dir])).toThrow(
      `${missing}:3:21: cannot read the secret file ${join(dir, "nope.txt")} (ENOENT)`,
    );
  });
});

describe("paynetcli config file", () => {
  it("reads the original guide's client keys", async () => {
    const path = await configFile(
      "device.yaml",
      `client:
  addr: "paynet.example.com:443"
  tls:
    ca: /opt/paynet/ca.crt
    cert: /opt/paynet/device.crt
    key: /opt/paynet/device.key
  reconnect:
    base: 1s
    max: 64s
  heartbeat_send: 60s
device:
  sn: SN-0042
  login_token_file: token.txt
`,
    );
    await configFile("token.txt", "device-secret");
    expect(parsePaynetcliArgs(["--config", path])).toMatchObject({
      connect: [{ host: "paynet.example.com", port: 443 }],
      caPath: "/opt/paynet/ca.crt",
      certPath: "/opt/paynet/device.crt",
      keyPath: "/opt/paynet/device.key",
      backoffInitialMs: 1_000,
      backoffMaxMs: 64_000,
      heartbeatMs: 60_000,
      sn: "SN-0042",
      token: "device-secret",
    });
    expect(parsePaynetcliArgs(["--config", path], { PAYNETCLI_HEARTBEAT: "5s" })).toMatchObject({
      heartbeatMs: 5_000,
    });
  });

  it("takes several addresses (a cluster's nodes): a YAML list, or comma-separated in a flag", async () => {
    const path = await configFile(
      "device-nodes.yaml",
      'client:\n  addr:\n    - node-a.example.com:443\n    - "[2001:db8::7]:7443"\ndevice:\n  sn: SN-1\n',
    );
    expect(parsePaynetcliArgs(["--config", path, "--certs", "c"])).toMatchObject({
      connect: [
        { host: "node-a.example.com", port: 443 },
        { host: "2001:db8::7", port: 7443 },
      ],
    });
    expect(parsePaynetcliArgs(["--connect", "a:1, b:2", "--sn", "x", "--certs", "c"])).toMatchObject({
      connect: [
        { host: "a", port: 1 },
        { host: "b", port: 2 },
      ],
    });
    expect(() => parsePaynetcliArgs(["--connect", "a:1,a:1", "--sn", "x", "--certs", "c"])).toThrow(
      /a:1 is listed twice/,
    );
    const bad = await configFile("device-nodes-bad.yaml", "client:\n  addr:\n    - a:1\n    - nope\n");
    expect(() => parsePaynetcliArgs(["--config", bad, "--sn", "x", "--certs", "c"])).toThrow(
      `${bad}:3:5: client.addr: expected HOST:PORT, or several (comma-separated, or a YAML list), got "nope"`,
    );
  });

  it("keeps the record of executed commands per serial in the working directory unless --data says where", () => {
    const base = ["--connect", "127.0.0.1:9443", "--certs", dir];
    const dataDirOf = (args: string[]) => {
      const options = parsePaynetcliArgs(args);
      if (options === "help") throw new Error("parsed as --help");
      return options.dataDir;
    };
    // The same --sn started again in the same directory opens the same journal, so it remembers.
    expect(dataDirOf([...base, "--sn", "SN-0042"])).toBe(join("paynetcli-data", "SN-0042"));
    // One directory per serial, whatever characters the serial holds.
    expect(dataDirOf([...base, "--sn", "../SN/7"])).toBe(join("paynetcli-data", ".._SN_7"));
    expect(dataDirOf([...base, "--sn", "SN-0042", "--data", "/var/lib/box"])).toBe("/var/lib/box");
  });

  it("refuses an unknown key with its position", async () => {
    const path = await configFile("device-bad.yaml", "client:\n  addr: h:1\n  reconect:\n    base: 1s\n");
    expect(() => parsePaynetcliArgs(["--config", path, "--sn", "x"])).toThrow(
      `${path}:3:3: unknown key "client.reconect" in client; expected one of addr, tls, reconnect, heartbeat_send`,
    );
  });
});

describe("paynetd --config (process)", () => {
  it("exits with status 2 and the file:line:col of a bad key", async () => {
    const path = await configFile(
      "process-bad.yaml",
      "server:\n  addr: 127.0.0.1:0\n  tls:\n    dri: certs\n",
    );
    const child = harness.paynetdUnready(["--config", path]);
    const { line } = await child.waitForLine(/unknown key/, LINE_TIMEOUT_MS);
    expect(line).toContain(
      `${path}:4:5: unknown key "server.tls.dri" in server.tls; expected one of dir, cert, key`,
    );
    expect(await child.exited).toEqual({ code: 2, signal: null });
  });
});

/** A port on 127.0.0.1 nothing listens on (bound, then closed): connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("paynetcli --config device.yaml (process)", () => {
  it("connects through its address list, with the file's TLS, reconnect and heartbeat settings", async () => {
    const certs = await harness.certs({ devices: ["SN-NODES"] });
    const server = await harness.paynetd(
      [...paynetdArgs({ certs }), "--log-level", "debug"],
      "paynetd-nodes",
    );
    const down = await closedPort();
    const path = await configFile(
      "device-process.yaml",
      `client:
  addr:
    - 127.0.0.1:${down}
    - 127.0.0.1:${server.port}
  tls:
    dir: ${certs}
  reconnect:
    base: 200ms
    max: 400ms
  heartbeat_send: 300ms
device:
  sn: SN-NODES
`,
    );
    const device = harness.paynetcli(["--config", path, "--sn", "SN-NODES"]);
    await device.waitForLine(
      new RegExp(
        `starting: server 127\\.0\\.0\\.1:${down}, 127\\.0\\.0\\.1:${server.port}, client certificate \\S+SN-NODES\\.crt`,
      ),
      LINE_TIMEOUT_MS,
    );
    // The first node refuses; after the reconnect base delay the device tries the next one.
    const first = await device.waitForLine(
      new RegExp(`connecting to 127\\.0\\.0\\.1:${down} \\(attempt 1\\)`),
      LINE_TIMEOUT_MS,
    );
    const retry = await device.waitForLine(/reconnecting in ([\d.]+)s/, LINE_TIMEOUT_MS, first.index + 1);
    // Within reconnect.max (400 ms), not the default backoff.
    expect(Number(retry.match[1])).toBeLessThanOrEqual(0.4);
    await device.waitForLine(
      new RegExp(`connecting to 127\\.0\\.0\\.1:${server.port} \\(attempt 2\\)`),
      LINE_TIMEOUT_MS,
      retry.index + 1,
    );
    await device.waitForLine(/online \(full TLS handshake\) as dev-SN-NODES/, LINE_TIMEOUT_MS);
    // Heartbeats at the file's 300 ms: several reach paynetd while the device is online.
    const ping = /<- Ping dev-SN-NODES/;
    const firstPing = await server.process.waitForLine(ping, LINE_TIMEOUT_MS);
    await server.process.waitForLine(ping, LINE_TIMEOUT_MS, firstPing.index + 1);
    await device.stop("SIGINT");
  });
});
