/**
 * `npm run demo`: generates the SDK, issues certificates if missing, runs paynetd and paynetcli and
 * checks, from their logs, that every step of the paybox protocol happened:
 * Register → Login → Ping/Pong → CoinCommand → CoinAck (ACCEPTED, RUNNING, DONE) → a CoinCommand
 * through the admin endpoint with its token → restart of paynetd → reconnect with a resumed TLS
 * session → Query of the order.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLog } from "../shared/log.js";
import { certsProblem, DEMO_DEVICE_SN } from "./certs.js";
import {
  adminTokenOf,
  type ManagedProcess,
  REPO_ROOT,
  startExample,
  waitForAdmin,
  waitForListening,
} from "./processes.js";

// The demo talks to a person: readable lines, also when its output is piped.
const log = createLog("demo", { format: "pretty", level: "info" });
const CERTS_DIR = ".demo/certs";
const DEVICE_SN = DEMO_DEVICE_SN;
/** Per step; the whole demo stays well within 30 s on a quiet machine. */
const STEP_TIMEOUT_MS = 15_000;

/** One thing the demo must see in a program's log. */
interface Step {
  readonly label: string;
  readonly process: () => ManagedProcess;
  readonly pattern: RegExp;
}

const children: ManagedProcess[] = [];

async function main(): Promise<void> {
  const started = Date.now();
  log.info(`1/5 generating the SDK from proto/paybox.proto into examples/sdk`);
  runCli(["generate", "proto/paybox.proto", "--out", "examples/sdk"]);

  const problem = existsSync(join(REPO_ROOT, CERTS_DIR))
    ? certsProblem(join(REPO_ROOT, CERTS_DIR))
    : "none yet";
  if (problem === undefined) {
    log.info(`2/5 certificates: using ${CERTS_DIR} (complete and valid for more than a day)`);
  } else {
    log.info(
      `2/5 certificates: issuing a CA, a server and a device certificate into ${CERTS_DIR} (${problem})`,
    );
    runCli(["certs", "init", "--out", CERTS_DIR, "--device-sn", DEVICE_SN, "--force"]);
  }

  const scratch = await mkdtemp(join(tmpdir(), "paynet-demo-"));
  try {
    await runScenario(scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  log.info(
    `all steps seen in ${((Date.now() - started) / 1000).toFixed(1)} s: Register, Login, Ping/Pong, CoinCommand, CoinAck ACCEPTED/RUNNING/DONE, admin CoinCommand with its token, reconnect, Query`,
  );
}

async function runScenario(scratch: string): Promise<void> {
  // State and ticket keys outlive the restart of paynetd; a fresh state file makes every demo run
  // send its first CoinCommand.
  const serverArgs = (port: number) => [
    "--listen",
    `127.0.0.1:${port}`,
    "--certs",
    CERTS_DIR,
    "--mtls",
    "--admin",
    "127.0.0.1:0",
    "--state",
    join(scratch, "paynetd-state.json"),
    "--ticket-keys",
    join(scratch, "ticket.keys"),
  ];
  log.info("3/5 starting paynetd (mTLS, any free port, admin endpoint on loopback)");
  let paynetd = track(startExample("paynetd", serverArgs(0), { echo: print("paynetd") }));
  const { port } = await waitForListening(paynetd, STEP_TIMEOUT_MS);

  log.info(`4/5 starting paynetcli ${DEVICE_SN} (Ping every 2 s)`);
  const device = track(
    startExample(
      "paynetcli",
      [
        "--connect",
        `127.0.0.1:${port}`,
        "--certs",
        CERTS_DIR,
        "--sn",
        DEVICE_SN,
        "--heartbeat",
        "2",
        "--backoff-initial",
        "0.3",
        "--backoff-max",
        "1",
        "--data",
        join(scratch, "device"),
      ],
      { echo: print("paynetcli") },
    ),
  );
  const first = paynetd;
  await expectSteps([
    { label: "Register", process: () => first, pattern: /<- RegisterReq sn=SN-DEMO-001/ },
    {
      label: "Register answered",
      process: () => device,
      pattern: /<- RegisterRsp OK device_id=dev-SN-DEMO-001/,
    },
    { label: "Login", process: () => first, pattern: /-> LoginRsp OK device_id=dev-SN-DEMO-001/ },
    { label: "online", process: () => device, pattern: /online \(.*\) as dev-SN-DEMO-001/ },
    { label: "CoinCommand", process: () => device, pattern: /<- CoinCommand order=\S+ coins=\d+/ },
    { label: "CoinAck ACCEPTED", process: () => first, pattern: /<- CoinAck .*state=ACCEPTED/ },
    { label: "CoinAck RUNNING", process: () => first, pattern: /<- CoinAck .*state=RUNNING/ },
    { label: "CoinAck DONE", process: () => first, pattern: /<- CoinAck .*state=DONE progress=100/ },
    { label: "Ping", process: () => first, pattern: /<- Ping dev-SN-DEMO-001/ },
    { label: "Pong", process: () => device, pattern: /<- Pong timestamp=\d+/ },
  ]);
  const order = await pushThroughAdmin(first, device, serverArgs(port));

  log.info(
    "5/5 restarting paynetd on the same port: the device reconnects, resumes TLS and queries its order",
  );
  const onlineBefore = device.lines.length;
  await paynetd.stop("SIGTERM");
  paynetd = track(startExample("paynetd", serverArgs(port), { echo: print("paynetd") }));
  const second = paynetd;
  await waitForListening(second, STEP_TIMEOUT_MS);
  await expectSteps(
    [
      { label: "reconnect", process: () => device, pattern: /online \((.*)\) as dev-SN-DEMO-001/ },
      { label: "Login again", process: () => second, pattern: /-> LoginRsp OK device_id=dev-SN-DEMO-001/ },
      {
        label: "Query",
        process: () => second,
        pattern: new RegExp(`<- QueryReq dev-SN-DEMO-001 order=${order}`),
      },
      {
        label: "Query answered",
        process: () => device,
        pattern: new RegExp(`<- QueryRsp order=${order} state=DONE`),
      },
    ],
    onlineBefore,
  );
  const resumed = device.find(/online \(resumed TLS session\)/, onlineBefore) !== undefined;
  log.info(
    `reconnected with ${resumed ? "a resumed TLS session (shared ticket key)" : "a full TLS handshake"}`,
  );

  await Promise.all([device.stop("SIGINT"), paynetd.stop("SIGTERM")]);
}

/**
 * Pushes one more coin command through paynetd's admin endpoint, as an operator's script would:
 * the bearer token from the certificates directory (paynetd generated it at its first start) and a
 * JSON body. A request without the token is refused first. Returns the order id.
 */
async function pushThroughAdmin(
  paynetd: ManagedProcess,
  device: ManagedProcess,
  paynetdArgs: readonly string[],
): Promise<string> {
  const url = `${await waitForAdmin(paynetd, STEP_TIMEOUT_MS)}/devices/dev-${DEVICE_SN}/coin`;
  const token = await adminTokenOf(paynetdArgs);
  const orderId = `DEMO-${Date.now()}`;
  const body = JSON.stringify({ order_id: orderId, coins: 2 });
  const post = (headers: Record<string, string>) => fetch(url, { method: "POST", headers, body });
  const anonymous = await post({ "content-type": "application/json" });
  if (anonymous.status !== 401)
    throw new Error(`admin endpoint answered ${anonymous.status} without a token`);
  log.info("✓ admin refuses a request without the token (401)");
  const answer = await post({ "content-type": "application/json", authorization: `Bearer ${token}` });
  const result = (await answer.json()) as { state?: string };
  if (answer.status !== 200 || result.state !== "DONE") {
    throw new Error(`admin CoinCommand answered ${answer.status} ${JSON.stringify(result)}`);
  }
  await expectSteps([
    {
      label: "admin CoinCommand",
      process: () => device,
      pattern: new RegExp(`<- CoinCommand order=${orderId} coins=2`),
    },
  ]);
  return orderId;
}

/** Waits for each step in turn (each may already have happened); the device steps start at `from`. */
async function expectSteps(steps: readonly Step[], deviceFrom = 0): Promise<void> {
  for (const step of steps) {
    const child = step.process();
    const from = child.name === "paynetcli" ? deviceFrom : 0;
    try {
      await child.waitForLine(step.pattern, STEP_TIMEOUT_MS, from);
    } catch (error) {
      throw new Error(
        `step "${step.label}" missing: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    log.info(`✓ ${step.label}`);
  }
}

/** Runs the built paynet-gen CLI, echoing its output; throws when it fails. */
function runCli(args: readonly string[]): void {
  const result = spawnSync(process.execPath, ["bin/run.js", ...args], { cwd: REPO_ROOT, encoding: "utf8" });
  for (const line of `${result.stdout ?? ""}${result.stderr ?? ""}`.split("\n")) {
    if (line.trim() !== "") process.stdout.write(`[paynet-gen] ${line}\n`);
  }
  if (result.status !== 0) {
    throw new Error(
      `paynet-gen ${args.join(" ")} failed (exit ${result.status}); run \`npm run build\` first`,
    );
  }
}

/** Echoes a child's line, adding its name when the line does not carry it already. */
function print(name: string): (line: string) => void {
  return (line) => process.stdout.write(line.startsWith(`[${name}]`) ? `${line}\n` : `[${name}] ${line}\n`);
}

function track(child: ManagedProcess): ManagedProcess {
  children.push(child);
  return child;
}

function killAll(): void {
  for (const child of children) child.kill();
}

// Ctrl-C (SIGINT) or a SIGTERM/SIGHUP to the demo stops paynetd and paynetcli with it.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    killAll();
    log.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
