import type { Session } from "@paynet/runtime";
import { describe, expect, it } from "vitest";
import { CLAIM } from "../../cluster/src/scripts.js";
import { AckState, CommandDef, ErrorMsgDef, LoginReqDef, LoginRspDef } from "../helpers/messages.js";
import { testErrorMessage } from "../helpers/test-server.js";
import {
  ack,
  clusterCommandSpec,
  eventually,
  loggedIn,
  setUpClusterTests,
  skipRedis,
  startNode,
} from "./harness.js";

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

  it("two logins racing on two nodes (x200): exactly one binding survives; the loser is told SESSION_REPLACED, closed, and cannot unbind the winner", async () => {
    const withNotice = { server: { errorMessage: testErrorMessage } };
    const a = await startNode(env.pki(), env.redis(), withNotice);
    const b = await startNode(env.pki(), env.redis(), withNotice);
    const nodes = [a, b];
    const winners = { [a.cluster.nodeId]: 0, [b.cluster.nodeId]: 0 };
    for (let round = 0; round < 200; round++) {
      const deviceId = `dev-race-${round}`;
      const [onA, onB] = await Promise.all([a.connect(), b.connect()]);
      // Sent back to back, in turn first on A and first on B.
      for (const device of round % 2 === 0 ? [onA, onB] : [onB, onA]) device.send(LoginReqDef, { deviceId });
      // Both logins are answered (the handler runs before the claim); the claims race in Redis.
      await Promise.all([onA.next(LoginRspDef), onB.next(LoginRspDef)]);
      await eventually(
        () => onA.isClosed !== onB.isClosed,
        5_000,
        `one of the racing sessions of ${deviceId} closed`,
      );
      const [winner, winnerDevice, loser, loserDevice] = onA.isClosed ? [b, onB, a, onA] : [a, onA, b, onB];
      winners[winner.cluster.nodeId]!++;
      // The loser heard why before its connection closed, across nodes as on one.
      expect((await loserDevice.next(ErrorMsgDef)).msg).toMatch(/^SESSION_REPLACED:/);
      // Its node has let it go; its release (epoch fenced) did not unbind the winner.
      await eventually(() => loser.server.session(deviceId) === undefined, 5_000, "the loser's unbind");
      await loser.cluster.directory.settled();
      const at = await a.cluster.locate(deviceId);
      expect(at?.node).toBe(winner.cluster.nodeId);
      expect(winner.server.session(deviceId)?.online).toBe(true);
      expect(winnerDevice.isClosed).toBe(false);
      // A command pushed through either node reaches the winner, executed by it alone.
      const via = nodes[round % 2]!;
      const delivery = via.server.deliver(deviceId, clusterCommandSpec, { orderId: `R-${round}`, coins: 1 });
      const reply = delivery[Symbol.asyncIterator]().next();
      expect((await winnerDevice.next(CommandDef)).orderId).toBe(`R-${round}`);
      ack(winnerDevice, `R-${round}`, AckState.DONE, 100);
      expect((await reply).value?.state).toBe(AckState.DONE);
      winnerDevice.destroy();
    }
    // The race went both ways (otherwise it was no race).
    expect(Object.values(winners).every((wins) => wins > 0)).toBe(true);
  });

  it("a kick that overtakes its own node's claim (inbox faster than the claim's reply) still closes the replaced session", async () => {
    const a = await startNode(env.pki(), env.redis(), { server: { errorMessage: testErrorMessage } });
    const device = await a.connect();
    let session: Session | undefined;
    await eventually(
      () => {
        session = [...a.server.sessions()].find((s) => s.remotePort === device.socket.localPort);
        return session !== undefined;
      },
      5_000,
      "the session",
    );
    // This node's claim of the device is on its way to Redis (it will get epoch 1) when another
    // node's login, which took the device from it, tells it so.
    const claim = a.cluster.directory.bind("dev-early", session!);
    a.cluster.directory.kick("dev-early", 1);
    await claim;
    expect((await device.next(ErrorMsgDef)).msg).toMatch(/^SESSION_REPLACED:/);
    await device.closed;
  });

  it("a replaced session that missed its close notice is fenced: it can neither claim a command, nor record a reply, nor unbind the winner", async () => {
    const a = await startNode(env.pki(), env.redis(), { server: { errorMessage: testErrorMessage } });
    const loser = await loggedIn(a, "dev-fence");
    const first = a.server.deliver("dev-fence", clusterCommandSpec, { orderId: "FENCE-1", coins: 1 });
    const firstDone = first[Symbol.asyncIterator]().next();
    firstDone.catch(() => {});
    expect((await loser.next(CommandDef)).orderId).toBe("FENCE-1");
    // A login on another node whose close notice to node A is lost: the claim step itself, run as
    // node "elsewhere" (no inbox message reaches A). A's session still believes it holds the device.
    const epochKey = `paynet:{dev-fence}:epoch`;
    const presenceKey = `paynet:{dev-fence}:at`;
    env.redis().cli("EVAL", CLAIM, "2", epochKey, presenceKey, "elsewhere", "s-elsewhere");
    const winner = await a.cluster.locate("dev-fence").catch(() => undefined);
    expect(env.redis().cli("HGET", presenceKey, "node")).toBe("elsewhere");
    expect(winner).toBeUndefined(); // "elsewhere" holds no lease: offline to readers, still fenced

    // Its reply to the command it got before the takeover is refused (and it is closed, told why).
    ack(loser, "FENCE-1", AckState.DONE, 100);
    expect((await loser.next(ErrorMsgDef)).msg).toMatch(/^SESSION_REPLACED:/);
    await loser.closed;
    expect(await a.cluster.outcome("dev-fence", "FENCE-1")).toMatchObject({ state: "pending", replies: 0 });
    // Its release did not unbind the winner.
    await eventually(() => a.server.session("dev-fence") === undefined, 5_000, "A's unbind");
    await a.cluster.directory.settled();
    expect(env.redis().cli("HGET", presenceKey, "node")).toBe("elsewhere");
    expect(env.redis().cli("HGET", presenceKey, "session")).toBe("s-elsewhere");
  });

  it("a replaced session that missed its close notice cannot claim a pending command", async () => {
    const a = await startNode(env.pki(), env.redis(), { server: { errorMessage: testErrorMessage } });
    const loser = await loggedIn(a, "dev-fence2");
    const presenceKey = `paynet:{dev-fence2}:at`;
    env.redis().cli("EVAL", CLAIM, "2", `paynet:{dev-fence2}:epoch`, presenceKey, "elsewhere", "s-elsewhere");
    // A delivery created now rings "elsewhere"; node A's own send pass (as a doorbell would start
    // it) finds its epoch stale: nothing is sent, the session is closed with SESSION_REPLACED.
    const delivery = a.server.deliver("dev-fence2", clusterCommandSpec, { orderId: "FENCE-2", coins: 1 });
    delivery[Symbol.asyncIterator]()
      .next()
      .catch(() => {});
    await eventually(
      async () => (await a.cluster.outcome("dev-fence2", "FENCE-2"))?.state === "pending",
      5_000,
      "the record",
    );
    await a.cluster.deliveries.sendPending("dev-fence2");
    expect((await loser.next(ErrorMsgDef)).msg).toMatch(/^SESSION_REPLACED:/);
    await loser.closed;
    expect(loser.pending.filter((frame) => frame.type === CommandDef.type)).toEqual([]);
    expect(await a.cluster.outcome("dev-fence2", "FENCE-2")).toMatchObject({ state: "pending", attempts: 0 });
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
