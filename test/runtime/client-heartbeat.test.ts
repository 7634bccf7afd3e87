import { describe, expect, it, vi } from "vitest";
import { HeartbeatMonitor, resolveHeartbeatTimings } from "../../runtime/src/client/heartbeat.js";
import type { HeartbeatTimeoutError, PaynetError } from "../../runtime/src/errors.js";
import { TimerWheel } from "../../runtime/src/timers.js";
import {
  makeClient,
  nextEvent,
  recordEvents,
  setUpClientTests,
  startLoginServer,
} from "../helpers/client-harness.js";
import { PingDef, PongDef } from "../helpers/messages.js";

const pki = await setUpClientTests();

let sequence = 0;
const heartbeat = (intervalMs: number, timeoutMs: number) => ({
  def: PingDef,
  build: () => ({ timestamp: ++sequence }),
  intervalMs,
  timeoutMs,
});

describe("heartbeat timings", () => {
  it("defaults to 60 s and a timeout of 2 × interval + 10 s", () => {
    expect(resolveHeartbeatTimings({ def: PingDef, build: () => ({}) })).toEqual({
      intervalMs: 60_000,
      timeoutMs: 130_000,
    });
    expect(resolveHeartbeatTimings({ def: PingDef, build: () => ({}), intervalMs: 1_000 })).toEqual({
      intervalMs: 1_000,
      timeoutMs: 12_000,
    });
  });
});

describe("HeartbeatMonitor", () => {
  it("keeps one dead-peer timer however much arrives, and declares death only after a silent timeout", async () => {
    const wheel = new TimerWheel({ tickMs: 5 });
    // The monitor's clock advances one interval per heartbeat sent, so how often the real timers fire
    // on a busy machine changes nothing: death comes 8 silent beats after the traffic stops.
    let clock = 0;
    let lastByte = clock;
    let beats = 0;
    const dead = new Promise<{ error: HeartbeatTimeoutError; silentFor: number }>((resolve) => {
      const monitor = new HeartbeatMonitor(
        wheel,
        { intervalMs: 10, timeoutMs: 80 },
        {
          sendHeartbeat: () => {
            beats++;
            clock += 10;
            // While "traffic" flows (the first 10 beats) every heartbeat is answered at once.
            if (beats <= 10) lastByte = clock;
          },
          lastReceivedAt: () => lastByte,
          now: () => clock,
          onDead: (error) => resolve({ error, silentFor: clock - lastByte }),
          onError: () => {},
          peer: "peer-x",
        },
      );
      monitor.start();
      expect(wheel.size).toBe(2);
    });
    const sizes: number[] = [];
    const sampler = setInterval(() => sizes.push(wheel.size), 2);
    const { error, silentFor } = await dead;
    clearInterval(sampler);
    // The 18th beat makes 80 ms of silence; the check may run just before or just after the 19th.
    expect(beats).toBeGreaterThanOrEqual(18);
    expect(beats).toBeLessThanOrEqual(19);
    expect(silentFor).toBeGreaterThanOrEqual(80);
    expect(silentFor).toBeLessThanOrEqual(90);
    expect(error.code).toBe("HEARTBEAT_TIMEOUT");
    expect(error.message).toBe("nothing received for 80 ms (peer peer-x)");
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2);
    expect(wheel.size).toBe(0);
  });

  it("reports a failing heartbeat build and keeps beating", async () => {
    const wheel = new TimerWheel({ tickMs: 5 });
    const errors: unknown[] = [];
    let calls = 0;
    const monitor = new HeartbeatMonitor(
      wheel,
      { intervalMs: 10, timeoutMs: 10_000 },
      {
        sendHeartbeat: () => {
          calls++;
          throw new Error("no signal");
        },
        lastReceivedAt: Date.now,
        now: Date.now,
        onDead: () => {},
        onError: (error) => errors.push(error),
      },
    );
    monitor.start();
    await expect.poll(() => calls).toBeGreaterThanOrEqual(3);
    monitor.stop();
    expect(errors.length).toBe(calls);
    expect(wheel.size).toBe(0);
  });
});

