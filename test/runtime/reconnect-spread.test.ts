/**
 * The first reconnect after an online connection drops is spread uniformly over `spreadMs`
 * (a fleet dropped at once must not come back in one burst); later attempts follow the backoff.
 */
import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  reconnectSpreadDelay,
  resolveBackoffPolicy,
} from "../../runtime/src/client/backoff.js";
import type { ServerSession } from "../../runtime/src/server/session.js";
import {
  makeClient,
  nextEvent,
  recordEvents,
  setUpClientTests,
  startLoginServer,
} from "../helpers/client-harness.js";

const pki = await setUpClientTests();

describe("reconnectSpreadDelay", () => {
  it("is uniform in [0, spreadMs] (5 s by default)", () => {
    const policy = resolveBackoffPolicy();
    expect(reconnectSpreadDelay(policy, () => 0)).toBe(0);
    expect(reconnectSpreadDelay(policy, () => 0.5)).toBe(2_500);
    expect(reconnectSpreadDelay(policy, () => 0.999_999)).toBe(5_000);
  });

  it("falls back to the first backoff delay when spreadMs is 0", () => {
    const policy = resolveBackoffPolicy({ initialDelayMs: 100, jitter: 0.5, spreadMs: 0 });
    expect(reconnectSpreadDelay(policy, () => 0.5)).toBe(backoffDelay(1, policy, () => 0.5));
  });

  it("spreads a simulated fleet of 1000 to at most 5 % in any 100 ms window", () => {
    const policy = resolveBackoffPolicy();
    const windows = new Map<number, number>();
    for (let i = 0; i < 1_000; i++) {
      const bucket = Math.floor(reconnectSpreadDelay(policy, () => (i + 0.5) / 1_000) / 100);
      windows.set(bucket, (windows.get(bucket) ?? 0) + 1);
    }
    expect(Math.max(...windows.values())).toBeLessThanOrEqual(50);
  });
});

describe("PaynetClient reconnect after a drop (integration)", () => {
  it("waits spreadMs × random before the first attempt, then backs off exponentially", async () => {
    const script = [0.5, 0];
    let draws = 0;
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port, {
      reconnect: {
        initialDelayMs: 10,
        jitter: 0,
        spreadMs: 80,
        // Every session counts as stable, so the drop right after login is spread.
        stableAfterMs: 0,
        random: () => script[draws++ % script.length] as number,
      },
    });
    const events = recordEvents(client);
    client.start();
    await nextEvent(client, "online");
    const back = nextEvent(client, "online");
    (server.server.session("device-001") as ServerSession).close("drop");
    await back;
    const delays = events.filter((e) => e[0] === "reconnecting").map((e) => e[1]);
    expect(delays).toEqual([{ attempt: 1, delayMs: 40 }]);
  });
});
