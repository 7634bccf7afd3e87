/** Cluster chaos, full size: 1000 devices over 3 nodes; a node and then Redis killed mid-run. */
import { describe, it } from "vitest";
import { skipRedis } from "../cluster/harness.js";
import { makeTestPki } from "../helpers/pki.js";
import { runClusterChaos } from "./lib/cluster-chaos.js";
import { clusterChaosSummary, expectClusterChaosSurvived } from "./lib/cluster-chaos-assertions.js";
import { SIZES } from "./size.js";

describe.skipIf(skipRedis !== undefined)("cluster chaos", () => {
  it(`${SIZES.chaosDevices} devices on 3 nodes survive a node kill and a Redis kill: zero lost, zero twice, outcomes recorded`, async () => {
    const report = await runClusterChaos(await makeTestPki(), {
      devices: SIZES.chaosDevices,
      commands: SIZES.chaosCommands,
    });
    console.log(`cluster chaos: ${clusterChaosSummary(report)}`);
    expectClusterChaosSurvived(report);
  });
});
