/**
 * `npm run demo:cluster` after the build: two paynetd nodes on a private Redis, a push across nodes,
 * the holding node killed mid-command, the command executed once on the other; the demo exits 0.
 */
import { describe, expect, it } from "vitest";
import { exampleEnv, ManagedProcess, REGISTER_TSX } from "../../examples/demo/processes.js";
import { redisMissing } from "../helpers/redis-server.js";

describe.skipIf(redisMissing() !== undefined)("npm run demo:cluster", () => {
  it("moves the device and its pending command to the surviving node and exits 0", async () => {
    const demo = new ManagedProcess({
      name: "demo:cluster",
      args: ["--import", REGISTER_TSX, "examples/demo/cluster.ts"],
      env: exampleEnv(),
    });
    try {
      const exit = await demo.exited;
      expect(exit, demo.lines.join("\n")).toEqual({ code: 0, signal: null });
      for (const step of ["1/5", "2/5", "3/5", "4/5", "5/5 the device moved to node B"]) {
        expect(demo.find(new RegExp(`^\\[demo\\] ${step}`)), step).toBeDefined();
      }
    } finally {
      demo.kill();
    }
  }, 120_000);
});
