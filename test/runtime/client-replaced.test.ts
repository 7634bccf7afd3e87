/**
 * A device whose session the server replaced (the same device id logged in on another
 * connection) is told so with the error message, reports `SESSION_REPLACED` on its `offline`
 * event and backs off; the backoff restarts only after a session stayed up for `stableAfterMs`,
 * so two boxes sharing an id slow down instead of taking turns forever. Real TLS on 127.0.0.1.
 */
import { describe, expect, it } from "vitest";
import { replacedBackoffDelay, resolveBackoffPolicy } from "../../runtime/src/client/backoff.js";
import type { PaynetClient } from "../../runtime/src/client/client.js";
import { type PaynetError, SessionReplacedError } from "../../runtime/src/errors.js";
import type { Session } from "../../runtime/src/server/types.js";
import { makeClient, nextEvent, setUpClientTests, startLoginServer } from "../helpers/client-harness.js";
import { testErrorMessage } from "../helpers/test-server.js";

const pki = await setUpClientTests();

/** The `delayMs` of `client`'s next `count` reconnecting events. */
function reconnectDelays(client: PaynetClient, count: number): Promise<number[]> {
  const delays: number[] = [];
  return new Promise((resolve) => {
    const listener = ({ delayMs }: { delayMs: number }) => {
      delays.push(delayMs);
      if (delays.length < count) return;
      client.off("reconnecting", listener);
      resolve(delays);
    };
    client.on("reconnecting", listener);
  });
}

function offlineReasons(client: PaynetClient): PaynetError[] {
  const reasons: PaynetError[] = [];
  client.on("offline", (reason) => reasons.push(reason));
  return reasons;
}

describe("session replaced by a newer login of the same device", () => {
  it("is reported as SESSION_REPLACED, and two boxes sharing an id back off further each time", async () => {
    const server = await startLoginServer(pki, { server: { errorMessage: testErrorMessage } });
    const reconnect = { initialDelayMs: 40, factor: 2, maxDelayMs: 5_000, jitter: 0, stableAfterMs: 60_000 };
    const a = makeClient(pki, server.port, { errorMessage: testErrorMessage, reconnect });
    const b = makeClient(pki, server.port, { errorMessage: testErrorMessage, reconnect });
    const aReasons = offlineReasons(a);
    a.start();
    await nextEvent(a, "online");
    const aDelays = reconnectDelays(a, 3);
    const bDelays = reconnectDelays(b, 2);
    const aReplaced = nextEvent(a, "offline");
    b.start();
    const [reason] = await aReplaced;
    expect(reason).toBeInstanceOf(SessionReplacedError);
    expect(reason.code).toBe("SESSION_REPLACED");
    // Each replacement is one more failure for the box that lost the session.
    expect(await aDelays).toEqual([40, 80, 160]);
    expect(await bDelays).toEqual([40, 80]);
    expect(aReasons.slice(0, 3).map((r) => r.code)).toEqual([
      "SESSION_REPLACED",
      "SESSION_REPLACED",
      "SESSION_REPLACED",
    ]);
  });

  it("waits at least half of the backoff step after a replacement, even with full jitter", () => {
    const policy = resolveBackoffPolicy({ initialDelayMs: 1_000, jitter: 1 });
    expect(replacedBackoffDelay(1, policy, () => 0.999_999)).toBe(500);
    expect(replacedBackoffDelay(3, policy, () => 0.999_999)).toBe(2_000);
    expect(replacedBackoffDelay(3, policy, () => 0)).toBe(4_000);
  });

  it("without the server's word, a dropped session is not reported as replaced", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port, { errorMessage: testErrorMessage });
    client.start();
    await nextEvent(client, "online");
    const offline = nextEvent(client, "offline");
    (server.server.session("device-001") as Session).close("drop");
    const [reason] = await offline;
    expect(reason.code).toBe("CONNECTION_CLOSED");
  });
});

describe("backoff reset", () => {
  it("restarts the backoff only after a session stayed up for stableAfterMs, not after every login", async () => {
    const server = await startLoginServer(pki);
    let logins = 0;
    let stableSession: { onlineAt: number; closedAt: number } | undefined;
    server.server.on("online", (session) => {
      logins++;
      if (logins <= 3) {
        session.close("dropped right after login");
        return;
      }
      const onlineAt = Date.now();
      setTimeout(() => {
        stableSession = { onlineAt, closedAt: Date.now() };
        session.close("dropped after a while");
      }, 400);
    });
    const client = makeClient(pki, server.port, {
      reconnect: {
        initialDelayMs: 40,
        factor: 2,
        maxDelayMs: 5_000,
        jitter: 0,
        spreadMs: 0,
        stableAfterMs: 300,
      },
    });
    const delays = reconnectDelays(client, 4);
    client.start();
    // Three short sessions grow the delay like failures; the long one restarts it.
    expect(await delays).toEqual([40, 80, 160, 40]);
    expect(stableSession!.closedAt - stableSession!.onlineAt).toBeGreaterThanOrEqual(300);
  });

  it("validates stableAfterMs", () => {
    expect(() => makeClient(pki, 1, { reconnect: { stableAfterMs: -1 } })).toThrow(
      /invalid option reconnect\.stableAfterMs: expected a finite number >= 0, got -1/,
    );
  });
});
