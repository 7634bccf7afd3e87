/**
 * Short form of the cluster chaos suite (`npm test`): a private Redis, 3 node processes, 200
 * devices in their own process spread over them, commands pushed through random nodes; one node
 * SIGKILLed mid-run, later redis-server SIGKILLed and restarted. Long form (1000 devices):
 * test/stress/cluster-chaos.test.ts.
 */
import { describe, it } from "vitest";
import { skipRedis } from "../cluster/harness.js";
import { makeTestPki } from "../helpers/pki.js";
import { scaled } from "../helpers/time.js";
import { runClusterChaos } from "../stress/lib/cluster-chaos.js";
import { clusterChaosSummary, expectClusterChaosSurvived } from "../stress/lib/cluster-chaos-assertions.js";

describe.skipIf(skipRedis !== undefined)("cluster chaos (short)", () => {
  it(
    "a node and then Redis killed mid-run: zero lost, zero executed twice, every outcome recorded, the fleet back within 30 s",
    async () => {
      const report = await runClusterChaos(await makeTestPki(), { devices: 200, commands: 300 });
      console.log(`cluster chaos (short): ${clusterChaosSummary(report)}`);
      expectClusterChaosSurvived(report);
    },
    scaled(300_000),
  );
});
