/**
 * The reconnects after an online session is lost, young or old, are spread uniformly over
 * `spreadMs` (a fleet dropped at once must not come back in one burst) until the backoff step
 * outgrows that window; then they follow the backoff.
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

  it("stays uniform in [0, spreadMs] for later retries until the backoff step outgrows spreadMs", () => {
    const policy = resolveBackoffPolicy();
    // Steps 1, 2, 4 s are shorter than the 5 s window; 8 s is not.
    for (const failures of [1, 2, 3]) expect(reconnectSpreadDelay(policy, () => 0.5, failures)).toBe(2_500);
    expect(reconnectSpreadDelay(policy, () => 0.5, 4)).toBe(backoffDelay(4, policy, () => 0.5));
    expect(reconnectSpreadDelay(policy, () => 0.5, 4)).toBe(4_000);
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

  it("spreads the reconnects after losing a young session too, also the retries while the server is down", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port, {
      reconnect: {
        initialDelayMs: 10,
        factor: 2,
        maxDelayMs: 1_000,
        jitter: 0,
        spreadMs: 100,
        // The session is far younger than this: its loss still spreads the reconnects.
        stableAfterMs: 600_000,
        random: () => 0.5,
      },
    });
    const events = recordEvents(client);
    client.start();
    await nextEvent(client, "online");
    // A server restart as the fleet sees it: the session dropped, then nothing listening.
    const fifthRetry = nextEvent(client, "reconnecting", (info) => info.attempt === 5);
    await server.server.stop({ graceMs: 0 });
    await fifthRetry;
    const delays = events.filter((e) => e[0] === "reconnecting").map((e) => e[1]);
    // Steps 10, 20, 40, 80 ms lie inside the 100 ms window (uniform: 0.5 → 50 ms); 160 ms does not.
    // The loss of a young session used to count as a plain failure: 10, 20, 40, 80, 160 ms.
    expect(delays).toEqual([
      { attempt: 1, delayMs: 50 },
      { attempt: 2, delayMs: 50 },
      { attempt: 3, delayMs: 50 },
      { attempt: 4, delayMs: 50 },
      { attempt: 5, delayMs: 160 },
    ]);
  });
});
