/**
 * The example C device (examples/c-device, built by its Makefile) against the real paynetd under
 * mutual TLS with persistent ticket keys: it registers, logs in, heartbeats and executes a
 * CoinCommand with ACCEPTED → RUNNING → DONE acks; after paynetd is killed and restarted it comes
 * back with a resumed TLS session and queries its last order; an order pushed twice runs once, also
 * after the device itself was killed and restarted (its record is a file); an order interrupted by
 * a kill is answered FAILED ("interrupted"), never run again; a device without a certificate never
 * gets online. The device runs under ASan/UBSan, and a last run under valgrind must be leak-free.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManagedProcess } from "../../examples/demo/processes.js";
import { CoinState } from "../../examples/sdk/index.js";
import { issueDeviceFiles } from "../../src/certs/files.js";
import {
  Harness,
  LINE_TIMEOUT_MS,
  type Paynetd,
  paynetdArgs,
  postJson,
} from "../acceptance/support/harness.js";
import { REPO, requireTool, run, SANITIZE } from "./support/toolchain.js";

const SN = "SN-C1";
const VALGRIND_SN = "SN-C2";
const harness = new Harness();
const devices: ManagedProcess[] = [];
let certs = "";
let dir = "";
let sanitized = "";
let plain = "";
let server: Paynetd;
let port = 0;

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
  name: string,
  options: { sn?: string; certsDir?: string; command?: string[] } = {},
): ManagedProcess {
  const sn = options.sn ?? SN;
  const args = [
    "--connect",
    `127.0.0.1:${port}`,
    "--certs",
    options.certsDir ?? certs,
    "--sn",
    sn,
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
  const [command, ...prefix] = options.command ?? [sanitized];
  const device = new ManagedProcess({
    name,
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

const coin = (orderId: string, coins: number) =>
  postJson(server, `/devices/dev-${SN}/coin`, JSON.stringify({ order_id: orderId, coins }));

beforeAll(async () => {
  for (const tool of ["make", "gcc", "valgrind"]) requireTool(tool);
  dir = await harness.tempDir("paynet-c-device-");
  certs = await harness.certs();
  await issueDeviceFiles({ out: certs, commonName: SN });
  await issueDeviceFiles({ out: certs, commonName: VALGRIND_SN });
  sanitized = join(dir, "c-device-asan");
  plain = join(dir, "c-device");
  await build(sanitized, `-O1 -g ${SANITIZE.join(" ")}`, SANITIZE.join(" "));
  await build(plain, "-O1 -g");
  server = await startPaynetd();
}, 180_000);

afterAll(async () => {
  await Promise.all(devices.map((device) => device.stop("SIGKILL", 1_000)));
  await harness.cleanup();
});

describe("the C device against paynetd (--mtls, ticket keys)", () => {
  let device: ManagedProcess;

  it("registers, logs in, heartbeats and executes a CoinCommand with ACCEPTED → RUNNING → DONE acks", async () => {
    device = startDevice("c-device");
    await device.waitForLine(/-> RegisterReq sn=SN-C1 /, LINE_TIMEOUT_MS);
    await device.waitForLine(/<- RegisterRsp OK device_id=dev-SN-C1 /, LINE_TIMEOUT_MS);
    await device.waitForLine(/<- LoginRsp OK /, LINE_TIMEOUT_MS);
    await device.waitForLine(/online \(full TLS handshake\) as dev-SN-C1$/, LINE_TIMEOUT_MS);
    await device.waitForLine(/-> Ping timestamp=\d+ uptime=\d+s$/, LINE_TIMEOUT_MS);
    await device.waitForLine(/<- Pong timestamp=\d+$/, LINE_TIMEOUT_MS);
    const answer = await coin("C-ORD-1", 2);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      device_id: "dev-SN-C1",
      order_id: "C-ORD-1",
      state: "DONE",
      progress: 100,
    });
    const acks = device.lines.filter((line) => line.includes("-> CoinAck order=C-ORD-1 "));
    expect(acks.map((line) => line.replace(/^.*state=/, ""))).toEqual([
      "ACCEPTED progress=0",
      "RUNNING progress=50",
      "RUNNING progress=100",
      "DONE progress=100",
    ]);
    await server.process.waitForLine(
      /<- CoinAck dev-SN-C1 order=C-ORD-1 state=DONE progress=100/,
      LINE_TIMEOUT_MS,
    );
  });

  it("comes back with a resumed TLS session after paynetd is killed and restarted, and queries its last order", async () => {
    // paynetd writes its state file shortly after a change: kill it once the order's end is on disk.
    await waitForOrderOnDisk("C-ORD-1", CoinState.COIN_DONE);
    const from = device.lines.length;
    await server.process.stop("SIGKILL");
    await device.waitForLine(/offline: CONNECTION_CLOSED/, LINE_TIMEOUT_MS, from);
    await device.waitForLine(/reconnecting in \d+\.\ds \(attempt \d+\)/, LINE_TIMEOUT_MS, from);
    server = await startPaynetd();
    await device.waitForLine(/TLS connected \(resumed TLS session\)/, LINE_TIMEOUT_MS, from);
    await device.waitForLine(/online \(resumed TLS session\) as dev-SN-C1$/, LINE_TIMEOUT_MS, from);
    await device.waitForLine(/-> QueryReq order=C-ORD-1$/, LINE_TIMEOUT_MS, from);
    await device.waitForLine(/<- QueryRsp order=C-ORD-1 state=DONE progress=100$/, LINE_TIMEOUT_MS, from);
  });

  it("executes an order pushed twice once: the repeat is answered from its record", async () => {
    const from = device.lines.length;
    const again = await coin("C-ORD-1", 2);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ state: "DONE", progress: 100 });
    await device.waitForLine(
      /duplicate command answered from its record, not executed again: order=C-ORD-1$/,
      LINE_TIMEOUT_MS,
      from,
    );
    expect(device.count(/executing order C-ORD-1:/)).toBe(1);
  });

  it("still executes it once after the device is killed and restarted", async () => {
    await device.stop("SIGKILL");
    device = startDevice("c-device-restarted");
    await device.waitForLine(
      /record of executed commands: .*SN-C1\.record \(1 remembered\)/,
      LINE_TIMEOUT_MS,
    );
    await device.waitForLine(/online \(.*\) as dev-SN-C1$/, LINE_TIMEOUT_MS);
    const again = await coin("C-ORD-1", 2);
    expect(again.json).toMatchObject({ state: "DONE", progress: 100 });
    await device.waitForLine(
      /duplicate command answered from its record, not executed again: order=C-ORD-1$/,
      LINE_TIMEOUT_MS,
    );
    expect(device.count(/executing order/)).toBe(0);
  });

  it("answers an order it was executing when killed as FAILED (interrupted), never running it again", async () => {
    const pending = coin("C-ORD-2", 40);
    await device.waitForLine(/-> CoinAck order=C-ORD-2 state=RUNNING/, LINE_TIMEOUT_MS);
    await device.stop("SIGKILL");
    device = startDevice("c-device-after-crash");
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ order_id: "C-ORD-2", state: "FAILED" });
    expect(String(answer.json.error)).toMatch(/^interrupted, reconcile manually/);
    await device.waitForLine(
      /command interrupted by a restart during its execution: order=C-ORD-2 not executed again/,
      LINE_TIMEOUT_MS,
    );
    expect(device.count(/executing order/)).toBe(0);
    await device.stop("SIGTERM");
    expect((await device.exited).code).toBe(0);
  });

  it("never gets online without a certificate", async () => {
    const caOnly = await harness.caOnly(certs);
    const intruder = startDevice("c-device-no-cert", { sn: "SN-NOCERT", certsDir: caOnly });
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
    await intruder.stop("SIGTERM");
  });

  it("runs leak-free under valgrind: login, heartbeat, a command, stop", { timeout: 120_000 }, async () => {
    const checked = startDevice("c-device-valgrind", {
      sn: VALGRIND_SN,
      command: [
        "valgrind",
        "--error-exitcode=99",
        "--leak-check=full",
        "--errors-for-leak-kinds=definite,indirect",
        plain,
      ],
    });
    await checked.waitForLine(/online \(.*\) as dev-SN-C2$/, 60_000);
    await checked.waitForLine(/<- Pong /, 60_000);
    const answer = await postJson(
      server,
      `/devices/dev-${VALGRIND_SN}/coin`,
      JSON.stringify({ order_id: "C-VG-1", coins: 1 }),
    );
    expect(answer.json).toMatchObject({ state: "DONE" });
    await checked.stop("SIGTERM", 30_000);
    const exit = await checked.exited;
    expect(exit.code, checked.lines.slice(-30).join("\n")).toBe(0);
    expect(checked.find(/ERROR SUMMARY: 0 errors/)).toBeDefined();
    expect(checked.find(/definitely lost: [1-9]/)).toBeUndefined();
  });
});
