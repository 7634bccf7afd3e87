/**
 * The example C device (examples/c-device, built by its Makefile) against the real paynetd under
 * mutual TLS with persistent ticket keys, run twice: under ASan/UBSan (LeakSanitizer at exit) and
 * under valgrind. It registers, logs in, heartbeats and executes a CoinCommand with
 * ACCEPTED → RUNNING → DONE acks; an order pushed twice runs once, also after the device itself was
 * killed and restarted (its record is a file); an order interrupted by a kill is answered FAILED
 * ("interrupted"), never run again; after paynetd is killed and restarted the device comes back
 * with a resumed TLS session and queries its last order; stopped, it exits cleanly with nothing
 * leaked; a second process on the same record refuses to start; a device without a certificate
 * never gets online. A device without a certificate of its own presents DIR/device.crt; a server
 * offering only TLS 1.2, or with a certificate of another CA, is refused.
 */
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createServer, type TlsOptions } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManagedProcess } from "../../examples/demo/processes.js";
import { CoinState } from "../../examples/sdk/index.js";
import { DEMO_DEVICE_SN } from "../../src/certs/types.js";
import {
  Harness,
  LINE_TIMEOUT_MS,
  type Paynetd,
  paynetdArgs,
  postJson,
} from "../acceptance/support/harness.js";
import { REPO, requireTool, run, SANITIZE } from "./support/toolchain.js";

interface Runner {
  readonly name: string;
  /** The serial (and file prefix) of this run's device; its orders are `<sn>-ORD-<n>`. */
  readonly sn: string;
  /** The command line before the device's own arguments. */
  readonly command: () => string[];
  /** What a device stopped with SIGTERM must have printed besides exiting with 0. */
  readonly cleanExit: RegExp | undefined;
}

const harness = new Harness();
const devices: ManagedProcess[] = [];
let certs = "";
let dir = "";
let sanitized = "";
let plain = "";
let server: Paynetd;
let port = 0;

const RUNNERS: readonly Runner[] = [
  { name: "ASan/UBSan", sn: "SN-C1", command: () => [sanitized], cleanExit: undefined },
  {
    name: "valgrind",
    sn: "SN-C2",
    command: () => [
      "valgrind",
      "--error-exitcode=99",
      "--leak-check=full",
      "--errors-for-leak-kinds=definite,indirect",
      plain,
    ],
    cleanExit: /ERROR SUMMARY: 0 errors/,
  },
];

async function build(bin: string, cflags: string, ldflags = ""): Promise<void> {
  const result = await run("make", [
    "-C",
    join(REPO, "examples/c-device"),
    `BIN=${bin}`,
    `CFLAGS=${cflags}`,
    `LDFLAGS=${ldflags}`,
  ]);
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
}

async function startPaynetd(): Promise<Paynetd> {
  const started = await harness.paynetd([
    ...paynetdArgs({ certs, port, admin: true, state: join(dir, "paynetd-state.json") }),
    "--ticket-keys",
    join(dir, "ticket-keys"),
  ]);
  port = started.port;
  return started;
}

function startDevice(
  runner: Runner,
  name: string,
  options: { sn?: string; certsDir?: string; port?: number } = {},
): ManagedProcess {
  const args = [
    "--connect",
    `127.0.0.1:${options.port ?? port}`,
    "--certs",
    options.certsDir ?? certs,
    "--sn",
    options.sn ?? runner.sn,
    "--heartbeat",
    "1",
    "--coin-ms",
    "50",
    "--backoff-initial",
    "0.2",
    "--backoff-max",
    "0.5",
    "--data",
    dir,
  ];
  const [command, ...prefix] = runner.command();
  const device = new ManagedProcess({
    name: `${name} (${runner.name})`,
    command: command!,
    args: [...prefix, ...args],
    env: {
      ...process.env,
      ASAN_OPTIONS: "detect_leaks=1:abort_on_error=0",
      UBSAN_OPTIONS: "halt_on_error=1",
    },
  });
  devices.push(device);
  return device;
}

/** Stops a device with SIGTERM: it must exit with 0, and under valgrind report no error or leak. */
async function expectCleanStop(runner: Runner, device: ManagedProcess): Promise<void> {
  await device.stop("SIGTERM", 30_000);
  const exit = await device.exited;
  expect(exit.code, device.lines.slice(-30).join("\n")).toBe(0);
  if (runner.cleanExit !== undefined) expect(device.find(runner.cleanExit)).toBeDefined();
  expect(device.find(/definitely lost: [1-9]|ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:/)).toBe(
    undefined,
  );
}

