/**
 * A rolling restart of a cluster by SIGTERM: each node in turn drains (its sessions told
 * SERVER_DRAINING and closed, the node leaves the cluster), exits 0 and is started again, while
 * commands keep being pushed through the live nodes. Zero lost, each executed once, each outcome
 * recorded once.
 */
import { describe, expect, it } from "vitest";
import { skipRedis } from "../cluster/harness.js";
import { makeTestPki } from "../helpers/pki.js";
import { scaled } from "../helpers/time.js";
import { makeOrders, type Order, startClusterRig } from "../stress/lib/cluster-chaos.js";
import { expectEveryCommandOnce } from "../stress/lib/cluster-chaos-assertions.js";

const DEVICES = 60;

describe.skipIf(skipRedis !== undefined)("cluster rolling restart", () => {
  it(
    "every node drained by SIGTERM and restarted in turn, commands flowing: zero lost, each once",
    async () => {
      const rig = await startClusterRig(await makeTestPki(), { devices: DEVICES, commandDelayMs: 200 });
      try {
        const all: Order[] = [];
        for (const [i, node] of rig.nodes.entries()) {
          const batch = makeOrders(`r${i}`, 40, DEVICES);
          all.push(...batch);
          await rig.push(batch);
          // The node drains with some of its commands in flight, then exits by itself.
          node.alive = false;
          node.proc.child.kill("SIGTERM");
          expect(await node.proc.exited).toBe(0);
          await rig.restartNode(i);
          const online = await rig.fleet.call<{ online: number }>("waitOnline", { timeoutMs: 60_000 });
          expect(online.online).toBe(DEVICES);
        }
        const last = makeOrders("r-last", 40, DEVICES);
        all.push(...last);
        await rig.push(last);
        await rig.settle(all, scaled(120_000)).catch(async (error: Error) => {
          throw new Error(`${error.message}\n${await rig.diagnose(all)}`);
        });
        const { orders, stray } = await rig.verdicts(all);
        expectEveryCommandOnce(orders, stray);
        const stats = await rig.nodeStats();
        for (const code of Object.keys(stats.errors)) expect(code.startsWith("untyped")).toBe(false);
      } finally {
        await rig.stop();
      }
    },
    scaled(300_000),
  );
});
