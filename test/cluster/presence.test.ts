import { describe, expect, it } from "vitest";
import { LoginReqDef, LoginRspDef } from "../helpers/messages.js";
import { eventually, loggedIn, setUpClusterTests, skipRedis, startNode } from "./harness.js";

const env = setUpClusterTests();

describe.skipIf(skipRedis !== undefined)("cluster presence with fencing", () => {
  it("the last login wins cluster-wide: the device's session on the other node is closed with SESSION_REPLACED", async () => {
    const a = await startNode(env.pki(), env.redis());
    const b = await startNode(env.pki(), env.redis());
    const first = await loggedIn(a, "dev-1");
    const onA = [...a.server.sessions()][0]!;
    expect((await a.cluster.locate("dev-1"))?.node).toBe(a.cluster.nodeId);
    const second = await loggedIn(b, "dev-1");
    expect((await a.offlineReason(onA)).code).toBe("SESSION_REPLACED");
    await first.closed;
    const at = await b.cluster.locate("dev-1");
    expect(at?.node).toBe(b.cluster.nodeId);
    // The loser's release (when its session closed) did not unbind the winner.
    await eventually(async () => a.server.session("dev-1") === undefined);
    expect(await a.cluster.locate("dev-1")).toEqual(at);
    expect(b.server.session("dev-1")?.online).toBe(true);
    expect(second.isClosed).toBe(false);
  });

  it("login epochs only grow: each login of a device gets a higher one, a logout keeps the counter", async () => {
    const a = await startNode(env.pki(), env.redis());
    const epochs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const device = await loggedIn(a, "dev-epoch");
      epochs.push((await a.cluster.locate("dev-epoch"))!.epoch);
      await device.close();
      await eventually(async () => (await a.cluster.locate("dev-epoch")) === undefined, 5_000, "the release");
    }
    expect(epochs[1]).toBeGreaterThan(epochs[0]!);
    expect(epochs[2]).toBeGreaterThan(epochs[1]!);
  });

  it("two logins racing on two nodes: exactly one binding survives, the other session is closed (x20)", async () => {
    const a = await startNode(env.pki(), env.redis());
    const b = await startNode(env.pki(), env.redis());
    for (let round = 0; round < 20; round++) {
      const deviceId = `dev-race-${round}`;
      const [onA, onB] = await Promise.all([a.connect(), b.connect()]);
      onA.send(LoginReqDef, { deviceId });
      onB.send(LoginReqDef, { deviceId });
      await Promise.all([onA.next(LoginRspDef), onB.next(LoginRspDef)]);
      await eventually(
        () => onA.isClosed !== onB.isClosed,
        5_000,
        `one of the racing sessions of ${deviceId} closed`,
      );
      const winner = onA.isClosed ? b : a;
      const at = await a.cluster.locate(deviceId);
      expect(at?.node).toBe(winner.cluster.nodeId);
      expect(winner.server.session(deviceId)?.online).toBe(true);
      await eventually(() => (winner === a ? b : a).server.session(deviceId) === undefined);
    }
  });

  it("a node that stops renewing its lease: its devices read as offline within the lease", async () => {
    const a = await startNode(env.pki(), env.redis(), { cluster: { leaseMs: 600 } });
    const b = await startNode(env.pki(), env.redis());
    await loggedIn(a, "dev-lease");
    expect((await b.cluster.locate("dev-lease"))?.node).toBe(a.cluster.nodeId);
    // Cut node A off Redis, as a crash would: no release, no lease renewal.
    a.cluster.redis.disconnect();
    const cut = Date.now();
    await eventually(
      async () => (await b.cluster.locate("dev-lease")) === undefined,
      5_000,
      "the lease to expire",
    );
    expect(Date.now() - cut).toBeLessThan(3_000);
  });
});