/** Resolves once paynetd's state file records `orderId` in `state` (it is written asynchronously). */
async function waitForOrderOnDisk(orderId: string, state: number): Promise<void> {
  const path = join(dir, "paynetd-state.json");
  for (const started = Date.now(); Date.now() - started < LINE_TIMEOUT_MS; ) {
    const text = await readFile(path, "utf8").catch(() => "");
    const orders =
      text === ""
        ? []
        : ((JSON.parse(text) as { orders?: { orderId?: string; state?: number }[] }).orders ?? []);
    if (orders.some((order) => order.orderId === orderId && order.state === state)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`paynetd's state file never recorded ${orderId} in state ${state}`);
}

const coin = (sn: string, orderId: string, coins: number) =>
  postJson(server, `/devices/dev-${sn}/coin`, JSON.stringify({ order_id: orderId, coins }));

beforeAll(async () => {
  for (const tool of ["make", "gcc", "valgrind"]) requireTool(tool);
  dir = await harness.tempDir("paynet-c-device-");
  certs = await harness.certs({ devices: RUNNERS.map((runner) => runner.sn) });
  sanitized = join(dir, "c-device-asan");
  plain = join(dir, "c-device");
  await Promise.all([
    build(sanitized, `-O1 -g ${SANITIZE.join(" ")}`, SANITIZE.join(" ")),
    build(plain, "-O1 -g"),
  ]);
  server = await startPaynetd();
}, 180_000);

afterAll(async () => {
  await Promise.all(devices.map((device) => device.stop("SIGKILL", 1_000)));
  await harness.cleanup();
});

describe.each(RUNNERS)("the C device under $name against paynetd (--mtls, ticket keys)", (runner) => {
  const { sn } = runner;
  const order = (n: number) => `${sn}-ORD-${n}`;
  const executing = (n: number) => new RegExp(`executing order ${order(n)}:`);
  const duplicate = (n: number) =>
    new RegExp(`duplicate command answered from its record, not executed again: order=${order(n)}$`);
  let device: ManagedProcess;

  it("registers, logs in, heartbeats and executes a CoinCommand with ACCEPTED → RUNNING → DONE acks", async () => {
    device = startDevice(runner, "c-device");
    await device.waitForLine(new RegExp(`-> RegisterReq sn=${sn} `), LINE_TIMEOUT_MS);
    await device.waitForLine(new RegExp(`<- RegisterRsp OK device_id=dev-${sn} `), LINE_TIMEOUT_MS);
    await device.waitForLine(/<- LoginRsp OK /, LINE_TIMEOUT_MS);
    await device.waitForLine(new RegExp(`online \\(full TLS handshake\\) as dev-${sn}$`), LINE_TIMEOUT_MS);
    await device.waitForLine(/-> Ping timestamp=\d+ uptime=\d+s$/, LINE_TIMEOUT_MS);
    await device.waitForLine(/<- Pong timestamp=\d+$/, LINE_TIMEOUT_MS);
    const answer = await coin(sn, order(1), 2);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      device_id: `dev-${sn}`,
      order_id: order(1),
      state: "DONE",
      progress: 100,
    });
    const acks = device.lines.filter((line) => line.includes(`-> CoinAck order=${order(1)} `));
    expect(acks.map((line) => line.replace(/^.*state=/, ""))).toEqual([
      "ACCEPTED progress=0",
      "RUNNING progress=50",
      "RUNNING progress=100",
      "DONE progress=100",
    ]);
    await server.process.waitForLine(
      new RegExp(`<- CoinAck dev-${sn} order=${order(1)} state=DONE progress=100`),
      LINE_TIMEOUT_MS,
    );
  });

  it("executes an order pushed twice once: the repeat is answered from its record", async () => {
    const from = device.lines.length;
    const again = await coin(sn, order(1), 2);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ state: "DONE", progress: 100 });
    await device.waitForLine(duplicate(1), LINE_TIMEOUT_MS, from);
    expect(device.count(executing(1))).toBe(1);
  });

  it("still executes it once after the device is killed and restarted", async () => {
    await device.stop("SIGKILL");
    device = startDevice(runner, "c-device-restarted");
    await device.waitForLine(
      new RegExp(`record of executed commands: .*${sn}\\.record \\(1 remembered\\)`),
      LINE_TIMEOUT_MS,
    );
    await device.waitForLine(new RegExp(`online \\(.*\\) as dev-${sn}$`), LINE_TIMEOUT_MS);
    const again = await coin(sn, order(1), 2);
    expect(again.json).toMatchObject({ state: "DONE", progress: 100 });
    await device.waitForLine(duplicate(1), LINE_TIMEOUT_MS);
    expect(device.count(/executing order/)).toBe(0);
  });

  it("answers an order it was executing when killed as FAILED (interrupted), never running it again", async () => {
    const pending = coin(sn, order(2), 40);
    await device.waitForLine(new RegExp(`-> CoinAck order=${order(2)} state=RUNNING`), LINE_TIMEOUT_MS);
    await device.stop("SIGKILL");
    device = startDevice(runner, "c-device-after-crash");
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ order_id: order(2), state: "FAILED" });
    expect(String(answer.json.error)).toMatch(/^interrupted, reconcile manually/);
    await device.waitForLine(
      new RegExp(
        `command interrupted by a restart during its execution: order=${order(2)} not executed again`,
      ),
      LINE_TIMEOUT_MS,
    );
    expect(device.count(/executing order/)).toBe(0);
  });

  it("comes back with a resumed TLS session after paynetd is killed and restarted, queries its last order, stops leak-free", async () => {
    const done = await coin(sn, order(3), 1);
    expect(done.json).toMatchObject({ order_id: order(3), state: "DONE" });
    expect(device.count(executing(3))).toBe(1);
    // paynetd writes its state file shortly after a change: kill it once the order's end is on disk.
    await waitForOrderOnDisk(order(3), CoinState.COIN_DONE);
    const from = device.lines.length;
    await server.process.stop("SIGKILL");
    await device.waitForLine(/offline: CONNECTION_CLOSED/, LINE_TIMEOUT_MS, from);
    await device.waitForLine(/reconnecting in \d+\.\ds \(attempt \d+\)/, LINE_TIMEOUT_MS, from);
    server = await startPaynetd();
    await device.waitForLine(/TLS connected \(resumed TLS session\)/, LINE_TIMEOUT_MS, from);
    await device.waitForLine(
      new RegExp(`online \\(resumed TLS session\\) as dev-${sn}$`),
      LINE_TIMEOUT_MS,
      from,
    );
    await device.waitForLine(new RegExp(`-> QueryReq order=${order(3)}$`), LINE_TIMEOUT_MS, from);
    await device.waitForLine(
      new RegExp(`<- QueryRsp order=${order(3)} state=DONE progress=100$`),
      LINE_TIMEOUT_MS,
      from,
    );
    await expectCleanStop(runner, device);
  });

  it("never gets online without a certificate", async () => {
    const caOnly = await harness.caOnly(certs);
    const intruder = startDevice(runner, "c-device-no-cert", { sn: "SN-NOCERT", certsDir: caOnly });
    await intruder.waitForLine(/starting: .*no client certificate/, LINE_TIMEOUT_MS);
    for (let attempt = 1; attempt <= 3; attempt++) {
      await intruder.waitForLine(
        new RegExp(`connecting to 127\\.0\\.0\\.1:${port} \\(attempt ${attempt}\\)`),
        LINE_TIMEOUT_MS,
      );
    }
    await intruder.waitForLine(/offline: (CONNECTION_CLOSED|TLS_ERROR)/, LINE_TIMEOUT_MS);
    expect(intruder.find(/online \(/)).toBeUndefined();
    expect(intruder.find(/<- (RegisterRsp|LoginRsp)/)).toBeUndefined();
    await expectCleanStop(runner, intruder);
  });
});