describe("PaynetClient heartbeat", () => {
  it("sends heartbeats while online and stays online while the server answers", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port, { heartbeat: heartbeat(20, 300) });
    const events = recordEvents(client);
    client.start();
    await nextEvent(client, "online");
    // 15 answered heartbeats (the shared wheel ticks every 50 ms) span well over two timeouts.
    await expect.poll(() => server.pings.length).toBeGreaterThanOrEqual(15);
    expect(events.filter((e) => e[0] === "offline")).toEqual([]);
    expect(client.online).toBe(true);
    const pings = server.pings.map(Number);
    expect(pings).toEqual([...pings].sort((a, b) => a - b));
  });

  it("records the round trip of each answered heartbeat when its reply Type is given", async () => {
    const server = await startLoginServer(pki);
    const client = makeClient(pki, server.port, { heartbeat: { ...heartbeat(20, 1_000), reply: PongDef } });
    client.start();
    await nextEvent(client, "online");
    await expect.poll(() => client.stats().heartbeat.rtt.count).toBeGreaterThanOrEqual(3);
    const { sent, lastRttMs, rtt } = client.stats().heartbeat;
    expect(sent).toBeGreaterThanOrEqual(rtt.count);
    // A loopback round trip: more than nothing, far less than the 1 s timeout.
    expect(lastRttMs).toBeGreaterThan(0);
    expect(lastRttMs).toBeLessThan(1_000);
    expect(rtt.sumSeconds).toBeGreaterThan(0);
    expect(rtt.cumulative.at(-1)).toBe(rtt.count);
  });

  it("measures no round trip without the reply Type, and none for unanswered heartbeats", async () => {
    const silent = await startLoginServer(pki, { answerPings: false });
    const client = makeClient(pki, silent.port, { heartbeat: { ...heartbeat(20, 5_000), reply: PongDef } });
    client.start();
    await nextEvent(client, "online");
    await expect.poll(() => silent.pings.length).toBeGreaterThanOrEqual(3);
    expect(client.stats().heartbeat).toMatchObject({ lastRttMs: undefined, rtt: { count: 0 } });
    const answering = await startLoginServer(pki);
    const blind = makeClient(pki, answering.port, {
      deviceId: "device-002",
      heartbeat: heartbeat(20, 5_000),
    });
    blind.start();
    await nextEvent(blind, "online");
    await expect.poll(() => answering.pings.length).toBeGreaterThanOrEqual(3);
    expect(blind.stats().heartbeat.rtt.count).toBe(0);
    expect(blind.stats().heartbeat.sent).toBeGreaterThanOrEqual(3);
  });

  it("declares a silent server dead (pings sent do not count), drops the socket and reconnects", async () => {
    const server = await startLoginServer(pki, { answerPings: false });
    const client = makeClient(pki, server.port, { heartbeat: heartbeat(20, 300) });
    client.start();
    await nextEvent(client, "online");
    const firstSession = server.server.session("device-001");
    const [reason] = await nextEvent(client, "offline");
    expect(reason.code).toBe("HEARTBEAT_TIMEOUT");
    expect(reason.message).toBe(`nothing received for 300 ms (peer 127.0.0.1:${server.port})`);
    // The client kept sending while it heard nothing back: sending is not receiving.
    expect(client.stats().framesOut["0x03 paytest.Ping"]?.frames).toBeGreaterThanOrEqual(2);
    const [info] = await nextEvent(client, "reconnecting");
    expect(info.attempt).toBe(1);
    await nextEvent(client, "online");
    expect(server.logins).toHaveLength(2);
    const secondSession = server.server.session("device-001");
    expect(secondSession).not.toBe(firstSession);
    const closed: PaynetError = await server.offlineReason(firstSession!);
    expect(closed.code).toBe("CONNECTION_CLOSED");
  });

  /**
   * Replaces `Date.now` by the real clock plus `offset()`, before the client starts (code may keep a
   * reference to `Date.now`, as it would keep one to the real, jumping system clock).
   */
  function skewedClock(offset: () => number) {
    const realNow = Date.now.bind(Date);
    return vi.spyOn(Date, "now").mockImplementation(() => realNow() + offset());
  }

  it("times the dead peer on the monotonic clock: a wall clock set back an hour does not hide it", async () => {
    const server = await startLoginServer(pki, { answerPings: false });
    let offset = 0;
    const clock = skewedClock(() => offset);
    try {
      const client = makeClient(pki, server.port, { heartbeat: heartbeat(20, 300) });
      client.start();
      await nextEvent(client, "online");
      // NTP after a 4G attach sets the clock back: with wall-clock timing the silence would look
      // negative and the dead peer would go unnoticed for an hour.
      offset = -3_600_000;
      const [reason] = await nextEvent(client, "offline", () => true, 5_000);
      expect(reason.code).toBe("HEARTBEAT_TIMEOUT");
    } finally {
      clock.mockRestore();
    }
  });

  it("a wall clock jumping forward does not fake a dead peer while the server answers", async () => {
    const server = await startLoginServer(pki);
    let jumping = false;
    let skew = 0;
    // Once jumping, every reading is ten minutes later than the one before (repeated corrections).
    const clock = skewedClock(() => {
      if (jumping) skew += 600_000;
      return skew;
    });
    try {
      const client = makeClient(pki, server.port, { heartbeat: heartbeat(20, 300) });
      const events = recordEvents(client);
      client.start();
      await nextEvent(client, "online");
      jumping = true;
      const pingsBefore = server.pings.length;
      await expect.poll(() => server.pings.length).toBeGreaterThanOrEqual(pingsBefore + 12);
      expect(events.filter((e) => e[0] === "offline")).toEqual([]);
      expect(client.online).toBe(true);
    } finally {
      clock.mockRestore();
    }
  });
});
