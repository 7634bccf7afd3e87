/**
 * `npm run demo:cluster`: paynetd as a cluster on Redis. A private redis-server (AOF, fsync always),
 * two paynetd nodes sharing it, a device behind an L4 balancer, a push through the node that does
 * not hold the device, then the holding node killed with SIGKILL in the middle of a command: the
 * device moves to the other node, which redelivers the command (executed once) and records its end.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLog } from "../shared/log.js";
import { type Balancer, startBalancer } from "./balancer.js";
import { certsProblem } from "./certs.js";
import {
  adminTokenOf,
  type ManagedProcess,
  REPO_ROOT,
  startExample,
  waitForAdmin,
  waitForListening,
} from "./processes.js";
import { redisInstalled, startRedis, type TestRedis } from "./redis.js";

const log = createLog("demo", { format: "pretty", level: "info" });
const CERTS_DIR = ".demo/certs";
// The serial of the demo's device certificate (.demo/certs/device.crt): under mTLS a device acts only as its CN.
const DEVICE_SN = "SN-DEMO-001";
const DEVICE_ID = `dev-${DEVICE_SN}`;
const STEP_TIMEOUT_MS = 20_000;

const children: ManagedProcess[] = [];
let redis: TestRedis | undefined;
let balancer: Balancer | undefined;

async function main(): Promise<void> {
  if (!redisInstalled()) {
    log.error(
      "redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) and run npm run demo:cluster again.",
    );
    process.exitCode = 1;
    return;
  }
  const started = Date.now();
  certificates();
  const scratch = await mkdtemp(join(tmpdir(), "paynet-demo-cluster-"));
  try {
    await scenario(scratch);
  } finally {
    await Promise.all(children.map((child) => child.stop("SIGKILL", 1_000)));
    await balancer?.close();
    await redis?.stop();
    await rm(scratch, { recursive: true, force: true });
  }
  log.info(`cluster demo done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function scenario(scratch: string): Promise<void> {
  redis = await startRedis();
  log.info(
    `1/5 private redis-server on 127.0.0.1:${redis.port} (AOF, appendfsync always, data in ${redis.dir})`,
  );
  const nodeArgs = [
    "--listen",
    "127.0.0.1:0",
    "--certs",
    CERTS_DIR,
    "--mtls",
    "--admin",
    "127.0.0.1:0",
    "--command-coins",
    "0",
    "--redis",
    redis.url,
    // Shared ticket keys: the device resumes its TLS session on whichever node it lands.
    "--ticket-keys",
    join(scratch, "ticket.keys"),
  ];
  const a =
    children[
      children.push(startExample("paynetd", nodeArgs, { name: "paynetd-A", echo: print("node A") })) - 1
    ]!;
  const { port: portA } = await waitForListening(a, STEP_TIMEOUT_MS);
  const b =
    children[
      children.push(startExample("paynetd", nodeArgs, { name: "paynetd-B", echo: print("node B") })) - 1
    ]!;
  const { port: portB } = await waitForListening(b, STEP_TIMEOUT_MS);
  let backends = [portA, portB];
  balancer = await startBalancer(() => backends);
  log.info(
    `2/5 two paynetd nodes on one Redis: A 127.0.0.1:${portA}, B 127.0.0.1:${portB}, balancer 127.0.0.1:${balancer.port}`,
  );

  const device = startExample(
    "paynetcli",
    [
      "--connect",
      `127.0.0.1:${balancer.port}`,
      "--certs",
      CERTS_DIR,
      "--sn",
      DEVICE_SN,
      "--coin-ms",
      "400",
      "--data",
      join(scratch, "device"),
      "--backoff-initial",
      "0.2",
      "--backoff-max",
      "0.5",
    ],
    { name: "paynetcli", echo: print("device") },
  );
  children.push(device);
  await device.waitForLine(new RegExp(`online \\(.*\\) as ${DEVICE_ID}`), STEP_TIMEOUT_MS);
  await a.waitForLine(new RegExp(`online ${DEVICE_ID}`), STEP_TIMEOUT_MS);
  log.info(`3/5 the device registered and logged in through the balancer: it is on node A`);

  const token = await adminTokenOf(nodeArgs);
  const push = async (node: ManagedProcess, orderId: string, coins: number) => {
    const url = `${await waitForAdmin(node, STEP_TIMEOUT_MS)}/devices/${DEVICE_ID}/coin`;
    const answer = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ order_id: orderId, coins }),
    });
    return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
  };
  const first = await push(b, "CL-1", 1);
  if (first.status !== 200 || first.body.state !== "DONE")
    throw new Error(`push through B: ${JSON.stringify(first)}`);
  log.info(`4/5 an order pushed through node B reached the device on node A and ended DONE`);

  const moving = push(b, "CL-2", 5);
  await device.waitForLine(/executing order CL-2: 5 coin/, STEP_TIMEOUT_MS);
  backends = [portB];
  await a.stop("SIGKILL", 1_000);
  log.info("   node A killed (SIGKILL) while the device dispenses order CL-2");
  await b.waitForLine(new RegExp(`online ${DEVICE_ID}`), STEP_TIMEOUT_MS);
  const second = await moving;
  const executions = device.count(/executing order CL-2:/);
  const outcome = redis.cli("HGET", `paynet:{${DEVICE_ID}}:dl:CL-2`, "state");
  if (second.status !== 200 || second.body.state !== "DONE" || executions !== 1 || outcome !== "completed") {
    throw new Error(
      `after the move: push ${JSON.stringify(second)}, executed ${executions} time(s), outcome ${outcome}`,
    );
  }
  log.info(
    `5/5 the device moved to node B, which redelivered CL-2: executed once, ended DONE, outcome "${outcome}" recorded in Redis`,
  );
}

function certificates(): void {
  const problem = existsSync(join(REPO_ROOT, CERTS_DIR))
    ? certsProblem(join(REPO_ROOT, CERTS_DIR))
    : "none yet";
  if (problem === undefined) return;
  log.info(`issuing a CA, a server and a device certificate into ${CERTS_DIR} (${problem})`);
  const result = spawnSync(process.execPath, ["bin/run.js", "certs", "init", "--out", CERTS_DIR, "--force"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`paynet-gen certs init failed:\n${result.stdout}${result.stderr}`);
}

/** Echoes a program's line with its name in front. */
function print(name: string): (line: string) => void {
  return (line) => process.stdout.write(`  ${name.padEnd(6)} | ${line}\n`);
}

main().catch((error: unknown) => {
  log.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