describe("the OpenSSL transport", () => {
  /** A TLS server that is not paynetd: the device must refuse it during the handshake. */
  async function expectRefused(name: string, serverCerts: string, options: TlsOptions = {}): Promise<void> {
    const runner = RUNNERS[0]!;
    const impostor = createServer({
      cert: await readFile(join(serverCerts, "server.crt")),
      key: await readFile(join(serverCerts, "server.key")),
      ...options,
    });
    impostor.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => impostor.listen(0, "127.0.0.1", resolve));
    try {
      const device = startDevice(runner, name, { port: (impostor.address() as AddressInfo).port });
      await device.waitForLine(/connecting to .* \(attempt 2\)/, LINE_TIMEOUT_MS);
      expect(device.find(/offline: TLS_ERROR/)).toBeDefined();
      expect(device.find(/TLS connected|online \(/)).toBeUndefined();
      await expectCleanStop(runner, device);
    } finally {
      await new Promise((resolve) => impostor.close(resolve));
    }
  }

  it("refuses a server that offers only TLS 1.2: the device never gets past the handshake", async () => {
    await expectRefused("c-device-tls12", certs, { maxVersion: "TLSv1.2" });
  });

  it("refuses a server whose certificate another CA signed", async () => {
    await expectRefused("c-device-other-ca", await harness.certs());
  });
});

describe("a device without a certificate of its own", () => {
  it("presents DIR/device.crt and gets online as the device it names; a second process on its record refuses to start", async () => {
    const runner = RUNNERS[0]!;
    const device = startDevice(runner, "c-device-shared-cert", { sn: DEMO_DEVICE_SN });
    await device.waitForLine(
      new RegExp(`starting: .*client certificate ${certs}/device\\.crt$`),
      LINE_TIMEOUT_MS,
    );
    await device.waitForLine(new RegExp(`online \\(.*\\) as dev-${DEMO_DEVICE_SN}$`), LINE_TIMEOUT_MS);
    // Two processes on one record could each run a command: the record file is locked.
    const second = startDevice(runner, "c-device-second", { sn: DEMO_DEVICE_SN });
    await second.waitForLine(
      new RegExp(`ERROR cannot open the record of executed commands .*${DEMO_DEVICE_SN}\\.record: `),
      LINE_TIMEOUT_MS,
    );
    expect((await second.exited).code).not.toBe(0);
    expect(second.find(/connecting to /)).toBeUndefined();
    await expectCleanStop(runner, device);
  });
});
