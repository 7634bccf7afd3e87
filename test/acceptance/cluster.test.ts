/**
 * paynetd as a cluster (`--redis`): three real paynetd processes on one private redis-server, a real
 * paynetcli device behind an L4 balancer. The device moves between nodes; the node holding it and
 * the node that pushed its order are killed with SIGKILL mid-command: the command is executed exactly
 * once and its outcome is recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Balancer, startBalancer } from "../../examples/demo/balancer.js";
import { CoinState } from "../../examples/sdk/index.js";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis-server.js";
import {
  Harness,
  LINE_TIMEOUT_MS,
  type Paynetd,
  paynetcliArgs,
  paynetdArgs,
  postJson,
} from "./support/harness.js";

const skip = redisMissing();
const harness = new Harness();
let redis: TestRedis;
let certs: string;
let balancer: Balancer | undefined;

beforeAll(async () => {
  if (skip !== undefined) return;
  redis = await startRedis();
  certs = await harness.certs({ devices: ["SN-CL1", "SN-W1", "SN-W2", "SN-W3"] });
});

afterAll(async () => {
  await balancer?.close();
  await harness.cleanup();
  await redis?.stop();
});

function node(name: string): Promise<Paynetd> {
  return harness.paynetd([...paynetdArgs({ certs, admin: true }), "--redis", redis.url], name);
}

/** Polls `read` until it returns `expected`. */
async function until(read: () => string, expected: string, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value === expected) return;
    if (Date.now() > deadline)
      throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(skip !== undefined)("paynetd cluster on Redis", () => {
  it("a device registered via one node logs in on another; both nodes holding and pushing die mid-command: executed once, outcome recorded", async () => {
    const a = await node("paynetd-A");
    const b = await node("paynetd-B");
    const c = await node("paynetd-C");
    let alive = [a.port, b.port];
    balancer = await startBalancer(() => alive);
    const device = harness.paynetcli(
      paynetcliArgs({ port: balancer.port, certs, sn: "SN-CL1", coinMs: 400 }),
      "paynetcli-SN-CL1",
    );
    await device.waitForLine(/online \(.*\) as dev-SN-CL1/, LINE_TIMEOUT_MS);
    await a.process.waitForLine(/online dev-SN-CL1/, LINE_TIMEOUT_MS);

    // Node C (no device of its own) pushes the order; node A holds the device.
    const push = postJson(c, "/devices/dev-SN-CL1/coin", JSON.stringify({ order_id: "ORD-K1", coins: 5 }));
    push.catch(() => {});
    await device.waitForLine(/executing order ORD-K1: 5 coin/, LINE_TIMEOUT_MS);
    alive = [b.port];
    await Promise.all([a.process.stop("SIGKILL", 1_000), c.process.stop("SIGKILL", 1_000)]);

    // The device reconnects through the balancer to B, which redelivers; the device answers from its record.
    await b.process.waitForLine(/online dev-SN-CL1/, LINE_TIMEOUT_MS);
    await until(
      () => redis.cli("HGET", "paynet:{dev-SN-CL1}:dl:ORD-K1", "state"),
      "completed",
      "the delivery outcome",
    );
    expect(device.count(/executing order ORD-K1:/)).toBe(1);
    expect(Number(redis.cli("HGET", "paynet:{dev-SN-CL1}:dl:ORD-K1", "attempts"))).toBeGreaterThanOrEqual(2);
    // One outcome in the stream: the completion (reported once, by B).
    expect(redis.cli("XLEN", "paynet:outcomes")).toBe("1");
    // paynetd's own order state, in Redis too, reached DONE through B.
    await until(
      () => redis.cli("HGET", "paynet:paynetd:order:ORD-K1", "state"),
      String(CoinState.COIN_DONE),
      "the order state",
    );

    // A push through the surviving node reaches the device (registered via A, now on B).
    const again = await postJson(
      b,
      "/devices/dev-SN-CL1/coin",
      JSON.stringify({ order_id: "ORD-K2", coins: 1 }),
    );
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ order_id: "ORD-K2", state: "DONE" });
  });

  it("--workers 2: one port, two cluster nodes; devices on either worker get orders pushed through any", async () => {
    const server = await harness.paynetd(
      [...paynetdArgs({ certs, admin: true }), "--redis", redis.url, "--workers", "2"],
      "paynetd-workers",
    );
    await server.process.waitForLine(/primary \d+: 2 workers/, LINE_TIMEOUT_MS);
    const devices = ["SN-W1", "SN-W2", "SN-W3"].map((sn) =>
      harness.paynetcli(paynetcliArgs({ port: server.port, certs, sn, coinMs: 10 }), `paynetcli-${sn}`),
    );
    await Promise.all(
      devices.map((d, i) =>
        d.waitForLine(new RegExp(`online \\(.*\\) as dev-SN-W${i + 1}`), LINE_TIMEOUT_MS),
      ),
    );
    const nodes = new Set(
      ["SN-W1", "SN-W2", "SN-W3"].map((sn) => redis.cli("HGET", `paynet:{dev-${sn}}:at`, "node")),
    );
    // node:cluster hands connections out round-robin: both workers hold devices.
    expect(nodes.size).toBe(2);
    for (const [i, sn] of ["SN-W1", "SN-W2", "SN-W3"].entries()) {
      const answer = await postJson(
        server,
        `/devices/dev-${sn}/coin`,
        JSON.stringify({ order_id: `ORD-W${i}`, coins: 1 }),
      );
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ order_id: `ORD-W${i}`, state: "DONE" });
    }
  });
});
